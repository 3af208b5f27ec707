"""Hybrid retrieval: dense (Chroma) and BM25 rankings fused by weighted reciprocal rank fusion."""

from __future__ import annotations

from dataclasses import dataclass

from .embedders import Embedder
from .filters import SearchFilters
from .lexical import BM25Index
from .models import Passage
from .store import ChunkStore, to_passage


@dataclass
class RetrievalConfig:
    mode: str = "hybrid"  # hybrid | dense | bm25
    candidates: int = 100
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 1.0


def fuse(rankings: dict[str, list[str]], weights: dict[str, float], rrf_k: int) -> dict[str, float]:
    """Weighted reciprocal rank fusion: sum of weight / (rrf_k + rank) over the rankings."""
    fused: dict[str, float] = {}
    for name, ids in rankings.items():
        weight = weights.get(name, 1.0)
        for rank, chunk_id in enumerate(ids, start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + weight / (rrf_k + rank)
    return fused


class HybridRetriever:
    def __init__(self, store: ChunkStore, bm25: BM25Index, embedder: Embedder, config: RetrievalConfig):
        if config.mode not in ("hybrid", "dense", "bm25"):
            raise ValueError(f"retrieval mode must be hybrid, dense or bm25, got {config.mode!r}")
        self.store = store
        self.bm25 = bm25
        self.embedder = embedder
        self.config = config

    def search(self, query: str, k: int = 10, filters: SearchFilters | None = None) -> list[Passage]:
        query = query.strip()
        if not query or self.store.count() == 0:
            return []
        cfg = self.config
        rankings: dict[str, list[str]] = {}
        scores: dict[str, dict[str, float]] = {}
        chunks = {}
        where = filters.chroma_where() if filters else None
        if cfg.mode in ("hybrid", "dense"):
            vector = self.embedder.embed([query])[0]
            hits = self.store.query(vector, cfg.candidates, where)
            rankings["dense"] = [c.id for c, _ in hits]
            for rank, (chunk, sim) in enumerate(hits, start=1):
                chunks[chunk.id] = chunk
                scores.setdefault(chunk.id, {}).update(dense=round(sim, 6), dense_rank=rank)
        if cfg.mode in ("hybrid", "bm25"):
            hits = self.bm25.search(query, cfg.candidates, filters)
            rankings["bm25"] = [cid for cid, _ in hits]
            for rank, (cid, score) in enumerate(hits, start=1):
                scores.setdefault(cid, {}).update(bm25=round(score, 6), bm25_rank=rank)
        fused = fuse(rankings, {"dense": cfg.dense_weight, "bm25": cfg.bm25_weight}, cfg.rrf_k)
        best = sorted(fused, key=lambda cid: (-fused[cid], cid))[:k]
        missing = [cid for cid in best if cid not in chunks]
        for chunk in self.store.get_chunks(missing):
            chunks[chunk.id] = chunk
        passages = []
        for cid in best:
            if cid in chunks:
                scores[cid]["fused"] = round(fused[cid], 6)
                passages.append(to_passage(chunks[cid], score=fused[cid], scores=scores[cid]))
        return passages
