"""Reading a question for retrieval hints: the outlets and the days it names.

News questions often say where the evidence is ("according to 'Fortune' … as reported by
The Age"). Outlet names are matched as proper names: each word must start with the same
capital letter as in the outlet's name, so "his fortune" never means the magazine Fortune.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

# Outlet names often carry a section or a slogan: "FOX News - Health", "The Roar | Sports Writers Blog".
_NAME_PARTS = re.compile(r"\s+[-|–]\s+|:\s+")


def aliases(source: str) -> set[str]:
    """Names a question may use for ``source``: the full name and its part before a section."""
    names = {source.strip()}
    head = _NAME_PARTS.split(source.strip())[0].strip()
    if len(head) >= 3:
        names.add(head)
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


@dataclass
class SourceMention:
    alias: str
    sources: list[str]  # indexed outlets this name stands for
    start: int
    end: int


@dataclass
class QueryPlan:
    query: str
    mentions: list[SourceMention] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)  # ISO days the question names ("on October 7, 2023")
    clauses: list[str] = field(default_factory=list)  # the question's parts, each a claim to find evidence for
    clause_sources: list[list[str]] = field(default_factory=list)  # per clause: outlets named inside it

    @property
    def content(self) -> str:
        """The question without the outlet names and calendar days it names (they are metadata, not
        words the evidence sentences hold)."""
        text = self.query
        for m in sorted(self.mentions, key=lambda m: m.start, reverse=True):
            text = text[:m.start] + " " + text[m.end:]
        for pattern in _DAY_PATTERNS:
            text = pattern.sub(" ", text)
        return " ".join(text.split())

    @property
    def source_groups(self) -> list[list[str]]:
        """Distinct outlet groups named, in order of first mention."""
        groups: list[list[str]] = []
        for m in self.mentions:
            if m.sources not in groups:
                groups.append(m.sources)
        return groups


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
    spans = clause_spans(query, keep_whole=[(m.start, m.end) for m in mentions])
    named_in = [sorted({s for m in mentions if start <= m.start and m.end <= end for s in m.sources})
                for start, end in spans]
    return QueryPlan(query, mentions, named_days(query), [query[a:b] for a, b in spans], named_in)


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
    for brk in [*breaks, None]:
        end = brk.start() if brk else len(query)
        part = query[start:end]
        lead = len(part) - len(part.lstrip(_EDGE))
        if len(re.findall(r"\w+", part)) >= min_words:
            spans.append((start + lead, start + len(part.rstrip(_EDGE))))
        start = brk.end() if brk else end
    return spans


_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december"]
_MONTH = r"(January|February|March|April|May|June|July|August|September|October|November|December)"
_DAY_PATTERNS = [
    re.compile(_MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})"),   # October 7, 2023
    re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + r",?\s+(\d{4})"),  # 7 October 2023
]


def named_days(query: str) -> list[str]:
    """Calendar days written out in the question, as ISO dates, in order, without repeats."""
    found: list[tuple[int, str]] = []
    for i, pattern in enumerate(_DAY_PATTERNS):
        for m in pattern.finditer(query):
            month, day, year = (m.group(1), m.group(2), m.group(3)) if i == 0 else (m.group(2), m.group(1), m.group(3))
            try:
                iso = date(int(year), _MONTHS.index(month.lower()) + 1, int(day)).isoformat()
            except ValueError:
                continue
            found.append((m.start(), iso))
    return list(dict.fromkeys(iso for _, iso in sorted(found)))

