"""Evidence that the passages are about what the question asks: the names it uses.

A news question about something the archive never covered ("How much did the Galaxy S24 cost?")
still retrieves ten passages, and some sentence of them is always somewhat similar; similarity
alone cannot tell "answered in other words" from "not covered". What the question *names* can:
when no retrieved passage (text, title or outlet) contains any word of a name the question uses,
the passages are about something else (:func:`names_absent` asks that of at least half of the
names, so a multi-part question whose one part lies outside the top passages still gets an
answer). Names are runs of capitalised words, and acronyms; words of a name shorter than three
letters, titles and calendar words are not required, nor is a single capitalised word that starts
a sentence ("Through how many rounds …": capitalised for the sentence, not as a name). Dotted
acronyms in passages count without their dots ("U.S." for "US"). Of a hyphenated compound only the
capitalised pieces are the name ("Paris-based" asks for Paris, not for the words "Paris-based"), a
piece of a hyphenated word in a passage counts ("Chinese-owned TikTok" mentions Chinese). Measured
on the question sets (docs/research/abstention.md); treating nationality adjectives ("British") as descriptions too was tried
and lowered the mean (2026-12-01).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from assistant.models import Passage

_WORD = re.compile(r"[A-Za-z0-9][\w’'&.\-]*")
_SKIP = {
    "what", "who", "whom", "whose", "which", "when", "where", "why", "how", "did", "does", "do", "is", "was", "were",
    "are", "can", "could", "will", "would", "has", "have", "had", "the", "a", "an", "in", "on", "of", "and", "or",
    "according", "after", "before", "between", "during", "since", "this", "that", "these", "those", "if", "as",
    "mr", "mrs", "ms", "dr", "prof", "sir", "president", "prime", "minister", "ceo", "chief", "king", "queen",
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "i", "we", "you",
}


_SENTENCE_ENDS = (".", "?", "!", ":", '"', "“")
_POSSESSIVE = re.compile(r"(?<=\w)[’'`]s?\b")

# Countries and regions with the adjective/demonym news writes for them ("France" ↔ "French").
_DEMONYMS = {
    "america": "american", "usa": "american", "us": "american", "britain": "british", "uk": "british",
    "england": "english", "scotland": "scottish", "wales": "welsh", "ireland": "irish", "france": "french",
    "germany": "german", "italy": "italian", "spain": "spanish", "portugal": "portuguese", "netherlands": "dutch",
    "holland": "dutch", "belgium": "belgian", "switzerland": "swiss", "austria": "austrian", "sweden": "swedish",
    "norway": "norwegian", "denmark": "danish", "finland": "finnish", "poland": "polish", "russia": "russian",
    "ukraine": "ukrainian", "greece": "greek", "turkey": "turkish", "israel": "israeli", "palestine": "palestinian",
    "iran": "iranian", "iraq": "iraqi", "syria": "syrian", "lebanon": "lebanese", "egypt": "egyptian",
    "saudi": "saudi", "qatar": "qatari", "china": "chinese", "japan": "japanese", "korea": "korean",
    "india": "indian", "pakistan": "pakistani", "afghanistan": "afghan", "australia": "australian",
    "canada": "canadian", "mexico": "mexican", "brazil": "brazilian", "argentina": "argentine",
    "chile": "chilean", "colombia": "colombian", "venezuela": "venezuelan", "cuba": "cuban", "africa": "african",
    "nigeria": "nigerian", "kenya": "kenyan", "ethiopia": "ethiopian", "europe": "european", "asia": "asian",
    "taiwan": "taiwanese", "vietnam": "vietnamese", "thailand": "thai", "indonesia": "indonesian",
    "philippines": "filipino", "zealand": "zealander", "hungary": "hungarian", "serbia": "serbian",
    "romania": "romanian", "czech": "czech", "armenia": "armenian", "azerbaijan": "azerbaijani",
    "texas": "texan", "california": "californian", "florida": "floridian", "london": "londoner",
    "paris": "parisian", "chicago": "chicagoan",
}
_DEMONYM_OF = {}
for _place, _people in _DEMONYMS.items():
    _DEMONYM_OF.setdefault(_place, set()).add(_people)
    _DEMONYM_OF.setdefault(_people, set()).add(_place)


def _variants(word: str) -> set[str]:
    """Other forms of one folded word: singular of a plural, and demonym ↔ country."""
    out = set()
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        out.add(word[:-1])
        if word.endswith("ies"):
            out.add(word[:-3] + "y")
        elif word.endswith("es"):
            out.add(word[:-2])
    for form in {word} | out:
        out |= _DEMONYM_OF.get(form, set())
        if form.endswith("ns") or form.endswith("s"):
            out |= _DEMONYM_OF.get(form[:-1], set())
    out.discard(word)
    return out


def _describes(word: str, starts_sentence: bool, next_capital: bool) -> bool:
    """Whether a capitalised word is capitalised only because it starts a sentence: alone (the next
    word is not capitalised) and not an acronym ("Through how many rounds …")."""
    return starts_sentence and not next_capital and not (len(word) >= 2 and word.isupper())


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _name_runs(question: str) -> list[tuple[str, list[str]]]:
    """Each name of the question as written, with its distinctive words folded to lower-case ASCII."""
    found: list[list[str]] = []
    run: list[str] = []
    matches = list(_WORD.finditer(question))
    words = [re.sub(r"[’']s$", "", match.group(0).rstrip(".’'-")) for match in matches]
    capitals = [w[:1].isupper() or (len(w) >= 2 and w.isupper()) for w in words]
    for i, (match, word) in enumerate(zip(matches, words)):
        starts_sentence = i == 0 or question[:match.start()].rstrip().endswith(_SENTENCE_ENDS)
        next_capital = i + 1 < len(words) and capitals[i + 1] and words[i + 1].lower() not in _SKIP
        if (capitals[i] and word.lower() not in _SKIP
                and not _describes(word, starts_sentence and not run, next_capital)):
            run.append(word)
            continue
        if run:
            found.append(run)
            run = []
    if run:
        found.append(run)
    out = []
    for name in found:
        parts = [p for w in name if "." not in w and w.lower() not in _SKIP for p in _segments(w)]
        if parts:
            out.append((" ".join(name), parts))
    return out


def _segments(word: str) -> list[str]:
    """The distinctive pieces of one capitalised word, folded: the word itself, or of a hyphenated
    compound its capitalised pieces ("Paris-based" → paris, "Iranian-Australian" → iranian,
    australian): the lower-case rest describes the name and is not part of it."""
    pieces = word.split("-")
    if len(pieces) > 1:
        pieces = [p for p in pieces if p[:1].isupper() or p.isdigit()]
    return [_fold(p) for p in pieces if len(p) >= 3]


def names(question: str) -> list[list[str]]:
    """The names a question uses, each as its distinctive words (folded to lower case ASCII)."""
    return [parts for _, parts in _name_runs(question)]


def passage_words(passages: Sequence[Passage]) -> set[str]:
    """Every word of the passages (text, title, outlet) as a name check reads them: folded, without
    possessive endings ("Eminem’s" → eminem), with plural and demonym forms ("Democrats" → democrat,
    "French" → france), hyphenated pieces and dotted acronyms ("U.S." → us)."""
    raw = " ".join(f"{p.title}\n{p.source or ''}\n{p.text}" for p in passages)
    haystack = _fold(_POSSESSIVE.sub("", raw))
    haystack += " " + " ".join(m.replace(".", "") for m in re.findall(r"\b(?:[a-z]\.){2,}", haystack))
    tokens = set(re.findall(r"[a-z0-9][a-z0-9&\-]*", haystack))
    words = {w for token in tokens for w in (token, token.replace("-", ""), *token.split("-")) if w}
    return words | {v for w in words for v in _variants(w)}


def missing_names(question: str, passages: Sequence[Passage]) -> list[str]:
    """Names of the question (as written) of which no word appears in any passage (as whole words,
    in any of the forms people write them: possessive, plural, demonym; a surname for a full name)."""
    if not passages:
        return []
    words = passage_words(passages)
    return [shown for shown, parts in _name_runs(question)
            if not any(v in words for part in parts for v in (part, *_variants(part)))]


def names_absent(question: str, passages: Sequence[Passage]) -> list[str]:
    """The missing names when at least half of the question's names are missing from the passages
    (else []): a question about news the archive lacks names things no passage mentions, while a
    multi-part question about covered news may have one part's name outside the top passages."""
    asked = names(question)
    missing = missing_names(question, passages)
    return missing if asked and 2 * len(missing) >= len(asked) else []
