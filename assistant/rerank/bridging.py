"""The name a "Who …?" or "Which company …?" question is about, guessed from the first candidates.

Such a question describes its answer claim by claim without naming it ("Who is the individual
accused of …, who claimed …, and who is planning …?"), while each article's evidence sentence
names it ("Bankman-Fried said …"). The claims alone then match those sentences poorly. The best
fused candidates usually come from several articles about the answer, and its name is the proper
name they share: a name that recurs across their articles and that the question does not use.
The reranker searches each claim again with that name added (:mod:`assistant.reranking`).

On MultiHop-RAG dev this lifts evidence recall@10 of inference questions from 0.690 to 0.732 (grouped
cross-validation, docs/research/reranker.md).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.index.store import StoredChunk

# Questions whose answer is a name: they start with who / which / what.
_ASKS_FOR_NAME = re.compile(r"\s*(?:who|which|what)\b", re.I)
# A run of capitalised words (particles allowed inside): "Sam Bankman-Fried", "Bank of America".
_NAME = re.compile(r"\b[A-Z][\w’'\-]+(?:\s+(?:(?:of|de|van|von)\s+)?[A-Z][\w’'\-]+)*")
_POSSESSIVE = re.compile(r"(?:’s|'s|’|')$")
# Capitalised words that are not names: sentence openers, pronouns, days and months.
_NOT_NAMES = frozenset("""
The A An In On At As But And Or If It Its This That These Those He She They We I I’m You His Her
Their Our Your For With From By To Of After Before When While What Who Which Why How Mr Ms Mrs Dr However
Also Meanwhile According Last Next One Two Yes No So Then There Here Now Still Some Many Most More Other
Another Both Each Every Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March
April May June July August September October November December
""".split())


@dataclass
class Bridge:
    """The guessed name, and the embeddings of each clause with the name added (one row per clause)."""

    name: str
    clauses: list[str]  # the clauses, each followed by the name
    vectors: np.ndarray


def asks_for_name(question: str) -> bool:
    return bool(_ASKS_FOR_NAME.match(question))


def shared_name(question: str, chunks: Sequence[StoredChunk], top: int = 6, min_articles: int = 2) -> str | None:
    """The proper name found in the most articles among the first ``top`` chunks, absent from ``question``.

    Names are compared by their last word ("Sam Altman" and "Altman" are one name), possessives
    dropped. None when no name recurs in ``min_articles`` articles.
    """
    asked = question.casefold()
    mentions: Counter[str] = Counter()
    articles: dict[str, set[str]] = {}
    for chunk in chunks[:top]:
        for match in _NAME.finditer(chunk.text):
            words = [w for w in (_POSSESSIVE.sub("", w) for w in match.group(0).split()) if w and w not in _NOT_NAMES]
            if not words or len(words[-1]) < 3 or words[-1].casefold() in asked:
                continue
            name = words[-1]
            mentions[name] += 1
            articles.setdefault(name, set()).add(chunk.metadata.get("article_id", chunk.id))
    ranked = sorted(mentions, key=lambda n: (-len(articles[n]), -mentions[n], n))
    return next((n for n in ranked if len(articles[n]) >= min_articles), None)
