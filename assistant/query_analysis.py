"""Reading a question for retrieval hints: the outlets it names and the clause about each.

News questions often say where the evidence is ("according to 'Fortune' … as reported by
The Age"). Outlet names are matched as proper names: each word must start with the same
capital letter as in the outlet's name, so "his fortune" never means the magazine Fortune.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

# Outlet names often carry a section or a slogan: "FOX News - Health", "The Roar | Sports Writers Blog".
_NAME_PARTS = re.compile(r"\s+[-|–]\s+|:\s+")
_CLAUSE_BREAKS = re.compile(r",\s*(?:while|whereas|and|but)\s+|;\s*|\s+(?:while|whereas)\s+|,\s+and\s+|\s+and\s+(?=(?:the|an?|what|how|does|did|is|was)\b)", re.I)


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
    clause: str = ""  # the part of the question about this outlet


@dataclass
class QueryPlan:
    query: str
    mentions: list[SourceMention] = field(default_factory=list)

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
    _assign_clauses(query, mentions)
    return QueryPlan(query, mentions)


def _assign_clauses(query: str, mentions: list[SourceMention]) -> None:
    """Each mention gets the clause of the question it stands in (split at 'while', 'and', ';')."""
    breaks = [(m.start(), m.end()) for m in _CLAUSE_BREAKS.finditer(query)]
    starts = [0] + [end for _, end in breaks]
    ends = [start for start, _ in breaks] + [len(query)]
    for mention in mentions:
        for lo, hi in zip(starts, ends):
            if lo <= mention.start < hi:
                mention.clause = query[lo:hi].strip(" ,;")
                break
