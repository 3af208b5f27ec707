"""Grounded extractive answers: the retrieved sentences that best answer the question, cited."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..embedders import Embedder
from ..models import Answer, Citation, Passage
from ..sentences import split_sentences

NO_ANSWER = "I could not find this in the indexed articles."


@dataclass
class Candidate:
    passage: Passage
    start: int  # offsets in the article body
    end: int
    text: str
    score: float = 0.0


def candidate_sentences(passages: list[Passage]) -> list[Candidate]:
    """Every sentence of the passages once, with its span in the article body."""
    seen: set[tuple[str, int]] = set()
    out: list[Candidate] = []
    for passage in passages:
        for span in split_sentences(passage.text):
            start = passage.start + span.start
            if (passage.article_id, start) in seen:
                continue
            seen.add((passage.article_id, start))
            out.append(Candidate(passage, start, passage.start + span.end, passage.text[span.start:span.end]))
    return out


class ExtractiveAnswerer:
    def __init__(self, embedder: Embedder, max_sentences: int = 3, abstain_threshold: float = 0.35,
                 margin: float = 0.12):
        self.embedder = embedder
        self.max_sentences = max_sentences
        self.abstain_threshold = abstain_threshold
        self.margin = margin

    def score(self, question: str, candidates: list[Candidate]) -> None:
        if not candidates:
            return
        vectors = self.embedder.embed([question] + [c.text for c in candidates])
        sims = vectors[1:] @ vectors[0]
        for cand, sim in zip(candidates, sims):
            cand.score = float(sim)

    def select(self, candidates: list[Candidate]) -> list[Candidate]:
        ranked = sorted(candidates, key=lambda c: -c.score)
        if not ranked or ranked[0].score < self.abstain_threshold:
            return []
        floor = max(self.abstain_threshold, ranked[0].score - self.margin)
        chosen: list[Candidate] = []
        for cand in ranked:
            if cand.score < floor or len(chosen) >= self.max_sentences:
                break
            if any(c.text == cand.text for c in chosen):
                continue  # the same sentence syndicated in two articles
            chosen.append(cand)
        return chosen

    def answer(self, question: str, passages: list[Passage]) -> Answer:
        candidates = candidate_sentences(passages)
        self.score(question, candidates)
        chosen = self.select(candidates)
        trace = {
            "candidates": len(candidates),
            "best_score": round(max((c.score for c in candidates), default=0.0), 4),
            "abstain_threshold": self.abstain_threshold,
        }
        if not chosen:
            return Answer(question=question, answer=NO_ANSWER, abstained=True, passages=passages, trace=trace)
        citations, parts = [], []
        for n, cand in enumerate(self._in_reading_order(chosen), start=1):
            p = cand.passage
            citations.append(Citation(
                n=n, article_id=p.article_id, title=p.title, source=p.source, author=p.author,
                published_at=p.published_at, url=p.url, chunk_id=p.chunk_id, quote=cand.text,
                start=cand.start, end=cand.end, score=round(cand.score, 4),
            ))
            parts.append(f"{cand.text} [{n}]")
        return Answer(question=question, answer=" ".join(parts), abstained=False, citations=citations,
                      passages=passages, trace=trace)

    @staticmethod
    def _in_reading_order(chosen: list[Candidate]) -> list[Candidate]:
        """Best article first; within an article, sentences in the order they appear."""
        article_rank = {}
        for cand in chosen:
            article_rank.setdefault(cand.passage.article_id, len(article_rank))
        return sorted(chosen, key=lambda c: (article_rank[c.passage.article_id], c.start))
