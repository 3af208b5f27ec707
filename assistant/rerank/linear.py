"""Learned reranking of the fused candidates.

Fusion ranks chunks by how well they match the whole question. A multi-hop question, though,
asks for one fact per article ("TechCrunch reported A, while The Verge said B"), and the chunk
that holds the fact is often not the one that matches the question best. The reranker reads,
for each candidate, signals about the question *and each of its clauses* — BM25 of the chunk
and of its best sentence, dense similarity of the chunk and of its best sentence (sentence
vectors are stored at ingest), the idf weight of the question's words (outlet names and days left out) its most
overlapping sentence holds, the ranks fusion and each clause's own searches gave it, whether
it is from an outlet and a day the question names, how it compares with other chunks of its
article, and, for a who/which question, how well it matches each clause searched again with the
name the best candidates share (:mod:`assistant.bridging`) — and a logistic regression turns
them into the probability that the chunk holds evidence.

The model ships as JSON (``multihop_model.json``: feature names, standardisation, weights, and how
it was trained). ``benchmarks/train_reranker.py`` trains it on the MultiHop-RAG dev questions with
the features computed by this module and reports cross-validated figures (docs/research/reranker.md).
Why linear: gradient-boosted trees (400 trees) scored MRR@10 0.81 when dev questions were split
at random, but 0.70 when questions sharing a gold fact were kept on one side — they had learned
the dev evidence, not the task; shallow, heavily regularised trees also scored below the linear
model on that honest split (MRR@10 0.72 against 0.74, 2026-11-25).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from assistant.rerank.bridging import Bridge
from assistant.errors import ConfigError
from assistant.index.lexical import BM25Index
from assistant.query.analysis import QueryPlan
from assistant.index.store import StoredChunk

BUNDLED_MODEL = Path(__file__).with_name("multihop_model.json")
MODEL_FORMAT = "news-assistant-linear-reranker/1"
MISSING_RANK = 300  # the rank a candidate gets in a list it did not appear in

FEATURES = (
    "dense", "dense_gap", "bm25", "sent", "r_dense", "r_bm25", "r_sent", "r_src", "r_day",
    "src_match", "n_groups", "day_match", "position", "fused", "pool_rank",
    "art_best", "art_n", "art_rank_sent", "cl_best", "cl_sum", "n_cl", "cl_rank", "art_rank_cl",
    "dcl_best", "dcl_rank", "r_cl_dense", "r_cl_sent", "ds_q", "ds_cl", "ds_cl_rank",
    "ov_q", "ov_rank", "br_lex", "br_ds", "br_lex_rank", "br_ds_rank", "br_named", "bridged",
)


@dataclass
class Pool:
    """One question's candidates in fused order, with what the reranker reads about them."""

    chunks: list[StoredChunk]
    embeddings: np.ndarray  # one row per chunk
    fused: list[float]
    ranks: list[dict[str, float]] = field(default_factory=list)  # "dense_rank", "bm25_rank@source:X", …
    sentences: list[np.ndarray | None] = field(default_factory=list)  # per chunk: its sentences' embeddings

    def __len__(self) -> int:
        return len(self.chunks)


def _desc_ranks(values: np.ndarray) -> np.ndarray:
    """1 for the largest value, 2 for the next, … (ties by position)."""
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    return ranks


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


def _route_ranks(ranks: dict[str, float]) -> tuple[float, float, float, float, float]:
    """Ranks in the unrestricted lists, and the best rank in per-outlet and per-day lists."""
    best_source = best_day = float(MISSING_RANK)
    for key, rank in ranks.items():
        if "@" not in key:
            continue
        route = key.split("@", 1)[1]
        if route.startswith("source:") and "@day:" not in route:
            best_source = min(best_source, rank)
        elif route.startswith("day:"):
            best_day = min(best_day, rank)
    dense, bm25, sentence = (ranks.get(key) or MISSING_RANK for key in ("dense_rank", "bm25_rank", "sentence_rank"))
    return dense, bm25, sentence, best_source, best_day


def _near_named_day(published: str, days: list[date], window: int) -> float:
    if not days:
        return 0.5
    if not published:
        return 0.0
    day = date.fromisoformat(published[:10])
    return float(any(abs((day - named).days) <= window for named in days))


def _best_sentence(pool: Pool, emb: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """Candidates × (question, clauses…): cosine similarity with the chunk's best-matching sentence.

    A chunk whose sentence vectors are not stored stands for one sentence (its own embedding).
    """
    out = np.zeros((len(pool), len(unit)))
    for i in range(len(pool)):
        sentences = pool.sentences[i] if i < len(pool.sentences) else None
        matrix = _unit(sentences) if sentences is not None and len(sentences) else emb[i:i + 1]
        out[i] = (matrix @ unit.T).max(axis=0)
    return out


def _bridge_features(pool: Pool, emb: np.ndarray, bridge: Bridge | None, bm25: BM25Index, take) -> np.ndarray:
    """Candidates × 6: each clause searched again with the name the question is about (see
    :mod:`assistant.bridging`): best BM25 and dense sentence match, their ranks, whether the
    chunk names it, and whether there is a name at all. Without one: no match, ranks missing."""
    n = len(pool)
    out = np.zeros((n, 6))
    out[:, 2:4] = math.log(MISSING_RANK)
    if bridge is None or not n:
        return out
    lexical = np.stack([take(bm25.best_sentence_scores(c)) for c in bridge.clauses], axis=1)
    dense = _best_sentence(pool, emb, _unit(np.asarray(bridge.vectors, dtype=np.float32)))
    name = bridge.name.casefold()
    out[:, 0], out[:, 1] = lexical.max(axis=1), dense.max(axis=1)
    out[:, 2] = np.log(np.min([_desc_ranks(lexical[:, j]) for j in range(lexical.shape[1])], axis=0))
    out[:, 3] = np.log(np.min([_desc_ranks(dense[:, j]) for j in range(dense.shape[1])], axis=0))
    out[:, 4] = [float(name in c.text.casefold()) for c in pool.chunks]
    out[:, 5] = 1.0
    return out


def features(plan: QueryPlan, pool: Pool, vectors: np.ndarray, bm25: BM25Index, window_days: int = 1,
             bridge: Bridge | None = None) -> np.ndarray:
    """The feature matrix (candidates × :data:`FEATURES`).

    ``vectors`` are the embeddings of the question followed by those of ``plan.clauses``;
    ``bridge`` the name a who/which question is about, with its clauses (:mod:`assistant.bridging`).
    Lexical scores are divided by their best value over the whole index, so they compare
    across questions.
    """
    n = len(pool)
    rows = bm25.rows([c.id for c in pool.chunks])
    known = rows >= 0

    def pick(scores: np.ndarray) -> np.ndarray:
        """The candidates' entries of a whole-index score array."""
        return np.where(known, scores[np.maximum(rows, 0)], 0.0)

    def take(scores: np.ndarray) -> np.ndarray:
        """The candidates' scores over the best score in the index."""
        top = float(scores.max()) if len(scores) else 0.0
        return pick(scores) / max(top, 1e-6)

    bm25_norm = take(bm25.chunk_scores(plan.query))
    sent_norm = take(bm25.best_sentence_scores(plan.query))
    overlap = pick(bm25.sentence_overlap(plan.content))  # not scaled: it only orders one question's candidates
    clause_lex = np.stack([take(bm25.best_sentence_scores(c)) for c in plan.clauses], axis=1) \
        if plan.clauses else np.zeros((n, 0))
    unit = _unit(np.asarray(vectors, dtype=np.float32))
    emb = _unit(pool.embeddings) if len(pool.embeddings) else np.zeros((n, unit.shape[1]), dtype=np.float32)
    dense = emb @ unit[0]
    clause_dense = emb @ unit[1:].T if plan.clauses else np.zeros((n, 0))

    best_sentence = _best_sentence(pool, emb, unit)
    by_clause = best_sentence[:, 1:] if plan.clauses else best_sentence[:, :1]
    sentence_rank = np.min([_desc_ranks(by_clause[:, j]) for j in range(by_clause.shape[1])], axis=0) \
        if n else np.zeros(0)

    overlap_rank = _desc_ranks(overlap)
    n_clauses = clause_lex.shape[1]
    if n_clauses:
        clause_rank = np.min([_desc_ranks(clause_lex[:, j]) for j in range(n_clauses)], axis=0)
        clause_dense_rank = np.min([_desc_ranks(clause_dense[:, j]) for j in range(n_clauses)], axis=0)
    else:
        clause_rank = clause_dense_rank = np.full(n, float(MISSING_RANK))

    articles: dict[str, list[int]] = {}
    for i, chunk in enumerate(pool.chunks):
        articles.setdefault(chunk.metadata.get("article_id", chunk.id), []).append(i)
    art_best, art_n = np.zeros(n), np.zeros(n)
    art_rank_sent, art_rank_clause = np.ones(n), np.ones(n)
    for members in articles.values():
        idx = np.array(members)
        art_best[idx] = sent_norm[idx].max()
        art_n[idx] = len(idx)
        art_rank_sent[idx] = _desc_ranks(sent_norm[idx])
        if n_clauses:
            art_rank_clause[idx] = np.min([_desc_ranks(clause_lex[idx, j]) for j in range(n_clauses)], axis=0)

    named = {source for group in plan.source_groups for source in group}
    days = [date.fromisoformat(d) for d in plan.dates]
    dense_max = float(dense.max()) if n else 0.0
    matrix = np.zeros((n, len(FEATURES)))
    for i, chunk in enumerate(pool.chunks):
        meta = chunk.metadata
        route = pool.ranks[i] if i < len(pool.ranks) else {}
        r_dense, r_bm25, r_sent, r_src, r_day = _route_ranks(route)
        matrix[i, :-6] = (
            dense[i], dense[i] - dense_max, bm25_norm[i], sent_norm[i],
            math.log(r_dense), math.log(r_bm25), math.log(r_sent), math.log(r_src), math.log(r_day),
            (float(meta.get("source") in named) if named else 0.5), len(plan.source_groups),
            _near_named_day(meta.get("published_at") or "", days, window_days),
            math.log1p(meta.get("position", 0)), math.log(max(pool.fused[i], 1e-3)), math.log(i + 1),
            art_best[i], math.log(art_n[i]), math.log(art_rank_sent[i]),
            clause_lex[i].max() if n_clauses else 0.0, clause_lex[i].sum() if n_clauses else 0.0, n_clauses,
            math.log(clause_rank[i]), math.log(art_rank_clause[i]) if n_clauses else 0.0,
            clause_dense[i].max() if n_clauses else dense[i], math.log(clause_dense_rank[i]),
            *(math.log(route.get(key) or MISSING_RANK) for key in ("clause_dense_rank", "clause_sentence_rank")),
            best_sentence[i, 0], by_clause[i].max(), math.log(sentence_rank[i]),
            overlap[i], math.log(overlap_rank[i]),
        )
    matrix[:, -6:] = _bridge_features(pool, emb, bridge, bm25, take)
    return matrix


class LinearModel:
    """Logistic regression over standardised features: ``sigmoid(((x - mean) / scale) · coef + intercept)``."""

    def __init__(self, features: list[str], mean, scale, coef, intercept: float, info: dict | None = None):
        self.features = list(features)
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = float(intercept)
        self.info = info or {}
        if not (len(self.features) == len(self.mean) == len(self.scale) == len(self.coef)):
            raise ValueError("features, mean, scale and coef must have one entry per feature")

    @classmethod
    def load(cls, path: str | Path) -> "LinearModel":
        fix = "point the profile's rerank.model at a file written by benchmarks/train_reranker.py (ASSISTANT_PROFILE)"
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: cannot read the reranker model ({exc}); {fix}") from exc
        if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
            found = data.get("format") if isinstance(data, dict) else None
            raise ConfigError(f"{path}: not a reranker model (format {found!r}, expected {MODEL_FORMAT!r}); {fix}")
        try:
            return cls(data["features"], data["mean"], data["scale"], data["coef"], data["intercept"], data.get("info"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{path}: broken reranker model ({exc!r}); {fix}") from exc

    def to_dict(self) -> dict:
        return {"format": MODEL_FORMAT, "features": self.features, "mean": self.mean.tolist(),
                "scale": self.scale.tolist(), "coef": self.coef.tolist(), "intercept": self.intercept,
                "info": self.info}

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Probability that each row (candidate) holds evidence."""
        z = ((np.asarray(X, dtype=np.float64) - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))


class Reranker:
    def __init__(self, model: LinearModel, bm25: BM25Index, window_days: int = 1):
        if list(model.features) != list(FEATURES):
            raise ConfigError(f"the reranker model's features {model.features} are not this version's "
                              f"{list(FEATURES)}; retrain it with benchmarks/train_reranker.py")
        self.model = model
        self.bm25 = bm25
        self.window_days = window_days

    def score(self, plan: QueryPlan, pool: Pool, vectors: np.ndarray, bridge: Bridge | None = None) -> np.ndarray:
        if not len(pool):
            return np.zeros(0)
        return self.model.predict(features(plan, pool, vectors, self.bm25, self.window_days, bridge))
