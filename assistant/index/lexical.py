"""BM25 over the chunks of the Chroma collection, updated by deltas rather than rebuilt.

Chroma's local mode has no sparse index, so this one is derived from the collection. Everything
BM25 knows is one immutable :class:`LexicalState`: ids, metadata and a list of immutable segments
(:mod:`assistant.index.bm25_segments`) with tombstoned articles. When the collection's revision
changes, the article table (per-article content hash) says which articles were added, changed or
deleted; only their chunks are fetched and tokenised, into one new segment, and their old copies
are tombstoned. Segments are merged (no tokenising) when too many or too dead. Scores use live N,
df and avgdl, so they equal a rebuild's exactly, as ``bm25s`` (lucene, k1 1.2, b 0.75) computes them.

On disk (``data_dir/bm25/<collection>``): ``segments/<name>/`` (``.npy`` arrays, read whole and
checked when loaded, and ``segment.json``) and ``manifests/<collection id>-<revision>.json`` (which segments,
which articles dead). A process starts by loading the manifest of the current revision, or the
newest one and a delta from there; another process's write becomes visible by loading its manifest
(segments already held are reused) or, when it saved none, by applying the delta itself. A file
that is damaged (missing, truncated, the wrong size or revision, garbage) is found before anything
of it is used, logged, and replaced: the state is built from Chroma and saved again.

Readers never see a state change under them: a request pins one state (:meth:`BM25Index.pinned`)
and uses it to the end, whatever is swapped in meanwhile. When another process changed the
collection, the new state is made in the background; a request waits for it at most
``catch_up_seconds`` and otherwise answers from the state it has (ids that Chroma no longer holds
are skipped by the retriever). A state read while a writer's section was open is used, not saved.

The segments also keep each chunk's vector, as Chroma holds it: :meth:`BM25Index.dense_search` scores
exactly the chunks a filter passes (an outlet, a date range) in memory, where Chroma's filtered HNSW
search costs time in proportion to the whole collection. Unfiltered dense search stays in Chroma.

The public interface (``search``, ``search_sentences``, ``chunk_scores``, ``best_sentence_scores``,
``sentence_overlap``, ``rows``, ``passing``, ``published_ts``, ``sources``, ``pinned``, ``state``,
``ensure_fresh``, ``dense_search``) says nothing of segments, so a distributed deployment can put Chroma's own
sparse index behind it instead.
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
from collections import Counter, OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.filters import SearchFilters
from assistant.index import bm25_segments as seg
from assistant.index.bm25_segments import lexical_text  # noqa: F401  (what BM25 sees; imported from here too)
from assistant.index.store import STAGED, ChunkStore, StoredChunk
from assistant.text.sentences import distinct_sentences

log = logging.getLogger(__name__)

MAX_SEGMENTS = 4  # more: the small ones are merged into one
MAX_DEAD_SHARE = 0.25  # more of all rows dead, or the small segments as large as the first: merge all
STALE_SEGMENT_SECONDS = 60.0  # an unreferenced segment this old is deleted (younger: a writer may be placing it)


@dataclass(eq=False)
class LexicalState:
    """Everything one version of the collection gives BM25; never changed after it is built
    (the arrays derived lazily below are computed once, from the state's own fields).

    ``ids``/``metas`` are the live chunks sorted by id (so a delta and a rebuild agree row for row);
    ``segments`` with ``dead`` (tombstoned article ids per segment) hold the postings;
    ``articles``: article id -> (content hash of the whole version indexed, "" when what was read
    was not whole; index of its segment)."""

    collection_id: str
    revision: int
    settled: bool  # built from a collection no writer was in the middle of
    ids: list[str]
    metas: list[dict]
    segments: tuple = ()
    dead: tuple = ()
    articles: dict = field(default_factory=dict)
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

    def live(self) -> dict:
        """Live masks per segment, row order, offsets and the live statistics BM25 needs."""
        def make():
            masks = [s.alive(d) for s, d in zip(self.segments, self.dead)]
            chunks, sentences = [m[0] for m in masks], [m[1] for m in masks]
            c_len = sum(int(np.asarray(s.chunks.lengths)[m].sum()) for s, m in zip(self.segments, chunks))
            s_len = sum(int(np.asarray(s.sentences.lengths)[m].sum()) for s, m in zip(self.segments, sentences))
            n_c, n_s = sum(int(m.sum()) for m in chunks), sum(int(m.sum()) for m in sentences)
            c_avg, s_avg = (c_len / n_c if n_c else 1.0), (s_len / n_s if n_s else 1.0)
            return {"chunks": chunks, "sentences": sentences, "n_chunks": n_c, "n_sentences": n_s,
                    "chunk_length": c_len, "sentence_length": s_len,
                    "offsets": np.cumsum([0] + [s.n_chunks for s in self.segments]),
                    "chunk_norm": [seg.length_norm(s.chunks.lengths, c_avg) for s in self.segments],
                    "sentence_norm": [seg.length_norm(s.sentences.lengths, s_avg) for s in self.segments]}
        return self.derived("live", make)

    def perm(self) -> np.ndarray:
        """Row of the state (``ids`` order) -> row of the concatenated segments."""
        return self.derived("perm", lambda: _order(self.segments, self.dead)[0])


def _order(segments, dead) -> tuple[np.ndarray, list[str], list[dict]]:
    """The live rows of ``segments`` sorted by chunk id: (segment rows, ids, metas)."""
    ids = [cid for s in segments for cid in s.ids]
    alive = np.concatenate([s.alive(d)[0] for s, d in zip(segments, dead)]) if segments else np.zeros(0, bool)
    rows = np.flatnonzero(alive)
    order = rows[np.argsort(np.array([ids[r] for r in rows], dtype=object), kind="stable")] if len(rows) else rows
    metas = [m for s in segments for m in s.metas]
    return order, [ids[r] for r in order], [metas[r] for r in order]


def _state(collection_id: str, revision: int, settled: bool, segments: list, dead: list) -> LexicalState:
    perm, ids, metas = _order(segments, dead)
    articles = {aid: (span[0], i) for i, (s, d) in enumerate(zip(segments, dead))
                for aid, span in s.articles.items() if aid not in d}
    state = LexicalState(collection_id, revision, settled, ids, metas, tuple(segments), tuple(dead), articles)
    state._derived["perm"] = perm
    return state


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
        self._loaded: dict[str, seg.Segment] = {}  # segments read from disk, by name (shared by states)
        self.stats: Counter = Counter()  # full_builds, deltas, loads, merges, tokenized_chunks, tokenized_sentences

    # --- which state a reader uses ----------------------------------------------------------------
    @contextlib.contextmanager
    def pinned(self, state: LexicalState | None = None) -> Iterator[LexicalState]:
        """Use one state for everything inside (one request), whatever is swapped in meanwhile
        (``state``: that one, e.g. from :meth:`rebuild`, instead of the current one)."""
        stack = self._pins.__dict__.setdefault("stack", [])
        state = state or (stack[-1] if stack else self._fresh(wait=None))
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
        """Load or update so that the index matches the collection's current revision (waits)."""
        self._fresh(wait=True)

    def _fresh(self, wait: bool | None) -> LexicalState:
        """The state for the collection as it is now. ``wait``: True waits for an update, None waits
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
        """Load, update or (last resort) build the state for the current revision and swap it in.
        Call with _build_lock."""
        collection_id, revision, settled = self.store.revision_state()
        state = self._load(collection_id, revision) if settled else None
        if state is not None:
            self.stats["loads"] += 1
        else:
            base = self._state if self._state is not None and self._state.collection_id == collection_id else None
            if base is None:
                base = self._load(collection_id, None)  # the newest saved revision: a delta from there
                self.stats["loads"] += base is not None
            state = self._delta(base) if base is not None else None
            if state is None:
                state = self._full()
            if state.settled:
                try:
                    self._save(state)
                except OSError:  # a read-only data dir still answers
                    log.warning("could not save the BM25 index under %s", self.folder, exc_info=True)
        self._state = state
        self._loaded = {s.name: s for s in state.segments}
        return state

    # --- making states ----------------------------------------------------------------------------
    def rebuild(self) -> LexicalState:
        """A state built from every chunk of the collection (not swapped in, not counted in
        :attr:`stats`): what a state updated by deltas must equal."""
        stats = self.stats.copy()
        try:
            return self._full()
        finally:
            self.stats = stats

    def _full(self) -> LexicalState:
        """Every chunk, read in one consistent pass, into one segment.

        Embedded mode holds the index still meanwhile. With a server, the revision is read before
        and after: a state read while a writer was busy is kept in memory only (not settled)."""
        for _attempt in range(3):
            with self.store.reading():
                before = self.store.revision_state()
                chunks = list(self.store.iter_chunks(embeddings=True))
                after = self.store.revision_state()
            if after == before:
                break
        collection_id, revision, settled = after
        self.stats["full_builds"] += 1
        segment = self._segment(_by_article(chunks, None))
        return _state(collection_id, revision, settled and after == before, [segment], [frozenset()])

    def _delta(self, base: LexicalState) -> LexicalState | None:
        """``base`` updated to the collection as it is now, from the article table: only added and
        changed articles are read and tokenised. None when the table cannot say (then rebuild)."""
        for _attempt in range(3):
            with self.store.reading():
                before = self.store.revision_state()
                if not self.store.article_table_current():
                    return None
                table = {r.article_id: (r.content_hash, r.chunk_count) for r in self.store.article_records()}
                changed = sorted(aid for aid, (content_hash, _) in table.items()
                                 if not content_hash or base.articles.get(aid, ("",))[0] != content_hash)
                chunks = self._fetch(changed)
                after = self.store.revision_state()
            if after == before:
                break
        collection_id, revision, settled = after
        settled = settled and after == before
        gone = {aid for aid in base.articles if aid not in table} | (set(changed) & base.articles.keys())
        dead = [d | {aid for aid in gone if base.articles[aid][1] == i} for i, d in enumerate(base.dead)]
        segments = list(base.segments)
        added = _by_article(chunks, table)
        if added:
            segments.append(self._segment(added))
            dead.append(frozenset())
        segments, dead = self._compact(segments, dead)
        state = _state(collection_id, revision, settled, segments, dead)
        if settled and len(state.ids) != sum(n for _, n in table.values()):
            log.info("BM25 delta disagrees with the article table (%d chunks, table %d); rebuilding",
                     len(state.ids), sum(n for _, n in table.values()))
            return None
        self.stats["deltas"] += 1
        return state

    def _fetch(self, article_ids: list[str]) -> list[StoredChunk]:
        """The chunks in place of ``article_ids`` (hold :meth:`ChunkStore.reading` around it)."""
        found: list[StoredChunk] = []
        for i in range(0, len(article_ids), 200):
            where = {"article_id": {"$in": article_ids[i:i + 200]}}
            got = self.store._read(lambda h: h.collection.get(where=where,
                                                              include=["documents", "metadatas", "embeddings"]))
            found += [StoredChunk(cid, text or "", meta, vector) for cid, text, meta, vector in
                      zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"])
                      if meta is not None and not meta.get(STAGED)]
        return found

    def _compact(self, segments: list, dead: list) -> tuple[list, list]:
        """Merge when there are too many segments or too many dead rows (no tokenising)."""
        sizes = [s.n_chunks for s in segments]
        dead_rows = sum(s.n_chunks - int(s.alive(d)[0].sum()) for s, d in zip(segments, dead))
        if len(segments) > 1 and (dead_rows > MAX_DEAD_SHARE * sum(sizes) or sum(sizes[1:]) >= sizes[0]):
            self.stats["merges"] += 1
            return [seg.merge(uuid.uuid4().hex, list(zip(segments, dead)))], [frozenset()]
        if len(segments) > MAX_SEGMENTS:
            self.stats["merges"] += 1
            return [segments[0], seg.merge(uuid.uuid4().hex, list(zip(segments[1:], dead[1:])))], \
                [dead[0], frozenset()]
        return segments, dead

    def _segment(self, articles: list[tuple[str, str, list[StoredChunk]]]) -> seg.Segment:
        def counted(texts: list[str]):
            return self._tokenize(texts)
        n_chunks = sum(len(group) for _, _, group in articles)
        self.stats["tokenized_chunks"] += n_chunks
        segment = seg.build(uuid.uuid4().hex, articles, counted, _sentences)
        self.stats["tokenized_sentences"] += segment.n_sentences
        return segment

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

    # --- on disk: immutable segments, one small manifest per revision ---------------------------------
    def _manifest(self, collection_id: str, revision: int) -> Path:
        return self.folder / "manifests" / f"{collection_id}-{revision}.json"

    def _save(self, state: LexicalState) -> None:
        segments_dir, manifests = self.folder / "segments", self.folder / "manifests"
        segments_dir.mkdir(parents=True, exist_ok=True)
        manifests.mkdir(exist_ok=True)
        target = self._manifest(state.collection_id, state.revision)
        if target.exists():
            return
        for segment in state.segments:
            place = segments_dir / segment.name
            if (place / "segment.json").exists():
                os.utime(place)  # referenced again: not stale for another process's clean-up
                continue
            tmp = self.folder / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            try:
                segment.save(tmp)
                os.rename(tmp, place)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        record = {"collection": state.collection_id, "revision": state.revision,
                  "segments": [[s.name, sorted(d)] for s, d in zip(state.segments, state.dead)]}
        tmp = manifests / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.write_text(json.dumps(record))
        os.replace(tmp, target)
        self._clean(target, {s.name for s in state.segments})

    def _clean(self, keep: Path, segments: set[str]) -> None:
        """Older manifests, segments no longer referenced, and the layout before segments."""
        for old in (self.folder / "manifests").iterdir():
            if old != keep and not old.name.startswith(".tmp-"):
                with contextlib.suppress(OSError):
                    old.unlink()
        now = time.time()
        for old in (self.folder / "segments").iterdir():
            with contextlib.suppress(OSError):
                if old.name not in segments and now - old.stat().st_mtime > STALE_SEGMENT_SECONDS:
                    shutil.rmtree(old, ignore_errors=True)
        for old in self.folder.iterdir():
            if old.name not in ("segments", "manifests") and not old.name.startswith(".tmp-"):
                if old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        old.unlink()

    def _load(self, collection_id: str, revision: int | None) -> LexicalState | None:
        """The saved state of ``revision`` (None: the newest saved one of this collection), checked
        before use. A manifest or segment that is damaged (missing, truncated, the wrong size, not
        what it says it is) is logged and deleted, so the state built from Chroma instead is saved in
        its place; None then, as when nothing was saved."""
        place = None
        try:
            if revision is None:
                saved = [(int(p.stem.rsplit("-", 1)[1]), p) for p in (self.folder / "manifests").glob(
                    f"{collection_id}-*.json")]
                if not saved:
                    return None
                revision, place = max(saved)
            else:
                place = self._manifest(collection_id, revision)
                if not place.exists():
                    return None
            try:
                record = json.loads(place.read_text())
                names = [name for name, _ in record["segments"]]
                dead = [frozenset(d) for _, d in record["segments"]]
            except (ValueError, KeyError, TypeError) as error:
                raise seg.SegmentDamaged(place, f"unreadable manifest ({type(error).__name__})") from None
            if record.get("revision") != revision or record.get("collection") != collection_id:
                raise seg.SegmentDamaged(place, f"names revision {record.get('revision')!r} of collection "
                                                f"{record.get('collection')!r}, not revision {revision}")
            segments = [self._loaded.get(name) or seg.Segment.load(self.folder / "segments" / name) for name in names]
            for segment, gone in zip(segments, dead):
                if not gone <= segment.articles.keys():
                    raise seg.SegmentDamaged(place, f"tombstones articles segment {segment.name} does not hold")
            if any(s.vectors is None and s.n_chunks for s in segments):
                log.info("BM25 segments under %s were saved without chunk vectors; building them again", self.folder)
                with contextlib.suppress(OSError):
                    place.unlink()  # so that the state built again is saved in its place
                return None
            return _state(collection_id, revision, True, segments, dead)
        except seg.SegmentDamaged as damage:
            self._discard(place, damage)
            return None
        except OSError:  # a manifest deleted by another process's clean-up meanwhile: build instead
            return None

    def _discard(self, manifest: Path | None, damage: seg.SegmentDamaged) -> None:
        """Log a damaged file and delete it (the manifest, and the segment folder when the damage is
        in one), so the state built from Chroma next is saved, whole, in their place."""
        self.stats["repairs"] += 1
        log.warning("BM25 index file damaged: %s. Rebuilding it from the Chroma collection and saving it again.",
                    damage)
        if manifest is not None:
            with contextlib.suppress(OSError):
                manifest.unlink()
        segments = self.folder / "segments"
        damaged = damage.path if damage.path.parent == segments else damage.path.parent
        if damaged.parent == segments:
            shutil.rmtree(damaged, ignore_errors=True)
            self._loaded.pop(damaged.name, None)

    def verify(self) -> list[str]:
        """Check the files of the state in use against what it holds in memory (sizes and headers,
        no arrays read); a damaged one is logged and the state is saved again from memory. What was
        repaired, one line per file (empty: all was well)."""
        with self._build_lock:
            state = self._state
            if state is None or not state.settled:
                return []
            repaired = []
            for segment in state.segments:
                folder = self.folder / "segments" / segment.name
                try:
                    seg.check_files(folder, segment)
                except seg.SegmentDamaged as damage:
                    self._discard(self._manifest(state.collection_id, state.revision), damage)
                    repaired.append(str(damage))
            place = self._manifest(state.collection_id, state.revision)
            if not repaired and not place.exists():
                repaired.append(f"{place}: missing")
                self.stats["repairs"] += 1
                log.warning("BM25 index file missing: %s. Saving the index again.", place)
            if repaired:
                try:
                    self._save(state)
                except OSError:
                    log.warning("could not save the BM25 index under %s", self.folder, exc_info=True)
            return repaired

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

    def dense_search(self, vector: np.ndarray, n: int, filters: SearchFilters) -> list[tuple[str, float]] | None:
        """(chunk id, cosine similarity) of the ``n`` chunks most similar to ``vector`` among those
        passing ``filters``, best first, computed exactly over the vectors the segments keep (None
        when a segment has none). This replaces Chroma's filtered HNSW search, whose cost grows with
        the whole collection; the rows a filter passes are usually a small part of it."""
        state = self.state()
        if any(s.vectors is None and s.n_chunks for s in state.segments):
            return None
        rows = np.flatnonzero(_mask(state, filters))  # state rows passing, in id order
        if not len(rows) or n <= 0:
            return []
        query = np.asarray(vector, dtype=np.float32)
        at = state.perm()[rows]  # their rows in the concatenated segments
        offsets = state.live()["offsets"]
        part = np.searchsorted(offsets, at, side="right") - 1
        sims = np.empty(len(rows), dtype=np.float32)
        for i, segment in enumerate(state.segments):
            mine = np.flatnonzero(part == i)
            if len(mine):
                local = at[mine] - offsets[i]
                if len(mine) > segment.n_chunks // 2:  # most of the segment: one pass, no gathered copy
                    sims[mine] = (np.asarray(segment.vectors) @ query)[local]
                else:
                    sims[mine] = np.asarray(segment.vectors)[local] @ query
        best = _top_any(sims, n)
        return [(state.ids[rows[i]], float(sims[i])) for i in best]

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

    def _query_tokens(self, state: LexicalState, text: str) -> list[str]:
        return self._tokenize([text])[0] if state.ids else []

    def _score_chunks(self, state: LexicalState, text: str) -> np.ndarray:
        tokens = self._query_tokens(state, text)
        if not tokens:
            return np.zeros(len(state.ids), dtype=np.float32)
        live = state.live()
        parts = [(s.chunks, m, n) for s, m, n in zip(state.segments, live["chunks"], live["chunk_norm"])]
        return np.concatenate(seg.bm25(parts, tokens, live["n_chunks"], live["chunk_length"]))[state.perm()]

    def _score_sentences(self, state: LexicalState, text: str) -> np.ndarray:
        tokens = self._query_tokens(state, text)
        if not tokens:
            return np.zeros(len(state.ids), dtype=np.float32)
        live = state.live()
        parts = [(s.sentences, m, n) for s, m, n in zip(state.segments, live["sentences"], live["sentence_norm"])]
        return self._best_per_chunk(state, seg.bm25(parts, tokens, live["n_sentences"], live["sentence_length"]))

    def _overlap(self, state: LexicalState, text: str) -> np.ndarray:
        tokens = self._query_tokens(state, text)
        if not tokens:
            return np.zeros(len(state.ids), dtype=np.float32)
        live = state.live()
        parts = [(s.sentences, m) for s, m in zip(state.segments, live["sentences"])]
        return self._best_per_chunk(state, seg.overlap(parts, tokens, live["n_sentences"]))

    @staticmethod
    def _best_per_chunk(state: LexicalState, per_sentence: list[np.ndarray]) -> np.ndarray:
        """For every chunk of the state, the best score of the sentences it holds."""
        offsets = state.live()["offsets"]
        best = np.zeros(int(offsets[-1]), dtype=np.float32)
        for s, scores, offset in zip(state.segments, per_sentence, offsets):
            np.maximum.at(best, offset + np.asarray(s.pair_chunk), scores[np.asarray(s.pair_sentence)])
        return best[state.perm()]

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
    return [i for i in _top_any(scores, n) if scores[i] > 0]


def _top_any(scores: np.ndarray, n: int) -> list[int]:
    """Indices of the n highest scores (any sign), best first; equal scores in index order."""
    n = min(n, len(scores))
    if n <= 0:
        return []
    top = np.sort(np.argpartition(-scores, n - 1)[:n])  # ties then keep index order (earlier chunk first)
    return [int(i) for i in top[np.argsort(-scores[top], kind="stable")]]


def _sentences(chunks: list[StoredChunk]) -> tuple[list[str], list[list[int]]]:
    """Each distinct sentence of the chunks once, with the chunks (overlap!) that contain it."""
    texts, rows = distinct_sentences((c.metadata["article_id"], c.metadata.get("start", 0), c.text) for c in chunks)
    holders: list[list[int]] = [[] for _ in texts]
    for ci, sentence_rows in enumerate(rows):
        for r in sentence_rows:
            holders[r].append(ci)
    return texts, holders


def _by_article(chunks: list[StoredChunk], table: dict[str, tuple[str, int]] | None) -> list[tuple[str, str, list]]:
    """(article id, content hash, its chunks in position order), by article id. The hash is the
    version's when the chunks are one whole version (all of its ``chunk_count`` chunks, matching
    the article table when given), else "" (read again at the next update)."""
    groups: dict[str, list[StoredChunk]] = {}
    for chunk in chunks:
        groups.setdefault(str(chunk.metadata.get("article_id", "")), []).append(chunk)
    out = []
    for aid in sorted(groups):
        group = sorted(groups[aid], key=lambda c: (c.metadata.get("position", 0), c.id))
        hashes = {c.metadata.get("content_hash", "") for c in group}
        content_hash = hashes.pop() if len(hashes) == 1 else ""
        whole = all(int(c.metadata.get("chunk_count", -1)) == len(group) for c in group)
        if table is not None:
            whole = whole and table.get(aid) == (content_hash, len(group))
        out.append((aid, content_hash if whole else "", group))
    return out
