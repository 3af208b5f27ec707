"""BM25 over the chunks of the Chroma collection, rebuilt whenever the collection changes.

Chroma's local mode has no sparse index, so this one is derived from the collection and saved
under ``data_dir/bm25/<collection>`` with the collection revision it was built from.

Readers never see it change under them: everything BM25 knows (ids, metadata, both models and
the arrays derived from them) is one immutable :class:`LexicalState`, built whole and then swapped
in by one assignment. A request pins one state (:meth:`BM25Index.pinned`) and uses it to the end,
whatever is swapped in meanwhile. When another process changed the collection, a new state is
built in the background; a request waits for it at most ``catch_up_seconds`` and otherwise
answers from the state it has (ids that Chroma no longer holds are skipped by the retriever).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.filters import SearchFilters
from assistant.index.store import ChunkStore, StoredChunk
from assistant.text.sentences import distinct_sentences

log = logging.getLogger(__name__)


def lexical_text(title: str, source: str, text: str) -> str:
    """What BM25 sees: the chunk with its article's title and outlet."""
    return f"{title}\n{source}\n{text}"


@dataclass(eq=False)
class LexicalState:
    """Everything one version of the collection gives BM25; never changed after it is built
    (the arrays derived lazily below are computed once, from the state's own fields)."""

    collection_id: str
    revision: int
    settled: bool  # built from a collection no writer was in the middle of
    ids: list[str]
    metas: list[dict]
    model: object | None = None
    sentence_model: object | None = None
    sentence_chunks: list[list[int]] = field(default_factory=list)  # sentence -> indices of the chunks holding it
    built_at: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _derived: dict = field(default_factory=dict, repr=False)
    _scores: OrderedDict = field(default_factory=OrderedDict, repr=False)

    def derived(self, name: str, make):
        value = self._derived.get(name)
        if value is None:
            value = make()
            with self._lock:
                value = self._derived.setdefault(name, value)
        return value


class BM25Index:
    def __init__(self, store: ChunkStore, folder: Path, catch_up_seconds: float = 2.0):
        self.store = store
        self.folder = Path(folder)
        self.catch_up_seconds = catch_up_seconds
        self._state: LexicalState | None = None
        self._build_lock = threading.Lock()  # one build at a time
        self._start_lock = threading.Lock()  # one background catch-up started at a time
        self._building: threading.Thread | None = None
        self._pins = threading.local()
        self._stemmer = None

    # --- which state a reader uses ----------------------------------------------------------------
    @contextlib.contextmanager
    def pinned(self) -> Iterator[LexicalState]:
        """Use one state for everything inside (one request), whatever is swapped in meanwhile."""
        stack = self._pins.__dict__.setdefault("stack", [])
        state = stack[-1] if stack else self._fresh(wait=None)
        stack.append(state)
        try:
            yield state
        finally:
            stack.pop()

    def state(self) -> LexicalState:
        """The pinned state, or the freshest one that can be had without a long wait."""
        stack = getattr(self._pins, "stack", None)
        return stack[-1] if stack else self._fresh(wait=None)

    def ensure_fresh(self) -> None:
        """Load or rebuild so that the index matches the collection's current revision (waits)."""
        self._fresh(wait=True)

    def _fresh(self, wait: bool | None) -> LexicalState:
        """The state for the collection as it is now. ``wait``: True waits for a build, None waits
        only when this process wrote the change (or there is no state yet), else at most
        ``catch_up_seconds``."""
        collection_id, revision, settled = self.store.revision_state()
        state = self._state
        if state is not None and state.collection_id == collection_id and state.revision == revision and (
                state.settled or not settled):
            return state
        if state is None or wait or revision in self.store.written_revisions:
            with self._build_lock:
                current = self._state
                if current is not None and (current.collection_id, current.revision) == (collection_id, revision) \
                        and (current.settled or not settled):
                    return current
                return self._rebuild()
        self._start_background()
        building = self._building
        if building is not None and self.catch_up_seconds > 0:
            building.join(self.catch_up_seconds)
        return self._state

    def _start_background(self) -> None:
        # One starter at a time, and the thread is published only once started: a request that
        # joins it must never see a thread that has not started ("cannot join thread before it
        # is started", seen under load).
        with self._start_lock, contextlib.suppress(RuntimeError):
            if self._building is not None and self._building.is_alive():
                return
            thread = threading.Thread(target=self._background, name="bm25-catch-up", daemon=True)
            thread.start()
            self._building = thread

    def _background(self) -> None:
        try:
            with self._build_lock:
                self._rebuild()
        except Exception:  # noqa: BLE001 - a reader keeps its state; the next request tries again
            log.warning("BM25 catch-up failed; answering from the previous state", exc_info=True)

    def _rebuild(self) -> LexicalState:
        """Build (or load) the state for the current revision and swap it in. Call with _build_lock."""
        state, chunks = self._read_collection()
        if state.settled:
            loaded = self._load(state.collection_id, state.revision)
            if loaded is not None:
                self._state = loaded
                return loaded
        self._index(state, chunks)
        if state.settled:
            try:
                self._save(state)
            except OSError:  # a read-only data dir still answers
                log.warning("could not save the BM25 index under %s", self.folder, exc_info=True)
        self._state = state
        return state

    def _read_collection(self) -> tuple[LexicalState, list[StoredChunk]]:
        """The chunks with the revision they belong to, read in one consistent pass.

        Embedded mode holds the index still meanwhile. With a server, the revision is read before
        and after: a state read while a writer was busy is kept in memory only (not settled)."""
        for _attempt in range(3):
            with self.store.reading():
                before = self.store.revision_state()
                chunks = list(self.store.iter_chunks())
                after = self.store.revision_state()
            if after == before:
                break
        collection_id, revision, settled = after
        settled = settled and after == before
        return LexicalState(collection_id, revision, settled, [c.id for c in chunks], [c.metadata for c in chunks]), chunks

    def _index(self, state: LexicalState, chunks: list[StoredChunk]) -> None:
        import bm25s

        if not chunks:
            return
        texts = [lexical_text(m.get("title", ""), m.get("source", ""), c.text) for c, m in zip(chunks, state.metas)]
        model = bm25s.BM25(k1=1.2, b=0.75)
        model.index(self._tokenize(texts), show_progress=False)
        sentences, state.sentence_chunks = _sentences(chunks)
        sentence_model = bm25s.BM25(k1=1.2, b=0.75)
        sentence_model.index(self._tokenize(sentences), show_progress=False)
        state.model, state.sentence_model = model, sentence_model

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

    # --- on disk: one folder per (collection, revision), written whole then renamed into place ------
    def _place(self, collection_id: str, revision: int) -> Path:
        return self.folder / f"{collection_id}-{revision}"

    def _save(self, state: LexicalState) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self._place(state.collection_id, state.revision)
        if (target / "state.json").exists():
            return
        tmp = self.folder / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            if state.model is not None:
                state.model.save(str(tmp / "bm25"))
                state.sentence_model.save(str(tmp / "bm25_sentences"))
            record = {"revision": state.revision, "collection": state.collection_id, "ids": state.ids,
                      "metas": state.metas, "sentence_chunks": state.sentence_chunks}
            (tmp / "state.json").write_text(json.dumps(record))
            try:
                os.rename(tmp, target)  # another process may have saved the same revision: keep theirs
            except OSError:
                pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        for old in self.folder.iterdir():  # older revisions, and the layout before revisions had folders
            if old != target and not old.name.startswith(".tmp-"):
                if old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        old.unlink()

    def _load(self, collection_id: str, revision: int) -> LexicalState | None:
        import bm25s

        place = self._place(collection_id, revision)
        try:
            record = json.loads((place / "state.json").read_text())
            if record.get("revision") != revision or record.get("collection") != collection_id:
                return None
            state = LexicalState(collection_id, revision, True, record["ids"], record["metas"],
                                 sentence_chunks=record["sentence_chunks"])
            if state.ids:
                state.model = bm25s.BM25.load(str(place / "bm25"))
                state.sentence_model = bm25s.BM25.load(str(place / "bm25_sentences"))
            return state
        except (OSError, ValueError, KeyError):  # missing, half-deleted by another process, or corrupt
            return None

    # --- what readers ask -------------------------------------------------------------------------
    def sources(self) -> frozenset[str]:
        """The outlets of the indexed chunks."""
        state = self.state()
        return state.derived("sources", lambda: frozenset(m.get("source") for m in state.metas if m.get("source")))

    def search(self, query: str, n: int, filters: SearchFilters | None = None) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) pairs, best first, only positive scores."""
        state = self.state()
        scores = np.where(_mask(state, filters), self._cached(state, "chunks", query), 0.0)
        return [(state.ids[i], float(scores[i])) for i in _top(scores, n)]

    def search_sentences(self, query: str, n: int, filters: SearchFilters | None = None) -> list[tuple[str, float]]:
        """Chunks ranked by their best-matching single sentence: (chunk id, sentence BM25 score)."""
        state = self.state()
        scores = np.where(_mask(state, filters), self._cached(state, "sentences", query), 0.0)
        return [(state.ids[i], float(scores[i])) for i in _top(scores, n)]

    # --- whole-index scores (one state: pin it around several calls) ----------------------------------
    def rows(self, ids: list[str]) -> np.ndarray:
        """Positions of ``ids`` in the score arrays below (-1 for an id not indexed)."""
        state = self.state()
        row_of = state.derived("row_of", lambda: {cid: i for i, cid in enumerate(state.ids)})
        return np.array([row_of.get(cid, -1) for cid in ids], dtype=np.int64)

    def passing(self, ids: list[str], filters: SearchFilters) -> list[bool]:
        """Whether each chunk of ``ids`` passes ``filters``, from the metadata held in memory (False for
        a chunk this state does not know)."""
        state = self.state()
        mask = _mask(state, filters)
        rows = self.rows(ids)
        return [bool(r >= 0 and mask[r]) for r in rows]

    def published_ts(self, ids: list[str]) -> np.ndarray:
        """Publication time (Unix seconds) of each chunk of ``ids``, from the metadata held in memory
        (-1 for an undated chunk or one this state does not know)."""
        state = self.state()
        column = state.derived("published_ts", lambda: np.array([m.get("published_ts", -1) for m in state.metas],
                                                                 dtype=np.int64))
        rows = self.rows(ids)
        if not len(column):
            return np.full(len(ids), -1, dtype=np.int64)
        return np.where(rows >= 0, column[np.maximum(rows, 0)], -1)

    def chunk_scores(self, text: str) -> np.ndarray:
        """BM25 score of every indexed chunk for ``text`` (read-only; zeros when nothing matches)."""
        return self._cached(self.state(), "chunks", text)

    def best_sentence_scores(self, text: str) -> np.ndarray:
        """For every indexed chunk, the BM25 score of its sentence that best matches ``text`` (read-only)."""
        return self._cached(self.state(), "sentences", text)

    def sentence_overlap(self, text: str) -> np.ndarray:
        """For every indexed chunk, the idf weight of the words of ``text`` that its most overlapping
        sentence contains (the sum of their idf over the sentence index).

        Unlike BM25, a word counts once and a long sentence is not marked down: a fact a question
        restates is often one long sentence holding many of its rare words.
        """
        return self._cached(self.state(), "overlap", text)

    def _cached(self, state: LexicalState, kind: str, text: str) -> np.ndarray:
        """Scores of the whole index, kept (per state) for the last few texts: one question is scored
        for every route (outlet, day) and again by the reranker, always against the same state."""
        key = (kind, text)
        with state._lock:
            if key in state._scores:
                state._scores.move_to_end(key)
                return state._scores[key]
        score = {"chunks": self._score_chunks, "sentences": self._score_sentences, "overlap": self._overlap}[kind]
        scores = score(state, text)
        scores.flags.writeable = False
        with state._lock:
            state._scores[key] = scores
            while len(state._scores) > 32:
                state._scores.popitem(last=False)
        return scores

    def _score_chunks(self, state: LexicalState, text: str) -> np.ndarray:
        tokens = self._tokenize([text])[0] if state.model is not None else []
        if not tokens:
            return np.zeros(len(state.ids), dtype=np.float32)
        return np.asarray(state.model.get_scores(tokens), dtype=np.float32)

    def _score_sentences(self, state: LexicalState, text: str) -> np.ndarray:
        best = np.zeros(len(state.ids), dtype=np.float32)
        tokens = self._tokenize([text])[0] if state.sentence_model is not None else []
        if not tokens:
            return best
        scores = np.asarray(state.sentence_model.get_scores(tokens), dtype=np.float32)
        sentences, chunks = _pairs(state)
        np.maximum.at(best, chunks, scores[sentences])
        return best

    def _overlap(self, state: LexicalState, text: str) -> np.ndarray:
        best = np.zeros(len(state.ids), dtype=np.float32)
        tokens = self._tokenize([text])[0] if state.sentence_model is not None else []
        if not tokens:
            return best
        vocab, postings = state.sentence_model.vocab_dict, state.sentence_model.scores
        indptr, indices = postings["indptr"], postings["indices"]
        idf = state.derived("idf", lambda: np.log(len(state.sentence_chunks) / np.maximum(np.diff(indptr), 1)))
        found = np.zeros(len(state.sentence_chunks), dtype=np.float32)
        for t in {vocab[t] for t in tokens if t in vocab and vocab[t] < len(indptr) - 1}:
            found[indices[indptr[t]:indptr[t + 1]]] += idf[t]
        sentences, chunks = _pairs(state)
        np.maximum.at(best, chunks, found[sentences])
        return best

    # --- the current state's fields (tools and tests read these) ---------------------------------------
    @property
    def _ids(self) -> list[str]:
        return self.state().ids

    @property
    def _metas(self) -> list[dict]:
        return self.state().metas

    @property
    def _revision(self) -> int | None:
        return self._state.revision if self._state is not None else None

    def _mask(self, filters: SearchFilters | None) -> np.ndarray:
        return _mask(self.state(), filters)


def _pairs(state: LexicalState) -> tuple[np.ndarray, np.ndarray]:
    """(sentence, chunk) index pairs of the state's sentence index."""
    def make():
        sizes = [len(holders) for holders in state.sentence_chunks]
        return (np.repeat(np.arange(len(sizes)), sizes),
                np.fromiter((c for h in state.sentence_chunks for c in h), dtype=np.int64))
    return state.derived("pairs", make)


def _mask(state: LexicalState, filters: SearchFilters | None) -> np.ndarray:
    """Which chunks pass ``filters`` (the same rules as :meth:`SearchFilters.matches`, on whole columns)."""
    metas = state.metas
    if filters is None or filters.is_empty():
        return np.ones(len(metas), dtype=bool)
    cols = state.derived("columns", lambda: {
        "source": np.array([m.get("source") or "" for m in metas], dtype=object),
        "category": np.array([m.get("category") or "" for m in metas], dtype=object),
        "published_ts": np.array([m.get("published_ts", -1) for m in metas], dtype=np.int64),
    })
    mask = np.ones(len(metas), dtype=bool)
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
