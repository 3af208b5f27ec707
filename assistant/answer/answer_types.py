"""What kind of answer a question wants, and whether a sentence holds one.

A news question asks for a person ("Who …"), a date or time ("When …", "What year …"), a number or
amount ("How many …", "How much …", "What percentage …"), a place ("Where …", "Which country …")
or an organisation or other named thing ("Which company …", "What team …"). A sentence answers
such a question only if it holds a thing of that kind *the question does not already hold*: "When
did the rail strike end?" is not answered by "The rail strike ended after talks." (no date), and
"Who bought Twitter?" not by "Twitter was bought." A question of no such kind (what happened,
why, how) gets ``None`` and no check.

Plain patterns over the words, for news questions in general (no data set's templates).
"""

from __future__ import annotations

import re
import unicodedata

PERSON, DATE, NUMBER, PLACE, NAMED = "person", "date", "number", "place", "named thing"
KINDS = (PERSON, DATE, NUMBER, PLACE, NAMED)

# Nouns after "which"/"what" that say the kind of answer.
_PERSON_NOUNS = {"person", "people", "man", "woman", "player", "quarterback", "coach", "actor", "actress",
                 "singer", "rapper", "artist", "author", "writer", "politician", "candidate", "senator",
                 "president", "leader", "executive", "ceo", "founder", "star", "athlete", "director",
                 "minister", "official", "judge", "lawmaker", "governor", "musician", "celebrity", "journalist",
                 "reporter", "billionaire", "entrepreneur", "driver", "pitcher", "manager", "host", "member",
                 "comedian", "rookie", "receiver", "golfer", "boxer", "fighter", "spokesperson", "analyst",
                 "economist", "expert", "scientist", "researcher", "investor", "owner", "chairman", "rival"}
_DATE_NOUNS = {"year", "date", "day", "month", "time", "week", "season", "decade", "century", "hour"}
_NUMBER_NOUNS = {"percentage", "percent", "number", "amount", "price", "cost", "figure", "sum", "total",
                 "rate", "score", "share", "count", "value", "salary", "fee", "fine", "age"}
_PLACE_NOUNS = {"country", "city", "state", "region", "place", "location", "town", "nation", "county",
                "province", "continent", "venue", "stadium", "island", "capital", "area", "site", "village"}
_NAMED_NOUNS = {"company", "firm", "team", "organization", "organisation", "group", "agency", "brand",
                "network", "outlet", "publication", "newspaper", "band", "club", "party", "bank", "airline",
                "startup", "app", "platform", "service", "product", "device", "phone", "model", "game",
                "film", "movie", "show", "series", "album", "song", "book", "channel", "studio",
                "university", "school", "league", "tournament", "award", "event", "program", "programme",
                "law", "bill", "court", "committee", "automaker", "carmaker", "retailer", "manufacturer",
                "chain", "website", "streamer", "label", "publisher", "broadcaster", "union", "exchange",
                "conglomerate", "chipmaker", "giant", "maker", "developer", "franchise", "coin", "cryptocurrency"}

_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december|"
           "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_DATE_IN_TEXT = re.compile(
    rf"\b(?:(?:{_MONTHS})\.?\s+\d{{1,2}}\b|\d{{1,2}}\s+(?:{_MONTHS})\b|(?:18|19|20)\d\d\b|"
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|tonight|tomorrow)\b|"
    rf"(?:last|next|this|earlier this|later this)\s+(?:week|month|year|season|weekend|{_MONTHS})\b|"
    rf"(?:in|since|until|by|from)\s+(?:{_MONTHS})\b|"
    r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b|\d{1,2}(?::\d\d)?\s*(?:a\.?m\.?|p\.?m\.?)|"
    r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|several|a few)\s+(?:days?|weeks?|months?|years?|hours?)\s+(?:ago|later|earlier|after|before)\b)",
    re.IGNORECASE)
_NUMBER_WORDS = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
                 "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
                 "hundred|hundreds|thousand|thousands|million|millions|billion|billions|trillion|dozen|dozens|"
                 "half|third|quarter|double|twice|triple")
_NUMBER_IN_TEXT = re.compile(rf"(?:[$€£¥]\s?\d|\d|\b(?:{_NUMBER_WORDS})\b)", re.IGNORECASE)
_CAPITALISED = re.compile(r"\b[A-Z][\w’'&.\-]*")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _head_noun(words: list[str], start: int) -> list[str]:
    """The words after "which"/"what" up to the verb: "which 2024 Republican presidential candidate was …"."""
    return words[start:start + 5]


def answer_kind(question: str) -> str | None:
    """The kind of answer ``question`` asks for (one of KINDS), or None when it asks for none of them;
    of a two-part question, what its first part asks for."""
    words = re.findall(r"[a-z0-9]+", _fold(question_parts(question)[0]))
    if not words:
        return None
    text = " ".join(words)
    if re.search(r"\bhow (?:many|much|long|old|far|big|large|tall|high|often|fast|deep|heavy)\b", text):
        return NUMBER if not re.search(r"\bhow long ago\b", text) else DATE
    if re.search(r"\bwhat (?:percentage|percent|share|proportion|fraction)\b", text):
        return NUMBER
    if re.search(r"\bwhen\b", text) and not re.search(r"\bwhen (?:it comes|asked)\b", text):
        return DATE
    if re.search(r"\b(?:who|whom|whose)\b", text):
        # "Which company … who …": the noun after which/what decides; plain "who" wants a person
        noun = _wh_noun(words)
        return noun or PERSON
    if re.search(r"\bwhere\b", text):
        return PLACE
    return _wh_noun(words)


def _wh_noun(words: list[str]) -> str | None:
    for i, word in enumerate(words):
        if word not in ("which", "what"):
            continue
        for noun in _head_noun(words, i + 1):
            singular = noun[:-1] if noun.endswith("s") and noun[:-1] in _ALL_NOUNS else noun
            if singular in _DATE_NOUNS:
                return DATE
            if singular in _NUMBER_NOUNS:
                return NUMBER
            if singular in _PERSON_NOUNS:
                return PERSON
            if singular in _PLACE_NOUNS:
                return PLACE
            if singular in _NAMED_NOUNS:
                return NAMED
            if noun in ("is", "was", "are", "were", "did", "does", "do", "has", "had", "will", "can", "of"):
                break
    return None


_ALL_NOUNS = _PERSON_NOUNS | _DATE_NOUNS | _NUMBER_NOUNS | _PLACE_NOUNS | _NAMED_NOUNS


def _new_names(sentence: str, question: str) -> list[str]:
    """Capitalised words of the sentence (not its first word) that the question does not use."""
    asked = set(re.findall(r"[a-z0-9]+", _fold(question)))
    out = []
    for match in _CAPITALISED.finditer(sentence):
        if match.start() == 0 or sentence[:match.start()].rstrip().endswith((".", "“", '"', ":")):
            continue
        word = _fold(match.group(0)).rstrip(".’'-")
        word = re.sub(r"[’']s$", "", word)
        pieces = [p for p in re.findall(r"[a-z0-9]+", word) if len(p) > 1]
        if pieces and not all(p in asked or p.rstrip("s") in asked for p in pieces) and word not in _NOT_NAMES:
            out.append(match.group(0))
    return out


_NOT_NAMES = {"i", "the", "a", "an", "he", "she", "it", "they", "we", "but", "and", "in", "on", "at", "this",
              "that", "mr", "mrs", "ms", "dr", "photo", "getty", "images", "ap", "reuters", "afp", "credit"} | set(
    _MONTHS.split("|")) | {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}


def holds_kind(kind: str | None, sentence: str, question: str) -> bool | None:
    """Whether ``sentence`` holds a ``kind`` of thing that ``question`` does not already hold
    (None when the question asks for no particular kind)."""
    if kind is None:
        return None
    if kind == DATE:
        asked = {_fold(m.group(0)) for m in _DATE_IN_TEXT.finditer(question)}
        return any(_fold(m.group(0)) not in asked for m in _DATE_IN_TEXT.finditer(sentence))
    if kind == NUMBER:
        asked = set(re.findall(r"\d[\d,.]*", question))
        for match in re.finditer(rf"[$€£¥]?\s?\d[\d,.]*|\b(?:{_NUMBER_WORDS})\b", sentence, re.IGNORECASE):
            value = match.group(0).strip("$€£¥ ").rstrip(".,")
            if value and value not in asked:
                return True
        return False
    return bool(_new_names(sentence, question))  # person, place, named thing: a name the question lacks


def describe(kind: str) -> str:
    """How a caveat names the missing kind: "none of these passages gives a date"."""
    return {PERSON: "names a person", DATE: "gives a date", NUMBER: "gives a figure", PLACE: "names a place",
            NAMED: "names one"}[kind]


_SEVERAL = re.compile(r"^\s*(?:what|which)\s+(?:[a-z0-9\-]+\s+){0,3}?([a-z]+s)\s+(?:do|does|did|are|were|have|has|had|will|would|can|could|should)\b",
                      re.IGNORECASE)
_LIST_CUES = re.compile(r"\b(?:including|such as|among them|as well as)\b|:\s|;", re.IGNORECASE)


def asks_for_several(question: str) -> bool:
    """Whether the question asks for several things: "What AI uses does the act ban?", "Which
    countries have …", "List the …", "What are the …s"."""
    text = question.strip()
    if re.match(r"^\s*(?:list|name)\b", text, re.IGNORECASE):
        return True
    match = _SEVERAL.match(text)
    if match and not match.group(1).lower().endswith("ss") and match.group(1).lower() not in ("does", "has", "was", "is", "news"):
        return True
    return bool(re.match(r"^\s*what\s+(?:are|were)\s+(?:the\s+)?(?:[a-z\-]+\s+){0,3}[a-z]+s\b", text, re.IGNORECASE))


def lists_things(sentence: str) -> bool:
    """Whether a sentence lists things: "a, b and c", a colon or semicolon, "including", "such as"."""
    if _LIST_CUES.search(sentence):
        return True
    return bool(re.search(r"\w,\s+[^,.;]{2,60}?\s(?:and|or)\s+\w", sentence))


_PART_SPLIT = re.compile(r"\?\s+(?=\S)|[,;]?\s+and\s+(?=(?:who|whom|whose|what|which|when|where|why|how)\b)",
                         re.IGNORECASE)


def question_parts(question: str) -> list[str]:
    """The parts of a two-part question, each asking on its own ("Who won the final and when was it
    played?" → "Who won the final", "when was it played?"); one part for any other question."""
    parts = [p.strip() for p in _PART_SPLIT.split(question) if p and len(p.split()) >= 2]
    return parts if len(parts) >= 2 else [question]
