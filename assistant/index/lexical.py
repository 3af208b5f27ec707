"""BM25 over the chunks of the Chroma collection, rebuilt whenever the collection changes.

Chroma's local mode has no sparse index, so this one is derived from the collection and saved
under ``data_dir/bm25/<collection>`` with the collection revision it was built from.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from assistant.filters import SearchFilters
from assistant.text.sentences import distinct_sentences
from assistant.index.store import ChunkStore, StoredChunk


def lexical_text(title: str, source: str, text: str) -> str:
    """What BM25 sees: the chunk with its article's title and outlet."""
    return f"{title}\n{source}\n{text}"


class BM25Index:
    def __init__(self, store: ChunkStore, folder: Path):
        self.store = store
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._revision: int | None = None
        self._model = None
        self._sentence_model = None
        self._sentence_chunks: list[list[int]] = []  # sentence -> indices of the chunks holding it
        self._ids: list[str] = []
        self._metas: list[dict] = []
        self._stemmer = None
        self._sources: frozenset[str] | None = None
        self._row_of: dict[str, int] | None = None
        self._sentence_pairs: tuple[np.ndarray, np.ndarray] | None = None  # (sentence, chunk) index pairs
        self._idf: np.ndarray | None = None  # per word of the sentence index, log(sentences / sentences with it)
        self._columns: dict[str, np.ndarray] | None = None  # source, category, published_ts of every chunk
        self._score_cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    # --- freshness -----------------------------------------------------------------------
    def ensure_fresh(self) -> None:
        """Load or rebuild so that the index matches the collection's current revision."""
        revision = self.store.revision
        with self._lock:
            if self._revision == revision:
                return
            self._sources = None
            self._row_of = None
            self._sentence_pairs = None
            self._idf = None
            self._columns = None
            with self._cache_lock:
                self._score_cache.clear()
            if not self._load(revision):
                self._build(revision)

    def _tokenize(self, texts: list[str]):
        import bm25s

        if self._stemmer is None:
            try:
                import Stemmer

                self._stemmer = Stemmer.Stemmer("english").stemWords
            except ImportError:  # pragma: no cover - optional speed-up
                self._stemmer = False
        return bm25s.tokenize(texts, stopwords="en", stemmer=self._stemmer or None, show_progress=False,
                              return_ids=False)

    def _build(self, revision: int) -> None:
        import bm25s

        chunks: list[StoredChunk] = list(self.store.iter_chunks())
        self._ids = [c.id for c in chunks]
        self._metas = [c.metadata for c in chunks]
        self._model = None
        if chunks:
            texts = [lexical_text(m.get("title", ""), m.get("source", ""), c.text) for c, m in zip(chunks, self._metas)]
            self._model = bm25s.BM25(k1=1.2, b=0.75)
            self._model.index(self._tokenize(texts), show_progress=False)
            sentences, self._sentence_chunks = _sentences(chunks)
            self._sentence_model = bm25s.BM25(k1=1.2, b=0.75)
            self._sentence_model.index(self._tokenize(sentences), show_progress=False)
        self._revision = revision
        self._save(revision)

    def _save(self, revision: int) -> None:
        tmp = self.folder.with_name(self.folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._model is not None:
            self._model.save(str(tmp / "bm25"))
            self._sentence_model.save(str(tmp / "bm25_sentences"))
        state = {"revision": revision, "ids": self._ids, "metas": self._metas, "sentence_chunks": self._sentence_chunks}
        (tmp / "state.json").write_text(json.dumps(state))
        shutil.rmtree(self.folder, ignore_errors=True)
        tmp.rename(self.folder)

    def _load(self, revision: int) -> bool:
        import bm25s

        state_file = self.folder / "state.json"
        try:
            state = json.loads(state_file.read_text())
        except (OSError, ValueError):
            return False
        if state.get("revision") != revision or "sentence_chunks" not in state:
            return False
        self._ids, self._metas, self._sentence_chunks = state["ids"], state["metas"], state["sentence_chunks"]
        self._model = bm25s.BM25.load(str(self.folder / "bm25")) if self._ids else None
        self._sentence_model = bm25s.BM25.load(str(self.folder / "bm25_sentences")) if self._ids else None
        self._revision = revision
        return True

    def sources(self) -> frozenset[str]:
        """The outlets of the indexed chunks."""
        self.ensure_fresh()
        if self._sources is None:
            self._sources = frozenset(m.get("source") for m in self._metas if m.get("source"))
        return self._sources

    # --- search --------------------------------------------------------------------------
    def search(self, query: str, n: int, filters: SearchFilters | None = None) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) pairs, best first, only positive scores."""
        scores = np.where(self._mask(filters), self.chunk_scores(query), 0.0)
        return [(self._ids[i], float(scores[i])) for i in _top(scores, n)]

    def search_sentences(self, query: str, n: int, filters: SearchFilters | None = None) -> list[tuple[str, float]]:
        """Chunks ranked by their best-matching single sentence: (chunk id, sentence BM25 score)."""
        scores = np.where(self._mask(filters), self.best_sentence_scores(query), 0.0)
        return [(self._ids[i], float(scores[i])) for i in _top(scores, n)]

    # --- whole-index scores ---------------------------------------------------------------
    def rows(self, ids: list[str]) -> np.ndarray:
        """Positions of ``ids`` in the score arrays below (-1 for an id not indexed)."""
        self.ensure_fresh()
        if self._row_of is None:
            self._row_of = {cid: i for i, cid in enumerate(self._ids)}
        return np.array([self._row_of.get(cid, -1) for cid in ids], dtype=np.int64)

    def chunk_scores(self, text: str) -> np.ndarray:
        """BM25 score of every indexed chunk for ``text`` (read-only; zeros when nothing matches)."""
        return self._cached("chunks", text)

    def best_sentence_scores(self, text: str) -> np.ndarray:
        """For every indexed chunk, the BM25 score of its sentence that best matches ``text`` (read-only)."""
        return self._cached("sentences", text)

    def sentence_overlap(self, text: str) -> np.ndarray:
        """For every indexed chunk, the idf weight of the words of ``text`` that its most overlapping
        sentence contains (the sum of their idf over the sentence index).

        Unlike BM25, a word counts once and a long sentence is not marked down: a fact a question
        restates is often one long sentence holding many of its rare words.
        """
        return self._cached("overlap", text)

    def _cached(self, kind: str, text: str) -> np.ndarray:
        """Scores of the whole index, kept for the last few texts: one question is scored for every
        route (outlet, day) and again by the reranker, always against the same index."""
        self.ensure_fresh()
        key = (self._revision, kind, text)
        with self._cache_lock:
            if key in self._score_cache:
                self._score_cache.move_to_end(key)
                return self._score_cache[key]
        score = {"chunks": self._score_chunks, "sentences": self._score_sentences, "overlap": self._overlap}[kind]
        scores = score(text)
        scores.flags.writeable = False
        with self._cache_lock:
            self._score_cache[key] = scores
            while len(self._score_cache) > 32:
                self._score_cache.popitem(last=False)
        return scores

    def _score_chunks(self, text: str) -> np.ndarray:
        tokens = self._tokenize([text])[0] if self._model is not None else []
        if not tokens:
            return np.zeros(len(self._ids), dtype=np.float32)
        return np.asarray(self._model.get_scores(tokens), dtype=np.float32)

    def _score_sentences(self, text: str) -> np.ndarray:
        best = np.zeros(len(self._ids), dtype=np.float32)
        tokens = self._tokenize([text])[0] if self._sentence_model is not None else []
        if not tokens:
            return best
        scores = np.asarray(self._sentence_model.get_scores(tokens), dtype=np.float32)
        sentences, chunks = self._pairs()
        np.maximum.at(best, chunks, scores[sentences])
        return best

    def _pairs(self) -> tuple[np.ndarray, np.ndarray]:
        if self._sentence_pairs is None:
            sizes = [len(holders) for holders in self._sentence_chunks]
            self._sentence_pairs = (np.repeat(np.arange(len(sizes)), sizes),
                                    np.fromiter((c for h in self._sentence_chunks for c in h), dtype=np.int64))
        return self._sentence_pairs

    def _overlap(self, text: str) -> np.ndarray:
        best = np.zeros(len(self._ids), dtype=np.float32)
        tokens = self._tokenize([text])[0] if self._sentence_model is not None else []
        if not tokens:
            return best
        vocab, postings = self._sentence_model.vocab_dict, self._sentence_model.scores
        indptr, indices = postings["indptr"], postings["indices"]
        if self._idf is None:
            self._idf = np.log(len(self._sentence_chunks) / np.maximum(np.diff(indptr), 1))
        found = np.zeros(len(self._sentence_chunks), dtype=np.float32)
        for t in {vocab[t] for t in tokens if t in vocab and vocab[t] < len(indptr) - 1}:
            found[indices[indptr[t]:indptr[t + 1]]] += self._idf[t]
        sentences, chunks = self._pairs()
        np.maximum.at(best, chunks, found[sentences])
        return best

    def _mask(self, filters: SearchFilters | None) -> np.ndarray:
        """Which chunks pass ``filters`` (the same rules as :meth:`SearchFilters.matches`, on whole columns)."""
        if filters is None or filters.is_empty():
            return np.ones(len(self._metas), dtype=bool)
        if self._columns is None:
            self._columns = {
                "source": np.array([m.get("source") or "" for m in self._metas], dtype=object),
                "category": np.array([m.get("category") or "" for m in self._metas], dtype=object),
                "published_ts": np.array([m.get("published_ts", -1) for m in self._metas], dtype=np.int64),
            }
        cols = self._columns
        mask = np.ones(len(self._metas), dtype=bool)
        if filters.sources:
            mask &= np.isin(cols["source"], list(filters.sources))
        if filters.categories:
            mask &= np.isin(cols["category"], list(filters.categories))
        if filters.since_ts is not None:
            mask &= cols["published_ts"] >= filters.since_ts
        if filters.until_ts is not None:
            mask &= (cols["published_ts"] >= 0) & (cols["published_ts"] <= filters.until_ts)
        return mask


def _top(scores: np.ndarray, n: int) -> list[int]:
    """Indices of the n best positive scores, best first; equal scores in index order."""
    n = min(n, len(scores))
    if n <= 0:
        return []
    top = np.sort(np.argpartition(-scores, n - 1)[:n])  # ties then keep index order (earlier chunk first)
    top = top[np.argsort(-scores[top], kind="stable")]
    return [int(i) for i in top if scores[i] > 0]


def _sentences(chunks: list[StoredChunk]) -> tuple[list[str], list[list[int]]]:
    """Each distinct sentence of the chunks once, with the chunks (overlap!) that contain it."""
    texts, rows = distinct_sentences((c.metadata["article_id"], c.metadata.get("start", 0), c.text) for c in chunks)
    holders: list[list[int]] = [[] for _ in texts]
    for ci, sentence_rows in enumerate(rows):
        for r in sentence_rows:
            holders[r].append(ci)
    return texts, holders
