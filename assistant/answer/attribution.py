"""Who said what: every sentence of an article attributed to its speaker, or to nobody.

``attribute(body)`` reads an article once and returns an :class:`ArticleSpeech`. A sentence is
attributed when it is part of a quotation (“…,” X said / X said: “…”) or reported speech
(X said that …, according to X, In his opinion …). Speakers come back as the fullest name the
article uses ("Zhelikhovsky" → "Stanislav Zhelikhovsky"); "he said" and "the expert noted" are
resolved to the person the article makes clear:

- a pronoun: the speaker of the nearest earlier quotation in the previous sentence that names
  people, else that sentence's first person (its subject);
- a role ("the international affairs expert"): the person introduced with that role, else as a
  pronoun;
- an unattributed quotation opening a paragraph continues the previous quotation's speaker.

People are the names that speak somewhere in the article or are introduced with a role.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from assistant.text.sentences import Span, split_sentences
from assistant.answer.mentions import (ORG_HEADS, ROLE_NOUNS, Mention, is_bridge, looks_like_person, name_runs, nominal, pronoun,
                       speech_verbs, subject_mention)
from assistant.answer.quotations import Quotation, find_quotations, inside_mask, mask_quotes

# Lines that are not prose: captions, credits, promotions.
_NOT_PROSE = re.compile(r"^\s*\(?(photograph|photo|image|credit|mandatory credit|getty|read also|read more|"
                        r"sign up|skip past|advertisement|facebook twitter|©|for more information|we use google|"
                        r"privacy notice)", re.IGNORECASE)
_ACCORDING = re.compile(r"\baccording to\s+", re.IGNORECASE)
_OPINION = re.compile(r"^\s*(?:in|to)\s+(his|her|their)\s+(?:opinion|view|words|mind|estimation|assessment)\b",
                      re.IGNORECASE)
_EXPRESSED_BY = re.compile(
    r"^\s*(?:this|that|the|such)\s+(?:opinion|view|assessment|statement|comment|remark|position|forecast|"
    r"analysis|point)s?\s+(?:was|were|has been|is)\s+(?:\w+\s+)?(?:expressed|voiced|shared|made|given|offered|"
    r"stated)\b.*?\bby\s+(?P<who>.+)$", re.IGNORECASE)
_PARENTHETICAL = re.compile(r",\s+(?!according\b)(?:[A-Z][\w\-]*[’']s\s+)?[a-z][^,]*,\s")
_APPOSITION = re.compile(r"^\s*,\s*(?P<role>(?:the |a |an )?[^,.;“”\"]{3,120}?)(?=[,.;]|\s+(?:said|says|told)\b|$)")
_PREMOD = re.compile(r"((?:[\w’'\-\.]+,?\s+){0,3})$")

CONTINUATION_GAP = 2  # narrative sentences allowed between a quotation and its unattributed continuation


@dataclass(frozen=True)
class Attribution:
    speaker: str | None
    kind: str = "none"  # "quote" | "reported" | "none"
    cue: str = ""  # the words that named the speaker: "he said", "the international affairs expert noted"
    mention: str = ""  # how the cue names the speaker: "he", "the international affairs expert", "his"
    frame: bool = False  # the sentence only says who spoke ("This opinion was expressed … by X"): not a statement

    @property
    def is_speech(self) -> bool:
        return self.speaker is not None


NOBODY = Attribution(None)


@dataclass
class Person:
    name: str
    roles: list[str] = field(default_factory=list)
    speaks: bool = False

    @property
    def surname(self) -> str:
        return self.name.split()[-1]

    @property
    def role(self) -> str | None:
        return max(self.roles, key=len) if self.roles else None


@dataclass
class ArticleSpeech:
    """The attributions of one article's sentences."""

    body: str
    sentences: list[Span]
    attributions: list[Attribution]
    people: dict[str, Person]
    quotations: list[Quotation] = field(default_factory=list)

    def at(self, start: int, end: int | None = None) -> Attribution:
        """The attribution of the sentence(s) covering ``[start, end)``; the first speech one wins."""
        end = start + 1 if end is None else end
        found = NOBODY
        for span, attribution in zip(self.sentences, self.attributions):
            if span.end <= start or span.start >= end:
                continue
            if attribution.is_speech:
                return attribution
        return found

    def open_quotation(self, start: int) -> str:
        """The mark that opened, before ``start``, a quotation ``start`` is inside of ("" when none):
        a sentence starting there is part of a quotation that does not open in it."""
        for quotation in self.quotations:
            for seg_start, seg_end in quotation.segments:
                if seg_start < start < seg_end:
                    return self.body[seg_start] if self.body[seg_start] in "“\"" else "“"
        return ""

    def role_of(self, speaker: str | None) -> str | None:
        person = self.people.get(speaker or "")
        return person.role if person else None

    def speakers(self) -> list[str]:
        return sorted({a.speaker for a in self.attributions if a.speaker})


def attribute(body: str) -> ArticleSpeech:
    return _Reader(body).read()


@dataclass
class _Cue:
    mention: Mention | None
    cue: str
    position: int  # body offset of the cue


class _Reader:
    def __init__(self, body: str):
        self.body = body
        self.sentences = split_sentences(body)
        self.quotations = find_quotations(body)
        self.mask = inside_mask(body, self.quotations)
        self.people: dict[str, Person] = {}
        self.names: list[str] = []  # every name of the article in order, for surname lookup
        # sentence index -> (body offset, name, speaks here?, known person?) read so far, outside quotes.
        self.seen: dict[int, list[tuple[int, str, bool, bool]]] = {}
        self.all_names: dict[int, list[str]] = {}  # sentence index -> every name it uses, in order

    # --- the two passes -----------------------------------------------------------------
    def read(self) -> ArticleSpeech:
        self._collect_people()
        attributions = [NOBODY] * len(self.sentences)
        quoted: list[tuple[Quotation, Attribution]] = []
        previous: Attribution | None = None
        for index, span in enumerate(self.sentences):
            if _NOT_PROSE.match(self.body[span.start:span.end]):
                continue
            self._remember_names(index, span)
            for quotation in self._quotations_ending_in(span):
                attribution = self._attribute_quotation(quotation, previous)
                if attribution is not None:
                    quoted.append((quotation, attribution))
                    previous = attribution
            reported, position, backdate = self._reported(index, span)
            if reported is not None:
                attributions[index] = replace(reported, frame=True) if backdate else reported
                self.seen[index].append((position, reported.speaker, True, True))
                if backdate and index and not attributions[index - 1].is_speech:
                    attributions[index - 1] = reported
            self.seen[index].sort()
        for quotation, attribution in quoted:
            for index, span in enumerate(self.sentences):
                if quotation.covers(span.start, span.end):
                    attributions[index] = attribution
        return ArticleSpeech(self.body, self.sentences, attributions, self.people, self.quotations)

    def _collect_people(self) -> None:
        """Names of the article, which of them speak, and the roles they are introduced with."""
        found = [(self._prose(span), mention) for span in self.sentences for mention in name_runs(self._prose(span))]
        self.names = [mention.text for _, mention in found]
        for text, mention in found:
            role = self._role_near(text, mention)
            if role:
                self._person(self._canonical(mention.text)).roles.append(role)
        for span in self.sentences:
            text = self._prose(span)
            for match in speech_verbs(text):
                before = _PARENTHETICAL.sub(" ", text[:match.start()])
                who = _subject_before(before)
                if who is None and _inverted(before):
                    who = _subject_after(text[match.end():])
                if who is not None and who.kind == "name":
                    self._person(self._canonical(who.text)).speaks = True

    def _prose(self, span: Span) -> str:
        return mask_quotes(self.body[span.start:span.end], span.start, self.mask)

    def _role_near(self, text: str, mention: Mention) -> str | None:
        after = _APPOSITION.match(text[mention.end:])
        if after:
            role = after.group("role").strip()
            words = [w.strip("’'").lower() for w in re.split(r"[\s,]+", role)]
            verb_like = words[0].endswith("ed") and words[0] not in ROLE_NOUNS
            if (any(w in ROLE_NOUNS for w in words[:8]) and not role[:1].isdigit() and not verb_like
                    and len(words) <= 10):
                return role
        before = _PREMOD.search(text[:mention.start])
        if before:
            words = before.group(1).split()
            if words and words[-1].lower().strip(",") in ROLE_NOUNS:
                return " ".join(words).strip(", ")
        return None

    def _person(self, name: str) -> Person:
        return self.people.setdefault(name, Person(name))

    # --- names --------------------------------------------------------------------------
    def _canonical(self, name: str) -> str:
        """The fullest name of the article for ``name``: a surname or first name finds its full name."""
        tokens = name.split()
        if len(tokens) > 1:
            # "Ten Hag" at the start of a sentence is "Erik ten Hag".
            longer = [n for n in self.names if len(n) > len(name) and n.lower().endswith(" " + name.lower())]
            return longer[0] if longer else name
        word = tokens[0]
        full = [n for n in self.names if looks_like_person(n) and word in (n.split()[-1], n.split()[0])]
        if not full:
            return name
        people = [n for n in full if self._is_person(n)]
        return (people or full)[0]

    def _is_person(self, name: str) -> bool:
        person = self.people.get(name)
        return bool(person and (person.speaks or person.roles))

    def _remember_names(self, index: int, span: Span) -> None:
        found = self.seen.setdefault(index, [])
        self.all_names[index] = [m.text for m in name_runs(self._prose(span))]  # as written: organisations
        for mention in name_runs(self._prose(span)):
            name = self._canonical(mention.text)
            if self._is_person(name) or looks_like_person(name):
                found.append((span.start + mention.start, name, False, self._is_person(name)))

    def _index_of(self, pos: int) -> int:
        for index, span in enumerate(self.sentences):
            if pos < span.end:
                return index
        return len(self.sentences) - 1

    # --- quotations ---------------------------------------------------------------------
    def _quotations_ending_in(self, span: Span) -> list[Quotation]:
        return [q for q in self.quotations if span.start <= q.end - 1 < span.end]

    def _attribute_quotation(self, quotation: Quotation, previous: Attribution | None) -> Attribution | None:
        cue = self._cue_after(quotation) or self._cue_before(quotation)
        if cue is not None:
            if cue.mention is None:
                # "…, adding: “…”": the speaker of the sentence's previous quotation.
                speaker = previous.speaker if previous and self._same_sentence(previous, quotation) else None
            else:
                speaker = self._resolve(cue.mention, cue.position)
            if speaker:
                attribution = Attribution(speaker, "quote", cue.cue, cue.mention.text if cue.mention else "")
                self.seen.setdefault(self._index_of(cue.position), []).append((cue.position, speaker, True, True))
                self._last_quote_end = quotation.end
                return attribution
            return None
        if previous is not None and (self._continues(quotation) or self._opens_sentence(quotation)
                                     and self._antecedent(quotation.start) == previous.speaker):
            self._last_quote_end = quotation.end
            return previous  # an unattributed quotation opening a sentence continues the last speaker
        return None

    _last_quote_end = -1

    def _same_sentence(self, previous: Attribution, quotation: Quotation) -> bool:
        return self._index_of(self._last_quote_end - 1) == self._index_of(quotation.start)

    def _cue_after(self, quotation: Quotation) -> _Cue | None:
        """“…,” he said / “…,” said Klopp / “…,” the Bayern coach, Thomas Tuchel, said."""
        stop = min(self.sentences[self._index_of(quotation.end - 1)].end,
                   next((q.start for q in self.quotations if q.start >= quotation.end), len(self.body)))
        window = self.body[quotation.end:stop]
        if not window.strip(" ,.;:!?") or "\n" in window:
            return None
        text = window
        for match in speech_verbs(text):
            relative = re.search(r",\s*(?:who|which|whose)\b.*,\s*$", text[:match.start()])
            if relative:  # "Jason, who shares three children – Wyatt, four, … – with wife Kylie, said"
                text = text[:relative.start()] + " " * (match.start() - relative.start()) + text[match.start():]
            before = text[:match.start()]
            if len(before.split()) > 8:
                return None
            if before.strip(" ,—–-"):
                who = _subject_before(before, limit=8)
                if who is None:
                    continue
            else:
                who = _subject_after(text[match.end():])
            return _Cue(who, _short(text[:match.end()] + (text[match.end():].split(",")[0] if not before.strip(" ,") else "")),
                        quotation.end + match.start())
        return None

    def _cue_before(self, quotation: Quotation) -> _Cue | None:
        """Ancelotti said: “…” / In response, Zhao said, “…” / …, adding: “…”."""
        start = quotation.start
        floor = max(self.sentences[self._index_of(start)].start,
                    max((q.end for q in self.quotations if q.end <= start), default=0))
        window = self.body[floor:start]
        verbs = [m for m in speech_verbs(window) if len(window[m.end():].split()) <= 6]
        if verbs:
            verb = verbs[-1]
            before = window[:verb.start()]
            if before.strip(" ,—–-") and len(before.split()) > 1 and before.rstrip().endswith(","):
                before = before.rstrip()[:-1]
            who = _subject_before(before, limit=12) if before.strip(" ,") else _subject_after(window[verb.end():])
            if who is None and verb.group(0).endswith("ing"):
                # "The King Richard star went on to describe …, adding: “…”": the sentence's subject.
                who = subject_mention(self.body[self.sentences[self._index_of(start)].start:floor + verb.start()],
                                      last=False)
            return _Cue(who, _short((before[-50:] + verb.group(0)).strip(" ,")), floor + verb.start())
        according = list(_ACCORDING.finditer(window))
        if according:
            who = subject_mention(window[according[-1].end():], last=False)
            if who is not None:
                return _Cue(who, _short(window[according[-1].start():]), floor + according[-1].start())
        return None

    def _opens_sentence(self, quotation: Quotation) -> bool:
        index = self._index_of(quotation.start)
        return not self.body[self.sentences[index].start:quotation.start].strip()

    def _continues(self, quotation: Quotation) -> bool:
        """The quotation opens a sentence shortly after the previous quotation ended."""
        index = self._index_of(quotation.start)
        if not self._opens_sentence(quotation):
            return False
        gap = [i for i in range(self._index_of(self._last_quote_end - 1) + 1, index)
               if not _NOT_PROSE.match(self.body[self.sentences[i].start:self.sentences[i].end])]
        return len(gap) <= CONTINUATION_GAP

    # --- reported speech ----------------------------------------------------------------
    def _reported(self, index: int, span: Span) -> tuple[Attribution | None, int, bool]:
        """Attribution of a sentence in reported speech, where its cue is, and whether it also
        covers the previous sentence ("This opinion was expressed by …")."""
        text = self._prose(span)
        expressed = _EXPRESSED_BY.match(text)
        if expressed:
            who = subject_mention(expressed.group("who"), last=False)
            speaker = self._resolve(who, span.start + expressed.start("who"))
            if speaker:
                return Attribution(speaker, "reported", _short(expressed.group(0)), who.text), span.start, True
        opinion = _OPINION.match(text)
        if opinion:
            word = {"his": "he", "her": "she", "their": "they"}[opinion.group(1).lower()]
            speaker = self._resolve(Mention("pronoun", word, 0, 0, word), span.start)
            if speaker:
                return Attribution(speaker, "reported", opinion.group(0).strip(), opinion.group(1)), span.start, False
        for match in speech_verbs(text):
            before = _PARENTHETICAL.sub(" ", text[:match.start()])
            clause = re.split(r"[,;:]\s+", before.rstrip(" ,"))[-1] if len(before.split()) > 6 else before
            who = _subject_before(clause, limit=8)
            if who is None:
                continue
            speaker = self._resolve(who, span.start + match.start())
            if speaker:
                cue = _short(f"{clause.strip()} {match.group(0)}")
                return Attribution(speaker, "reported", cue, who.text), span.start + match.start(), False
        for match in _ACCORDING.finditer(text):
            who = subject_mention(re.split(r"[,.;]", text[match.end():])[0], last=False)
            if who is None or (who.kind == "name" and not self._is_person(self._canonical(who.text))
                               and not looks_like_person(who.text)):
                continue
            speaker = self._resolve(who, span.start + match.start())
            if speaker:
                cue = _short(match.group(0) + who.text)
                return Attribution(speaker, "reported", cue, who.text), span.start + match.start(), False
        return None, 0, False

    # --- resolving mentions -------------------------------------------------------------
    def _resolve(self, mention: Mention | None, position: int) -> str | None:
        if mention is None:
            return None
        if mention.kind == "name":
            name = self._canonical(mention.text)
            self._person(name).speaks = True
            return name
        if mention.kind == "nominal" and mention.head in ORG_HEADS and mention.head not in ROLE_NOUNS:
            return self._organisation(position, mention.head)
        if mention.kind == "nominal":
            holders = [p.name for p in self.people.values()
                       if any(mention.head in r.lower().replace(",", " ").split() for r in p.roles)]
            if len(holders) == 1:
                return holders[0]
            latest = self._latest(position, set(holders) if holders else None, exclude=mention.text)
            if latest:
                return latest
        return self._antecedent(position)

    def _antecedent(self, position: int) -> str | None:
        """The person "he"/"she" at ``position`` refers to (see the module docstring)."""
        index = self._index_of(position)
        for found in self._seen_before(index, position):
            speakers = [n for _, n, s, _ in found if s]
            if speakers:
                return speakers[-1]
            people = [n for _, n, _, _ in found]
            if people:
                # "he"/"she" is a human: someone the article shows speaking or with a role, a full
                # name before a bare word ("Meta"), then anyone named.
                ranked = sorted(people, key=lambda n: (not self._is_person(n), not looks_like_person(n)))
                return ranked[0]
        return None

    def _organisation(self, position: int, head: str = "") -> str | None:
        """What "the company" at ``position`` refers to: the subject of the last sentence naming an
        organisation, when that name is confidently one. A capitalised word that only opens its
        sentence ("Water restrictions …", "Residents said …") or names a place ("the Aren valley")
        is not; a name holding the head noun ("Aren Water Authority" for "the authority"), or of
        two words or more, or written mid-sentence more than once in the article, is."""
        index = self._index_of(position)
        for earlier in range(index - 1, max(-1, index - 8), -1):
            for name in self.all_names.get(earlier, []):
                if not self._is_person(self._canonical(name)) and not name.endswith("ly"):
                    return name if self._organisation_like(name, earlier, head) else None
        return None

    def _organisation_like(self, name: str, index: int, head: str) -> bool:
        words = name.lower().split()
        if head and head in words:
            return True
        span = self.sentences[index]
        text = self._prose(span)
        at = text.find(name)
        after = text[at + len(name):at + len(name) + 20].lower() if at >= 0 else ""
        if _PLACE_AFTER.match(after) or (at >= 0 and _PLACE_BEFORE.search(text[max(0, at - 12):at])):
            return False
        if len(words) >= 2:
            return True
        inside = sum(1 for m in re.finditer(rf"(?<=[a-z,;] ){re.escape(name)}\b", self.body))
        return at > 0 and inside >= 2

    def _latest(self, position: int, among: set[str] | None = None, exclude: str = "") -> str | None:
        """The last name read before ``position`` (among ``among``, else any person-like name
        that is not part of ``exclude``, the role phrase being resolved)."""
        excluded = set(exclude.split())
        for found in self._seen_before(self._index_of(position), position, this_sentence=among is not None):
            if among:
                named = [name for _, name, _, _ in reversed(found) if name in among]
            else:  # the sentence's subject: someone known to speak first, else its first person-like name
                named = sorted((name for _, name, _, _ in found if not set(name.split()) <= excluded),
                               key=lambda n: not self._is_person(n))
            if named:
                return named[0]
        return None

    def _seen_before(self, index: int, position: int, back: int = 8, this_sentence: bool = True):
        if this_sentence:
            yield [entry for entry in self.seen.get(index, []) if entry[0] < position]
        for earlier in range(index - 1, max(-1, index - back), -1):
            yield self.seen.get(earlier, [])


# A capitalised word followed by a place noun ("the Aren valley"), or after "in"/"near" ("in Aren").
_PLACE_AFTER = re.compile(r"\s+(?:valley|river|county|region|province|state|island|islands|lake|mountains?|bay|"
                          r"coast|district|city|town|village|basin|peninsula|desert|sea|ocean)\b")
_PLACE_BEFORE = re.compile(r"\b(?:in|near|across|around|from|of)\s+(?:the\s+)?$", re.IGNORECASE)


def _inverted(before: str) -> bool:
    """Nothing but a quotation or a comma before the verb: "…,” said Klopp"."""
    return not before.strip() or before.rstrip().endswith(("_", ",", "—"))


def _subject_before(text: str, limit: int = 8) -> Mention | None:
    """The name, role or pronoun ending ``text`` (the words just before a speech verb)."""
    words = text.split()
    while words and is_bridge(words[-1]):
        words.pop()
    if not words:
        return None
    tail = " ".join(words[-limit:])
    for found, slack in ((_last(name_runs(tail)), 0), (nominal(tail), 0), (pronoun(tail), 0)):
        if found is None:
            continue
        rest = [w for w in tail[found.end:].strip(" ,").split() if not is_bridge(w)]
        if len(rest) <= slack:
            return found
    return None


def _last(mentions: list[Mention]) -> Mention | None:
    return mentions[-1] if mentions else None


def _subject_after(text: str) -> Mention | None:
    """said Klopp / said the international affairs expert / says the letter signed by …"""
    head = re.split(r"[,.;:]", text, maxsplit=1)[0]
    words = head.split()
    if not words:
        return None
    head_text = " ".join(words[:8])
    found = subject_mention(head_text, last=False)
    if found is None:
        return None
    lead = head_text[:found.start].split()
    # Only a short role may stand between the verb and the name: "said harbour master Ana Lopez".
    if len(lead) > 4 or any(w[:1].isupper() for w in lead if w.lower() not in ("the", "a", "an")):
        return None
    return found


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else "…" + text[-limit:]
