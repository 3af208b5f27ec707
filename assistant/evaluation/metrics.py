"""Scoring definitions, as small pure functions over passages, citations and gold evidence.

Retrieval follows the MultiHop-RAG paper: all whitespace is removed from chunk texts and gold
facts, and a chunk is a hit when a gold fact is a substring of it. Evidence given only as an
article id (or title) makes every chunk of that article a hit.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from assistant.models import Citation, Passage
from assistant.evaluation.datasets import Evidence

_WHITESPACE = re.compile(r"\s+")
_EDGE_PUNCTUATION = "\"'“”‘’«»()[]{}.,;:!?-–—…*_ "
# Expected answers whose presence in an answer text says nothing: verdicts (yes/no, and the
# comparison words MultiHop-RAG uses) are judgements about the evidence, not words quoted from it.
MEANINGLESS_ANSWERS = frozenset({
    "yes", "no", "true", "false", "insufficient information",
    "consistent", "inconsistent", "consistency", "agree", "agreement", "disagree", "align", "aligned",
    "similar", "same", "different", "contradictory", "before", "after", "both",
})


def squash(text: str) -> str:
    """``text`` with all whitespace removed (Unicode whitespace included, e.g. no-break spaces)."""
    return _WHITESPACE.sub("", text)


def normalize_title(title: str) -> str:
    return " ".join(title.split()).casefold()


@dataclass(frozen=True)
class Gold:
    """One piece of gold evidence, ready to match: a squashed fact, an article id or a title."""

    kind: Literal["fact", "article", "title"]
    value: str

    def matches_passage(self, passage: Passage) -> bool:
        if self.kind == "fact":
            return self.value in squash(passage.text)
        if self.kind == "article":
            return passage.article_id == self.value
        return normalize_title(passage.title) == self.value

    def matches_citation(self, citation: Citation) -> bool:
        """A quote is one or more sentences and a fact is one: either may contain the other."""
        if self.kind == "fact":
            quote = squash(citation.quote)
            return bool(quote) and (self.value in quote or quote in self.value)
        if self.kind == "article":
            return citation.article_id == self.value
        return normalize_title(citation.title) == self.value


def gold_of(evidence: Iterable[Evidence]) -> list[Gold]:
    """Distinct gold items in order; a fact wins over the article id or title given with it."""
    items: list[Gold] = []
    for item in evidence:
        if item.fact and item.fact.strip():
            gold = Gold("fact", squash(item.fact))
        elif item.article_id and item.article_id.strip():
            gold = Gold("article", item.article_id.strip())
        else:
            gold = Gold("title", normalize_title(item.title or ""))
        if gold not in items:
            items.append(gold)
    return items


# --- retrieval ------------------------------------------------------------------------------


def hit_ranks(gold: Sequence[Gold], passages: Sequence[Passage]) -> list[int]:
    """1-based ranks of the passages that contain some gold evidence."""
    return [rank for rank, p in enumerate(passages, start=1) if any(g.matches_passage(p) for g in gold)]


def hit_at(ranks: Sequence[int], k: int) -> bool:
    return any(rank <= k for rank in ranks)


def reciprocal_rank(ranks: Sequence[int], k: int = 10) -> float:
    first = min(ranks, default=None)
    return 1.0 / first if first is not None and first <= k else 0.0


def evidence_recall(gold: Sequence[Gold], passages: Sequence[Passage], k: int = 10) -> float | None:
    """Share of the gold items found in some passage of the top ``k``; None without gold."""
    if not gold:
        return None
    top = passages[:k]
    found = sum(1 for g in gold if any(g.matches_passage(p) for p in top))
    return found / len(gold)


# --- answers --------------------------------------------------------------------------------


def citation_precision(citations: Sequence[Citation], gold: Sequence[Gold]) -> float | None:
    """Share of citations that quote gold evidence; None when nothing was cited."""
    if not citations:
        return None
    return sum(1 for c in citations if any(g.matches_citation(c) for g in gold)) / len(citations)


def citation_recall(citations: Sequence[Citation], gold: Sequence[Gold]) -> float | None:
    """Share of gold items that some citation covers; None without gold (0 when nothing cited)."""
    if not gold:
        return None
    return sum(1 for g in gold if any(g.matches_citation(c) for c in citations)) / len(gold)


def normalize_answer(text: str) -> str:
    """Case-folded, NFKC, whitespace collapsed, punctuation trimmed from both ends."""
    text = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return text.strip(_EDGE_PUNCTUATION)


def answer_contains(expected: str | None, answer: str) -> bool | None:
    """Whether the normalised expected answer appears as whole words in the answer text.

    None (not counted) when there is no expected answer or it is a verdict (Yes/No, True/False,
    Consistent, Same, Before, …, "Insufficient information"): an extractive answer quotes
    sentences and does not state verdicts, so matching them would measure luck.
    """
    wanted = normalize_answer(expected or "")
    if not wanted or wanted in MEANINGLESS_ANSWERS:
        return None
    pattern = r"(?<!\w)" + re.escape(wanted) + r"(?!\w)"
    return re.search(pattern, " ".join(unicodedata.normalize("NFKC", answer).casefold().split())) is not None


# --- aggregation ----------------------------------------------------------------------------


def mean(values: Iterable[float | bool | None]) -> float | None:
    """Mean of the values that are not None; None when there are none."""
    kept = [float(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def percentile(values: Iterable[float], p: float) -> float | None:
    """The ``p``-th percentile with linear interpolation between ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * p / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
