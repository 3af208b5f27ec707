"""Hybrid retrieval: dense (Chroma) and BM25 rankings fused by weighted reciprocal rank fusion.

With lexical confidence on (``lexical_full_peak``), the BM25 rankings of a question weigh less when
its BM25 top ten is flat (:func:`lexical_confidence`): no chunk stands out by the question's words
(a paraphrase sharing only common words with every chunk, or a long question whose words are spread
over many chunks), and BM25's order then says little.

With source routing on, a question that names outlets ("according to TechCrunch …") also gets
one ranking per named outlet, restricted to it, fused with the unrestricted ranking: evidence
from each outlet the question compares then reaches the top of the list. Days the question
names get their own rankings the same way.

With a reranker (the ``multihop`` profile), the best ``rerank_pool`` fused candidates, plus
the best matches of each clause of the question searched on its own, are ordered by the learned
reranker (:mod:`assistant.reranking`); for a who/which question it also reads each clause searched
again with the name the best candidates share (:mod:`assistant.bridging`). Each outlet the question
names then keeps a few places in the top k (:func:`reserve_outlets`), so evidence from every
outlet a comparison names is shown even when one outlet's chunks score higher; before that, a chunk
right next to one already ranked is marked down (:func:`space_neighbours`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from datetime import date, datetime, timezone

import numpy as np

from assistant.rerank.bridging import Bridge, asks_for_name, shared_name
from assistant.embed.embedders import Embedder
from assistant.filters import SearchFilters
from assistant.index.lexical import BM25Index
from assistant.models import Passage
from assistant.query.analysis import QueryPlan, analyze
from assistant.rerank.linear import Pool, Reranker
from assistant.index.store import ChunkStore, StoredChunk, to_passage


# Largest index searched exactly (a matrix product over every chunk vector: ~10 ms at 100,000 chunks
# here, docs/research/speed.md); larger ones use Chroma's HNSW index.
EXACT_DENSE_MAX_CHUNKS = 250_000


@dataclass
class RetrievalConfig:
    mode: str = "hybrid"  # hybrid | dense | bm25
    candidates: int = 200
    rrf_k: int = 20
    dense_weight: float = 0.5
    bm25_weight: float = 1.0
    source_routing: bool = True
    source_weight: float = 1.0
    sentence_weight: float = 1.0  # BM25 over single sentences (facts are sentences)
    dense_sentence_weight: float = 0.0  # each chunk's most similar stored sentence vector
    lexical_full_peak: float = 0.0  # BM25 weights scaled by lexical_confidence (0 = off)
    lexical_floor: float = 1.0
    date_routing: bool = True
    date_window_days: int = 1
    article_decay: float = 0.9  # each further chunk of the same article counts this much less
    route_tops: int = 0  # the best n of the dense and of the BM25 ranking each keep a place in the top k
    rerank_pool: int = 100  # fused candidates the reranker orders (when a reranker is given)
    clause_candidates: int = 10  # per clause, best chunks by dense and by sentence BM25 added to that pool
    outlet_quota: int = 3  # places in the reranked top k kept for each outlet the question names
    neighbour_penalty: float = 0.5  # log-odds a chunk loses for each neighbour of it ranked above (0 = off)
    recency_half_life_days: float = 0.0  # questions asking for the latest: score halves per this many days of age
    general_half_life_days: float = 0.0  # the same for every question (0 = off)


def space_neighbours(logits: np.ndarray, places: list[tuple[str, int]], penalty: float, k: int) -> list[int]:
    """Candidate indices best first: the first ``k`` picked one at a time, each pick lowering by
    ``penalty`` the score of the chunks right before and after it in its article; the rest by score.

    ``places`` is each candidate's (article id, position). Neighbouring chunks share the sentences
    of their overlap and mostly tell the same part of the story, so the second of a pair adds
    less new evidence than the next best chunk elsewhere.
    """
    by_score = [int(i) for i in np.argsort(-logits, kind="stable")]
    if penalty <= 0 or len(by_score) <= 1:
        return by_score
    where = {place: i for i, place in enumerate(places)}
    adjusted = np.asarray(logits, dtype=np.float64).copy()
    free = np.ones(len(adjusted), dtype=bool)
    picked: list[int] = []
    for _ in range(min(k, len(adjusted))):
        i = int(np.argmax(np.where(free, adjusted, -np.inf)))
        picked.append(i)
        free[i] = False
        article, position = places[i]
        for near in (position - 1, position + 1):
            j = where.get((article, near))
            if j is not None:
                adjusted[j] -= penalty
    return picked + [i for i in by_score if free[i]]


def reserve_outlets(order: list[int], sources: list[str | None], groups: list[list[str]], k: int,
                    quota: int) -> list[int]:
    """The top ``k`` of ``order`` (candidate indices, best first) with, for each outlet group the
    question names, its ``quota`` best candidates among them (fewer if k is short), in the same order.

    A comparison names two or three outlets, and the reranker may fill the top k with one of them;
    the chunks let in replace the lowest-ranked others.
    """
    if not groups or quota <= 0:
        return order[:k]
    per_group = min(quota, k // len(groups))
    chosen: list[int] = []
    for group in groups:
        members = set(group)
        chosen += [i for i in order if sources[i] in members and i not in chosen][:per_group]
    taken = set(chosen)
    for i in order:
        if len(taken) >= k:
            break
        taken.add(i)
    return [i for i in order if i in taken]


def keep_tops(order: list[str], tops: list[str], k: int) -> list[str]:
    """The first ``k`` of ``order`` with every id of ``tops`` in it (as far as k allows): ``tops`` that
    fell below k take the last places, in their order, from ids not in ``tops``."""
    best = order[:k]
    keep = set(tops)
    missing = [cid for cid in tops if cid not in best][:k]
    if not missing:
        return best
    room = k - len(best)
    removable = [cid for cid in reversed(best) if cid not in keep][:max(0, len(missing) - room)]
    gone = set(removable)
    return [cid for cid in best if cid not in gone] + missing[:room + len(removable)]


def chunk_places(chunks: list[StoredChunk]) -> list[tuple[str, int]]:
    """(article id, position in the article) of each chunk, for :func:`space_neighbours`."""
    return [(c.metadata.get("article_id", c.id), int(c.metadata.get("position", 0))) for c in chunks]


def logit(probabilities: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def fuse(rankings: dict[str, list[str]], weights: dict[str, float], rrf_k: int) -> dict[str, float]:
    """Weighted reciprocal rank fusion: sum of weight / (rrf_k + rank) over the rankings."""
    fused: dict[str, float] = {}
    for name, ids in rankings.items():
        weight = weights.get(name, 1.0)
        for rank, chunk_id in enumerate(ids, start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + weight / (rrf_k + rank)
    return fused


def lexical_confidence(scores: list[float], full_peak: float, floor: float) -> float:
    """How far to trust BM25 for one question: the share of their weight its rankings keep.

    ``scores`` are the BM25 scores of the top hits, best first. When the best chunk scores at least
    ``full_peak`` times the tenth, some chunk holds the question's rare words and BM25 keeps its full
    weight; as the top ten flatten towards equal scores (a paraphrase matching only common words
    everywhere, or a question whose words are spread over many chunks), the share falls linearly
    to ``floor``. Fewer than ten hits, or ``full_peak`` at most 1: full weight.
    """
    if full_peak <= 1.0 or len(scores) < 10 or scores[9] <= 0:
        return 1.0
    peak = scores[0] / scores[9]
    return floor + (1.0 - floor) * min(1.0, max(0.0, (peak - 1.0) / (full_peak - 1.0)))


def _around(day: str, days: int) -> tuple[str, str]:
    from datetime import date, timedelta

    d = date.fromisoformat(day)
    return (d - timedelta(days=days)).isoformat(), (d + timedelta(days=days)).isoformat()


def _order(scores: dict[str, float]) -> list[str]:
    return sorted(scores, key=lambda cid: (-scores[cid], cid))


@dataclass
class _Ranking:
    ids: list[str]
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    chunks: dict[str, StoredChunk] = field(default_factory=dict)


@dataclass
class Fused:
    """What fusion produced for one question, before the final ordering."""

    plan: QueryPlan
    vectors: np.ndarray | None  # the question's embedding, then its clauses' (when asked for)
    scores: dict[str, float]  # fused score per chunk id
    ranking: _Ranking  # per-chunk scores and ranks from every route, chunks already fetched
    clause_hits: list[str] = field(default_factory=list)  # found for a clause alone (see _clause_routes)


class HybridRetriever:
    def __init__(self, store: ChunkStore, bm25: BM25Index, embedder: Embedder, config: RetrievalConfig,
                 reranker: Reranker | None = None):
        if config.mode not in ("hybrid", "dense", "bm25"):
            raise ValueError(f"retrieval mode must be hybrid, dense or bm25, got {config.mode!r}")
        self.store = store
        self.bm25 = bm25
        self.embedder = embedder
        self.config = config
        self.reranker = reranker

    def search(self, query: str, k: int = 10, filters: SearchFilters | None = None) -> list[Passage]:
        """The ``k`` best passages for a bare query (read for outlets and days, no conversation)."""
        return self.retrieve(self.plan(query), k, filters)

    def plan(self, query: str) -> QueryPlan:
        return analyze(query.strip(), self.bm25.sources())

    def retrieve(self, plan: QueryPlan, k: int = 10, filters: SearchFilters | None = None) -> list[Passage]:
        """The ``k`` best passages for a question already read by the QueryAnalyzer."""
        rerank = self.reranker is not None and self.config.mode == "hybrid"  # it reads dense and lexical signals
        found = self.fused_candidates(plan, filters, clauses=rerank)
        if found is None:
            return []
        if rerank:
            best = self._rerank(found, k)
        else:
            found.scores = self._fresher(found.scores, found.ranking, plan)
            best = self._diversify(found.scores, found.ranking, k)
            if self.config.route_tops and self.config.mode == "hybrid":
                best = keep_tops(best, self._route_tops(found), k)
        ranking = found.ranking
        missing = [cid for cid in best if cid not in ranking.chunks]
        for chunk in self.store.get_chunks(missing):
            ranking.chunks[chunk.id] = chunk
        passages = []
        for cid in best:
            if cid in ranking.chunks:
                scores = ranking.scores.setdefault(cid, {})
                fused = found.scores.get(cid, 0.0)  # 0 for a chunk only a clause's own search found
                scores["fused"] = round(fused, 6)
                score = scores.get("rerank", fused)
                passages.append(to_passage(ranking.chunks[cid], score=score, scores=scores))
        return passages

    def fused_candidates(self, query: "str | QueryPlan", filters: SearchFilters | None = None,
                         clauses: bool = False) -> "Fused | None":
        """Every route's rankings fused into one score per chunk (None for an empty query or index).

        With ``clauses``, the question's clauses are embedded too (the reranker reads them).
        """
        plan = self.plan(query) if isinstance(query, str) else query
        query = plan.query.strip()
        if not query or (not self.bm25.state().ids and self.store.count() == 0):
            return None
        filters = filters or SearchFilters()
        vectors = None
        if self.config.mode != "bm25":
            vectors = self.embedder.embed([query] + (plan.clauses if clauses else []))  # one batch
        vector = vectors[0] if vectors is not None else None
        base = self._rank(query, vector, filters)
        rankings, weights = {"all": base.ids}, {"all": 1.0}
        for name, routed_filters in self._routes(plan, filters):
            routed = self._rank(query, vector, routed_filters)
            rankings[name], weights[name] = routed.ids, self.config.source_weight
            base.chunks.update(routed.chunks)
            for cid, s in routed.scores.items():
                base.scores.setdefault(cid, {}).update({f"{key}@{name}": v for key, v in s.items() if key.endswith("rank")})
        if len(rankings) > 1:
            fused = fuse(rankings, weights, self.config.rrf_k)
        else:
            fused = {cid: base.scores[cid]["fused"] for cid in base.ids}
        hits = self._clause_routes(plan, vectors, filters, base) if clauses else []
        return Fused(plan, vectors, fused, base, hits)

    def _clause_routes(self, plan: QueryPlan, vectors, filters: SearchFilters, ranking: _Ranking) -> list[str]:
        """The best chunks for each clause on its own, within the outlets that clause names.

        "… while the TechCrunch article discusses X": the whole question may rank TechCrunch's
        chunk about X low, because the other claims dominate it; the clause alone finds it. These
        chunks join the reranker's pool (not the fusion) with their ranks as signals.
        """
        m = self.config.clause_candidates
        if m <= 0 or vectors is None or self.config.mode != "hybrid":
            return []
        found: list[str] = []
        for j, clause in enumerate(plan.clauses):
            named = plan.clause_sources[j] if j < len(plan.clause_sources) else []
            routed = filters.model_copy(update={"sources": named}) if named and not filters.sources else filters
            dense = self.dense(vectors[1 + j], m, routed)
            lexical = self.bm25.search_sentences(clause, m, routed)
            for key, ids in (("clause_dense_rank", [cid for cid, _ in dense]), ("clause_sentence_rank",
                                                                                 [cid for cid, _ in lexical])):
                for rank, cid in enumerate(ids, start=1):
                    scores = ranking.scores.setdefault(cid, {})
                    scores[key] = min(scores.get(key, rank), rank)
                    found.append(cid)
        return list(dict.fromkeys(found))

    def candidate_pool(self, found: "Fused") -> Pool:
        """The best ``rerank_pool`` fused candidates, with their embeddings and ranks."""
        ids = self._diversify(found.scores, found.ranking, self.config.rerank_pool)
        taken = set(ids)
        ids += [cid for cid in found.clause_hits if cid not in taken]
        chunks, embeddings = self.store.get_with_embeddings(ids)
        sentences = self.store.sentence_vectors_of(chunks)
        return Pool(chunks, embeddings, [found.scores.get(c.id, 0.0) for c in chunks],
                    [found.ranking.scores.get(c.id, {}) for c in chunks], [sentences.get(c.id) for c in chunks])

    def bridge(self, plan: QueryPlan, pool: Pool) -> Bridge | None:
        """For a who/which question, the name its best candidates share, added to each clause and embedded."""
        if not asks_for_name(plan.query):
            return None
        name = shared_name(plan.query, pool.chunks)
        if name is None:
            return None
        clauses = [f"{clause} {name}" for clause in (plan.clauses or [plan.query])]
        return Bridge(name, clauses, self.embedder.embed(clauses))

    def _rerank(self, found: "Fused", k: int) -> list[str]:
        pool = self.candidate_pool(found)
        probabilities = self.reranker.score(found.plan, pool, found.vectors, self.bridge(found.plan, pool))
        order = space_neighbours(logit(probabilities), chunk_places(pool.chunks), self.config.neighbour_penalty, k)
        sources = [chunk.metadata.get("source") for chunk in pool.chunks]
        ranking = found.ranking
        best = []
        for i in reserve_outlets(order, sources, found.plan.source_groups, k, self.config.outlet_quota):
            chunk = pool.chunks[i]
            ranking.chunks[chunk.id] = chunk
            ranking.scores.setdefault(chunk.id, {})["rerank"] = round(float(probabilities[i]), 6)
            best.append(chunk.id)
        return best

    def _fresher(self, fused: dict[str, float], ranking: "_Ranking", plan: QueryPlan) -> dict[str, float]:
        """``fused`` with newer articles ranked higher, when the question asks for the newest coverage (or a
        general decay is set): each score halves per half-life of age before the reference date
        (undated articles count as the oldest candidate; articles after that date as new)."""
        asks = bool(plan.timeframe and plan.timeframe.latest)
        half_life = self.config.recency_half_life_days if asks else self.config.general_half_life_days
        if half_life <= 0 or len(fused) < 2:
            return fused
        ids = list(fused)
        published = self.bm25.published_ts(ids).astype(np.float64)
        reference = plan.reference_date or date.today()
        now = datetime(reference.year, reference.month, reference.day, 23, 59, 59, tzinfo=timezone.utc).timestamp()
        age = np.clip(now - published, 0, None) / 86400.0
        dated = published >= 0
        if not dated.any():
            return fused
        age[~dated] = age[dated].max()
        factor = 0.5 ** (age / half_life)
        factor /= factor.max()  # relative to the newest candidate: scores stay comparable in scale
        plan.notes["recency"] = {"reference_date": reference.isoformat(), "half_life_days": half_life,
                                 "asked": asks}
        for cid, f in zip(ids, factor):
            ranking.scores.setdefault(cid, {})["recency"] = round(float(f), 6)
        return {cid: fused[cid] * float(f) for cid, f in zip(ids, factor)}

    def _route_tops(self, found: "Fused") -> list[str]:
        """The best ``route_tops`` chunks of the dense and of the BM25 ranking, best fused first: what one
        ranking is most sure of is not lost when the other rankings outvote it."""
        n, scores = self.config.route_tops, found.ranking.scores
        tops = [cid for cid, s in scores.items()
                if s.get("dense_rank", n + 1) <= n or s.get("bm25_rank", n + 1) <= n]
        return sorted(tops, key=lambda cid: -found.scores.get(cid, 0.0))

    def _diversify(self, fused: dict[str, float], ranking: "_Ranking", k: int) -> list[str]:
        """Top k after demoting repeated chunks of one article (multi-hop evidence spans articles)."""
        decay = self.config.article_decay
        if decay >= 1.0:
            return _order(fused)[:k]
        article_of = {cid: cid.rsplit(":", 1)[0] for cid in fused}
        seen: dict[str, int] = {}
        adjusted: dict[str, float] = {}
        for cid in _order(fused):
            n = seen.get(article_of[cid], 0)
            adjusted[cid] = fused[cid] * decay**n
            seen[article_of[cid]] = n + 1
        return _order(adjusted)[:k]

    def _routes(self, plan: QueryPlan, filters: SearchFilters) -> list[tuple[str, SearchFilters]]:
        """A restricted search for each outlet and each day the question names.

        Outlets named by the user's filters are not second-guessed; neither are their dates.
        """
        cfg = self.config
        if not (cfg.source_routing or cfg.date_routing):
            return []
        routes = []
        if cfg.source_routing and not filters.sources:
            routes += [(f"source:{'|'.join(g)}", filters.model_copy(update={"sources": g})) for g in plan.source_groups]
        if self.config.date_routing and not (filters.since or filters.until):
            for day in plan.dates:
                lo, hi = _around(day, self.config.date_window_days)
                routes.append((f"day:{day}", filters.model_copy(update={"since": lo, "until": hi})))
                if cfg.source_routing and not filters.sources:
                    routes += [(f"source:{'|'.join(g)}@day:{day}", filters.model_copy(
                        update={"sources": g, "since": lo, "until": hi})) for g in plan.source_groups]
        return routes

    def dense(self, vector, n: int, filters: SearchFilters) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the ``n`` chunks most similar to ``vector`` within ``filters``,
        best first.

        Exact, over the chunk vectors held with the lexical index, up to EXACT_DENSE_MAX_CHUNKS
        chunks (and always when filtered: Chroma's filtered search grows with the whole collection).
        The exact search also makes one question rank the same in every process: Chroma's HNSW graph
        is rebuilt from its log on load, and two processes can get a different top 100 from it (1 of
        50 queries here) and so a different fused order. Past that size, or when the lexical index
        holds no vectors (segments saved before it kept them), Chroma's HNSW index.
        """
        if not filters.is_empty() or len(self.bm25.state().ids) <= EXACT_DENSE_MAX_CHUNKS:
            found = self.bm25.dense_search(vector, n, filters)
            if found is not None:
                return found
        return [(chunk.id, sim) for chunk, sim in self.store.query(vector, n, filters.chroma_where())]

    def sentence_hits(self, vector, chunk_ids: list[str]) -> list[tuple[str, float]]:
        """``chunk_ids`` (the other rankings' candidates) ranked by their sentence most similar to ``vector``.

        A fact is usually one sentence; in a chunk's single vector it is averaged with everything
        else the chunk says, so a paraphrased question may match the sentence better than the chunk.
        Only the candidates are scored, exactly, from their stored sentence vectors: a search over
        every sentence of the index ranked the same within 0.005 on every question set (docs/research/speed.md,
        "Sentence vectors") and held a second vector index 7-9 times the chunks' in memory. Chunks
        without sentence vectors are left out of this ranking.
        """
        vectors = self.store.sentence_vectors(chunk_ids)
        query = np.asarray(vector, dtype=np.float32)
        best = {cid: float(np.max(m @ query)) for cid, m in vectors.items() if len(m)}
        return sorted(best.items(), key=lambda item: -item[1])

    def _rank(self, query: str, vector, filters: SearchFilters) -> _Ranking:
        cfg = self.config
        ranking = _Ranking(ids=[])
        lists: dict[str, list[str]] = {}
        if vector is not None:
            hits = self.dense(vector, cfg.candidates, filters)
            lists["dense"] = [cid for cid, _ in hits]
            for rank, (cid, sim) in enumerate(hits, start=1):
                ranking.scores.setdefault(cid, {}).update(dense=round(sim, 6), dense_rank=rank)
        lexical = 1.0
        if cfg.mode in ("hybrid", "bm25"):
            hits = self.bm25.search(query, cfg.candidates, filters)
            lists["bm25"] = [cid for cid, _ in hits]
            if cfg.mode == "hybrid":
                lexical = lexical_confidence([score for _, score in hits[:10]], cfg.lexical_full_peak, cfg.lexical_floor)
            for rank, (cid, score) in enumerate(hits, start=1):
                ranking.scores.setdefault(cid, {}).update(bm25=round(score, 6), bm25_rank=rank)
        if cfg.mode in ("hybrid", "bm25") and cfg.sentence_weight > 0:
            hits = self.bm25.search_sentences(query, cfg.candidates, filters)
            lists["sentence"] = [cid for cid, _ in hits]
            for rank, (cid, score) in enumerate(hits, start=1):
                ranking.scores.setdefault(cid, {}).update(sentence_bm25=round(score, 6), sentence_rank=rank)
        if vector is not None and cfg.dense_sentence_weight > 0:
            hits = self.sentence_hits(vector, list(dict.fromkeys(cid for ids in lists.values() for cid in ids)))
            lists["dense_sentence"] = [cid for cid, _ in hits]
            for rank, (cid, sim) in enumerate(hits, start=1):
                ranking.scores.setdefault(cid, {}).update(dense_sentence=round(sim, 6), dense_sentence_rank=rank)
        weights = {"dense": cfg.dense_weight, "bm25": cfg.bm25_weight * lexical,
                   "sentence": cfg.sentence_weight * lexical, "dense_sentence": cfg.dense_sentence_weight}
        fused = fuse(lists, weights, cfg.rrf_k)
        ranking.ids = _order(fused)
        for cid, score in fused.items():
            ranking.scores[cid]["fused"] = round(score, 6)
        return ranking
