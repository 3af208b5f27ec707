"""Reading a question: the outlets it names (as its source or as its subject), the days it
names, and its clauses. One reader for retrieval and answering (see :mod:`assistant.query.analyzer`).

News questions often say where the evidence is ("according to 'Fortune' … as reported by
The Age"). Outlet names are matched as proper names: each word must start with the same
capital letter as in the outlet's name, so "his fortune" never means the magazine Fortune.
An outlet is the question's *source* when the words around it say so ("according to X",
"X reported", "the X article", "reported by X"); otherwise it is what the question is about
("Did Fox News settle with Dominion?") and only its name's words count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from assistant.answer.request import AnswerRequest
from assistant.filters import SearchFilters
from assistant.query.questions import SpeakerQuestion
from assistant.query.timeframes import Timeframe, day_spans, named_days

if TYPE_CHECKING:
    from assistant.query.conversation import FollowUp

__all__ = ["aliases", "analyze", "clause_spans", "clauses", "named_days", "QueryPlan", "SourceMention"]

# Outlet names often carry a section or a slogan: "FOX News - Health", "The Roar | Sports Writers Blog".
_NAME_PARTS = re.compile(r"\s+[-|–]\s+|:\s+")


def aliases(source: str) -> set[str]:
    """Names a question may use for ``source``: the full name, its part before a section, and that
    part without a ".com" ("CBSSports")."""
    names = {source.strip()}
    head = _NAME_PARTS.split(source.strip())[0].strip()
    for name in (head, re.sub(r"\.com$", "", head)):
        if len(name) >= 3:
            names.add(name)
    return names


def _alias_pattern(alias: str) -> str:
    words = []
    for word in alias.split():
        first, rest = re.escape(word[0]), re.escape(word[1:])
        words.append(f"{first}(?i:{rest})" if rest else first)
    return r"(?<![\w])" + r"\s+".join(words) + r"(?![\w])"


@lru_cache(maxsize=8)
def _matcher(sources: tuple[str, ...]):
    by_alias: dict[str, set[str]] = {}
    for source in sources:
        for alias in aliases(source):
            by_alias.setdefault(alias, set()).add(source)
    # Longest aliases first, so "The Sydney Morning Herald" wins over a shorter overlapping name.
    ordered = sorted(by_alias, key=len, reverse=True)
    return [(alias, re.compile(_alias_pattern(alias)), sorted(by_alias[alias])) for alias in ordered]


Role = Literal["source", "subject"]


@dataclass
class SourceMention:
    alias: str
    sources: list[str]  # indexed outlets this name stands for
    start: int
    end: int
    role: Role = "source"  # "source": where the evidence is; "subject": what the question is about


@dataclass
class QueryPlan:
    query: str
    mentions: list[SourceMention] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)  # ISO days the question names ("on October 7, 2023")
    clauses: list[str] = field(default_factory=list)  # the question's parts, each a claim to find evidence for
    clause_sources: list[list[str]] = field(default_factory=list)  # per clause: outlets named inside it

    unknown_outlets: list[str] = field(default_factory=list)  # outlets named as sources that are not indexed
    # Filled by QueryAnalyzer (the whole reading of a question in a conversation):
    question: str = ""  # as asked ("What else did he say?"); ``query`` is the standalone form
    reference_date: date | None = None  # "today" for relative time words
    timeframe: Timeframe | None = None  # publication dates the question's time words ask for
    speaker: SpeakerQuestion | None = None  # "What did <person> say about <topic>?"
    followup: FollowUp | None = None  # how a follow-up was rewritten
    filters: SearchFilters | None = None  # the filters retrieval applies (given, or from time words)
    notes: dict = field(default_factory=dict)  # for the answer's trace

    @property
    def request(self) -> AnswerRequest:
        """What the answer writer needs of this plan."""
        return AnswerRequest(self.query, speaker=self.speaker, timeframe=self.timeframe, outlets=self.outlets,
                             unknown_outlets=self.unknown_outlets,
                             exclude=self.followup.exclude if self.followup else set())

    @property
    def content(self) -> str:
        """The question without the outlets it names as sources and the calendar days it names (they
        are metadata, not words the evidence sentences hold)."""
        cuts = [(m.start, m.end) for m in self.mentions if m.role == "source"]
        cuts += [(start, end) for start, end, _ in day_spans(self.query)]
        text = self.query
        for start, end in sorted(cuts, reverse=True):
            text = text[:start] + " " + text[end:]
        return " ".join(text.split())

    @property
    def source_groups(self) -> list[list[str]]:
        """Distinct outlet groups named as sources, in order of first mention."""
        groups: list[list[str]] = []
        for m in self.mentions:
            if m.role == "source" and m.sources not in groups:
                groups.append(m.sources)
        return groups

    @property
    def outlets(self) -> list[str]:
        """Indexed outlets named as sources, each once, in order."""
        return list(dict.fromkeys(s for group in self.source_groups for s in group))

    @property
    def subject_outlets(self) -> list[str]:
        return list(dict.fromkeys(s for m in self.mentions if m.role == "subject" for s in m.sources))


def analyze(query: str, known_sources: Iterable[str]) -> QueryPlan:
    mentions: list[SourceMention] = []
    taken: list[tuple[int, int]] = []
    for alias, pattern, sources in _matcher(tuple(sorted(set(known_sources)))):
        for m in pattern.finditer(query):
            if any(m.start() < end and start < m.end() for start, end in taken):
                continue
            taken.append((m.start(), m.end()))
            mentions.append(SourceMention(alias, sources, m.start(), m.end()))
    mentions.sort(key=lambda m: m.start)
    _assign_roles(query, mentions)
    spans = clause_spans(query, keep_whole=[(m.start, m.end) for m in mentions])
    named_in = [sorted({s for m in mentions if start <= m.start and m.end <= end and m.role == "source"
                        for s in m.sources}) for start, end in spans]
    return QueryPlan(query, mentions, named_days(query), [query[a:b] for a, b in spans], named_in,
                     unknown_outlets(query, mentions, known_sources))


_Q = r"[\s'\"‘’“”]*"  # spaces and quote marks around a name
_SOURCE_BEFORE = re.compile(
    r"(?:according\s+to|reported\s+by|published\s+(?:by|in|on)|written\s+by|posted\s+(?:by|on)|writing\s+(?:for|in)|"
    r"(?:article|report|piece|story|coverage|column|editorial|op-ed|analysis|review|podcast)s?\s+(?:from|by|in|on)|"
    r"\bper|\bvia|\bfrom|\bin|\bon|\bby|\bat)" + _Q + r"(?:the" + _Q + r")?$", re.IGNORECASE)
_SOURCE_AFTER = re.compile(
    _Q + r"(?:[’']s" + _Q + r")?(?:\(|,)?" + r"(?:\s*(?:also|previously|recently|later|earlier|first|then|has|have|had|"
    r"did|does|was|were)\s+)*" +
    r"(?:report(?:s|ed|ing)?|article|piece|story|stories|coverage|column|editorial|op-ed|analysis|review|podcast|"
    r"journalists?|reporters?|writers?|author|says?|said|wrote|writes|write|publish(?:es|ed)?|claim(?:s|ed)?|"
    r"suggest(?:s|ed)?|note(?:s|d)?|state(?:s|d)?|mention(?:s|ed)?|highlight(?:s|ed)?|discuss(?:es|ed)?|"
    r"describe(?:s|d)?|argue(?:s|d)?|indicate(?:s|d)?|cover(?:s|ed)?|reveal(?:s|ed)?|detail(?:s|ed)?|"
    r"explain(?:s|ed)?|outline(?:s|d)?|assert(?:s|ed)?|imply|implies|implied|point(?:s|ed)?\s+out)\b", re.IGNORECASE)
_AS_BEFORE = re.compile(r"\bas" + _Q + r"(?:the" + _Q + r")?$", re.IGNORECASE)
_AS_AFTER = re.compile(_Q + r"(?:did|does|do|has|had|have|was|were)\b", re.IGNORECASE)
_COORDINATION = re.compile(_Q + r"(?:,\s*|\s+)(?:and|or|as\s+well\s+as|&)?" + _Q + r"(?:the" + _Q + r")?$",
                           re.IGNORECASE)


def _assign_roles(query: str, mentions: list[SourceMention]) -> None:
    """Mark each mention a source or a subject by the words around it; names joined by "and"/"or"
    share a role ("as 'Fortune' and The Age reported": both sources)."""
    for m in mentions:
        before = query[max(0, m.start - 40):m.start]
        after = query[m.end:m.end + 60]
        said_too = _AS_BEFORE.search(before) and _AS_AFTER.match(after)  # "… as the Gazette did"
        m.role = "source" if _SOURCE_BEFORE.search(before) or _SOURCE_AFTER.match(after) or said_too else "subject"
    for _ in range(2):  # spread along "X and Y" both ways
        for a, b in zip(mentions, mentions[1:]):
            if a.role != b.role and _COORDINATION.match(query[a.end:b.start]) and not query[a.end:b.start].strip(
                    " ,'\"‘’“”").lower().startswith(("while", "but")):
                a.role = b.role = "source"


# Unindexed outlets: "the Gazette article", "a report by the Daily Planet", "published in Le Monde".
_OUTLET_NOUNS = r"(?:article|report|piece|story|stories|op-ed|column|coverage|podcast|editorial|analysis|review|reporting)"
_NAME = r"(?P<name>(?:The\s+)?[A-Z][\w&\.’'\-]*(?:\s+(?:of\s+)?[A-Z][\w&\.’'\-]*){0,4})"
_OUTLET_REFS = [
    re.compile(rf"\b(?:an?|the|one|another)\s+{_NAME}\s+{_OUTLET_NOUNS}\b"),
    re.compile(rf"\b{_OUTLET_NOUNS}s?\s+(?:from|by|in|published by|published in)\s+{_NAME}"),
    re.compile(rf"\b(?:reported|published|covered|written)\s+(?:by|in)\s+{_NAME}"),
]
_CALENDAR = {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
             "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
             "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
_GENERIC = {"the", "a", "an", "this", "that", "another", "both", "each", "which", "what", "one", "first", "second",
            "recent", "latest", "news", "same", "later", "earlier", "subsequent", "previous", "following"}


def unknown_outlets(query: str, mentions: list[SourceMention], known_sources: Iterable[str]) -> list[str]:
    """Names the question uses as an outlet ("the Gazette article") that no indexed outlet answers to."""
    taken = [(m.start, m.end) for m in mentions]
    known = {alias.lower() for source in known_sources for alias in aliases(source)}
    found: list[str] = []
    for pattern in _OUTLET_REFS:
        for match in pattern.finditer(query):
            name = match.group("name").strip()
            start, end = match.start("name"), match.start("name") + len(name)
            if any(s < end and start < e for s, e in taken):
                continue
            words = re.sub(r"^The\s+", "", name).split()
            if not words or words[0].lower() in _GENERIC or words[0].lower().rstrip(".") in _CALENDAR:
                continue
            if re.search(r"[’']s?$", name) or query[match.end("name"):].startswith(("’", "'")):
                continue  # "Google's antitrust report": the subject, not the outlet
            if name not in found and name.lower() not in known:
                found.append(name)
    return found


# Where a multi-part question turns to its next claim: "X reported A, while Y reported B and C?"
_CLAUSE_BREAK = re.compile(
    r"[,;?]|\b(?:while|whereas|but also|not only|and|but|according to|reported by|after|before)\b", re.I)


def clauses(query: str, min_words: int = 4) -> list[str]:
    """The parts of a question between commas and joining words, each of at least ``min_words`` words.

    A multi-hop question packs one claim per article into one sentence; each piece is matched
    against single sentences on its own, so the evidence for every claim can be found.
    """
    return [query[start:end] for start, end in clause_spans(query, min_words)]


_EDGE = " \t\n'\"‘’“”"  # trimmed from both ends of a clause


def clause_spans(query: str, min_words: int = 4,
                 keep_whole: Iterable[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """(start, end) of each clause of :func:`clauses` in ``query``, spaces and quote marks trimmed.

    No break falls inside a span of ``keep_whole`` (the outlet names :func:`analyze` found:
    "The Independent - Life and Style"). Keeping written-out days whole ("October 12, 2023")
    was measured too and did not help (the year alone is dropped as too short a clause).
    """
    whole = list(keep_whole)
    spans, start = [], 0
    breaks = [b for b in _CLAUSE_BREAK.finditer(query) if not any(a < b.end() and b.start() < z for a, z in whole)]
    kept, last_end = [], 0
    for brk in breaks:  # "What did Apple and Google agree on?": "and" joins two names, not two claims
        if brk.group(0).lower() == "and" and 0 < len(re.findall(r"\w+", query[last_end:brk.start()])) < min_words:
            continue
        kept.append(brk)
        last_end = brk.end()
    breaks = kept
    for brk in [*breaks, None]:
        end = brk.start() if brk else len(query)
        part = query[start:end]
        lead = len(part) - len(part.lstrip(_EDGE))
        if len(re.findall(r"\w+", part)) >= min_words:
            spans.append((start + lead, start + len(part.rstrip(_EDGE))))
        start = brk.end() if brk else end
    return spans
