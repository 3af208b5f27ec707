"""The Chroma collections: chunks with their embeddings and article metadata, and sentence vectors.

Next to the chunk collection ``NAME`` live the chunks' sentence vectors (retrieval and answers
compare a question with single sentences, because the evidence of a news question is a sentence):
in ``NAME_sentence_sets``, one record per chunk with its matrix packed into the metadata
(:mod:`assistant.index.packing`); an index made before that keeps ``NAME_sentences``, one
record and one HNSW point per sentence, and is read in its own layout until a writer moves it
into the packed one (:meth:`ChunkStore.pack_sentence_vectors`; the server's start and every
ingest do). Sentence
records of an article are written before its chunks and deleted with them; the chunks'
``sentence_vectors`` flag says they are there.

Several processes may use one index at once (``assistant serve`` and ``assistant ingest`` on the
same data directory, or many clients of one Chroma server). What keeps them from hurting each
other (docs/reliability.md has the whole story):

* **Writer sessions.** Every ingest or delete runs inside :meth:`ChunkStore.session`, an exclusive
  lock file per index: writers on one machine take turns. Its writes come in *sections*
  (:meth:`ChunkStore.section`): a section marks the collection ``writing`` (and bumps its
  ``revision``) before its first write and clears the mark (bumping again) after its last, so a
  reader always knows whether what it read was complete, and a crash is seen by the next writer.
* **Embedded Chroma** (``PersistentClient``) keeps each process's vector index in memory and
  never reloads it when another process writes; such a stale client fails ("Error finding id")
  or returns deleted chunks. So in embedded mode every read holds a shared lock (sections hold it
  exclusively) and first compares a generation counter on disk, which every section advances,
  with the one its client was opened at; when they differ it opens a fresh client first.
* **Article updates are atomic**: a changed article's new version is written under *staged* ids
  first, then the old chunks go and the new ones take their ids; readers never see staged
  records, and :meth:`ChunkStore.repair` finishes or rolls back whatever a crash interrupted.
* **A Chroma server that cannot be reached** becomes :class:`IndexUnavailable` naming it.

**The article table** (``NAME_articles``, :mod:`assistant.index.articles`): one record per article
— its fields, content hash, chunk count and body — so that listing, counting and looking up
articles never read every chunk. It follows the chunks' rules: an article's record is written in
the section that writes its chunks (before them for a new article; for a changed one, a staged
record with the staged chunks and the record in place once the new chunks are), deleted after
them, and :meth:`ChunkStore.repair` makes the table say exactly what the chunks say. Readers trust
the table only while the chunk collection's metadata says it is current (``articles_table``: the
table's collection id, ``articles_at``: the revision it was last known complete at, carried
forward by every section that starts on a settled index). An index written before the table
existed, or by a writer that does not keep it, fails that test: readers then derive what they
need from the chunks as before (never an empty list), and the next writer session fills the
table once from the chunks (:meth:`ChunkStore.session`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import logging
import os
import signal
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.errors import ConfigError, IndexUnavailable
from assistant.index import packing
from assistant.index.articles import (PLACEHOLDER_VECTOR, TABLE_SUFFIX, ArticleRecord, record_from_chunks,
                                      staged_record_id)
from assistant.models import Article, Chunk, Passage, iso_to_ts
from assistant.settings import CHROMA_PORT, Settings

log = logging.getLogger(__name__)

_META_FIELDS = ("title", "source", "author", "published_at", "url", "category")
WRITING_KEY = "writing"  # collection metadata: who is writing a section now ("" when settled)
STAGED = "staged"  # chunk and sentence metadata: part of a new version not yet in place
TABLE_ID_KEY = "articles_table"  # collection metadata: id of the article table the next key speaks of
TABLE_AT_KEY = "articles_at"  # collection metadata: the revision the article table was complete at (-1: behind)
SENTENCE_SETS_SUFFIX = "_sentence_sets"  # one record per chunk, its sentence vectors packed
LEGACY_SENTENCES_SUFFIX = "_sentences"  # indexes made before: one record (and HNSW point) per sentence

# Test-only hook: ``ASSISTANT_TEST_CRASH_AT=STEP`` makes the process kill itself (SIGKILL, as
# ``kill -9`` would) the N-th time (``ASSISTANT_TEST_CRASH_AFTER=N``, default 1) it reaches that
# write step. The steps, in the order an update goes through them: ``journal`` (the articles to
# write are journaled, nothing written yet), ``sentences`` (an article's sentence vectors are
# written, its chunks not), ``staged`` (a changed article's new version is complete under staged
# ids), ``delete`` (its old chunks are deleted), ``chunks`` (an article's chunks are written),
# ``prune`` (pruned articles are deleted), ``bump`` (a section's writes are done, the revision
# not bumped), ``deleted`` (deleted articles' chunks are gone, their article records not).
# tests/test_reliability.py and tests/test_article_table.py use it; nothing else sets it.
CRASH_ENV, CRASH_AFTER_ENV = "ASSISTANT_TEST_CRASH_AT", "ASSISTANT_TEST_CRASH_AFTER"
_crash_counts: dict[str, int] = {}


def _packed_record(article_id: str, chunk_id: str, matrix, staged: bool) -> dict:
    """The metadata of a chunk's packed sentence record: its sentence matrix as int8 rows (packing)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    return {"article_id": article_id, "chunk_id": chunk_id, "k": 0, "n": len(matrix), "dim": int(matrix.shape[1]),
            "format": packing.FORMAT, "vectors": packing.pack(matrix), **({STAGED: True} if staged else {})}


def _collection_gone(exc: BaseException) -> bool:
    """Whether ``exc`` is Chroma saying a collection this client had open no longer exists."""
    from chromadb.errors import NotFoundError

    return isinstance(exc, NotFoundError) and "collection" in str(exc).lower()


def crash_point(step: str) -> None:
    """Test-only: die here like ``kill -9`` when ``ASSISTANT_TEST_CRASH_AT`` names ``step``."""
    if os.environ.get(CRASH_ENV) != step:
        return
    _crash_counts[step] = _crash_counts.get(step, 0) + 1
    if _crash_counts[step] >= int(os.environ.get(CRASH_AFTER_ENV) or 1):
        os.kill(os.getpid(), signal.SIGKILL)


# --- clients ---------------------------------------------------------------------------------
_SETTINGS_OF: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # client -> the Settings it was made from
_open_spellings: dict[str, dict[int, int]] = {}  # embedded path -> {spelling: clients open}
_spellings_lock = threading.Lock()


def make_client(settings: Settings):
    """A Chroma client for the configured mode: embedded under data_dir, or a server."""
    client = _new_client(settings, 0)
    _SETTINGS_OF[client] = settings
    return client


def _chroma_path(settings: Settings) -> Path:
    return Path(settings.data_dir).absolute() / "chroma"


def _new_client(settings: Settings, spelling: int):
    """A client; in embedded mode ``spelling`` picks one of several equivalent spellings of the
    path (``PATH``, ``PATH/.``, ``PATH/./.`` …): Chroma keeps one in-memory index per path string
    and process, and a fresh one is needed to see other processes' writes."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    server = settings.chroma_server
    if server is not None:
        try:
            return chromadb.HttpClient(host=server.host, port=server.port, ssl=server.ssl, settings=chroma_settings)
        except Exception as exc:  # chromadb raises plain ValueError/ConnectionError here
            raise unreachable(settings, exc) from exc
    path = _chroma_path(settings)
    path.mkdir(parents=True, exist_ok=True)
    with _spellings_lock:
        counts = _open_spellings.setdefault(str(path), {})
        counts[spelling] = counts.get(spelling, 0) + 1
    try:
        return chromadb.PersistentClient(path=str(path) + "/." * spelling, settings=chroma_settings)
    except Exception:
        _release_spelling(settings, spelling)
        raise


def _free_spelling(settings: Settings) -> int:
    with _spellings_lock:
        counts = _open_spellings.get(str(_chroma_path(settings)), {})
        return next(k for k in range(len(counts) + 2) if not counts.get(k))


def _release_spelling(settings: Settings, spelling: int) -> None:
    with _spellings_lock:
        counts = _open_spellings.get(str(_chroma_path(settings)), {})
        if counts.get(spelling):
            counts[spelling] -= 1


def unreachable(settings: Settings, exc: BaseException | None = None) -> IndexUnavailable:
    """The error for a Chroma server that does not answer, naming it and the fix."""
    why = f" ({exc.__class__.__name__})" if exc is not None else ""
    server = settings.chroma_server
    return IndexUnavailable(
        f"Cannot reach the Chroma server at {server}{why}. Start it with `chroma run --path DIR --port "
        f"{server.port if server else CHROMA_PORT}` (or check ASSISTANT_CHROMA_URL={settings.chroma_url}), or unset "
        "ASSISTANT_CHROMA_URL to use embedded Chroma.")


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says a server did not answer: refused, reset, timed out."""
    seen = 0
    while exc is not None and seen < 8:
        try:
            import httpx

            if isinstance(exc, httpx.TransportError):
                return True
        except ImportError:  # pragma: no cover - httpx comes with chromadb
            pass
        if isinstance(exc, (ConnectionError, TimeoutError, socket.timeout)):
            return True
        if isinstance(exc, OSError) and exc.errno in (errno.ECONNREFUSED, errno.ECONNRESET, errno.EPIPE,
                                                      errno.ETIMEDOUT, errno.EHOSTUNREACH, errno.ENETUNREACH):
            return True
        if isinstance(exc, ValueError) and "could not connect to a chroma server" in str(exc).lower():
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


class _Descriptors:
    """A thread's open lock files, closed when the thread (and so its thread-local data) goes."""

    def __init__(self):
        self.open: dict[str, int] = {}

    def __del__(self):
        for fd in self.open.values():
            with contextlib.suppress(OSError):
                os.close(fd)


@dataclass
class StoredChunk:
    id: str
    text: str
    metadata: dict
    embedding: np.ndarray | None = field(default=None, repr=False, compare=False)  # when it was asked for


@dataclass
class _Handles:
    """One client and its three collections, opened when the generation on disk was ``token``."""

    client: object
    collection: object
    sentences: object
    articles: object
    token: int
    spelling: int = 0
    packed: bool = True  # sentence vectors in NAME_sentence_sets (False: the legacy NAME_sentences)


@dataclass
class ArticleRecords:
    """What the chunk collection holds for one article (see :meth:`ChunkStore.scan`)."""

    final: list[StoredChunk] = field(default_factory=list)
    staged: dict[str, list[StoredChunk]] = field(default_factory=dict)  # content hash -> records

    @property
    def content_hash(self) -> str | None:
        """The hash of the article's version in place, or None when none is complete."""
        return complete_hash(self.final)

    @property
    def sentence_vectors(self) -> bool:
        return bool(self.final) and all(c.metadata.get("sentence_vectors") for c in self.final)

    @property
    def origin(self) -> str:
        return str(self.final[0].metadata.get("origin", "")) if self.final else ""


def complete_hash(records: Sequence[StoredChunk]) -> str | None:
    """The content hash of ``records`` when they are one whole version of an article (every
    position of its ``chunk_count`` present once, one hash), else None."""
    if not records:
        return None
    hashes = {c.metadata.get("content_hash") for c in records}
    counts = {c.metadata.get("chunk_count") for c in records}
    positions = sorted(c.metadata.get("position", -1) for c in records)
    if len(hashes) != 1 or len(counts) != 1 or positions != list(range(len(records))):
        return None
    if counts.pop() != len(records):
        return None
    return hashes.pop()


class ChunkStore:
    """Adapter over one Chroma collection (cosine space, embeddings supplied by us).

    Safe to share between threads, and between processes as the module docstring says.
    """

    def __init__(self, client, collection: str, settings: Settings | None = None):
        self.name = collection
        self.settings = settings or _SETTINGS_OF.get(client) or Settings()
        self.embedded = self.settings.chroma_server is None
        root = Path(self.settings.data_dir).absolute()
        place = self.settings.index_place(collection)
        self.state_dir = root / "index-state" / place  # journal of interrupted writes, writer lock
        self._locks = root / "index-state" / ("chroma" if self.embedded else place)
        self._tls = threading.local()
        self._refresh_lock = threading.Lock()
        self._retired: list[_Handles] = []
        self.written_revisions: set[int] = set()  # revisions this store's own sections produced
        self._listing: tuple[tuple, tuple[ArticleRecord, ...]] | None = None  # (revision state, records)
        self._handles = self._open(client, self._generation() if self.embedded else 0, spelling=0)

    def _open(self, client, token: int, spelling: int) -> _Handles:
        try:
            chunks = client.get_or_create_collection(
                self.name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None,
                metadata={"revision": 0},
            )
            from chromadb.errors import NotFoundError

            try:
                sentences = client.get_collection(f"{self.name}{LEGACY_SENTENCES_SUFFIX}", embedding_function=None)
                packed = False
            except NotFoundError:
                sentences = client.get_or_create_collection(f"{self.name}{SENTENCE_SETS_SUFFIX}",
                                                            embedding_function=None)
                packed = True
            articles = client.get_or_create_collection(f"{self.name}{TABLE_SUFFIX}", embedding_function=None)
        except Exception as exc:
            raise self._translated(exc) from exc
        return _Handles(client, chunks, sentences, articles, token, spelling, packed)

    # --- the current client (tests and tools may use these directly) --------------------------
    @property
    def client(self):
        return self._handles.client

    @property
    def collection(self):
        return self._handles.collection

    @property
    def sentences(self):
        """The collection of sentence vectors (``NAME_sentence_sets``, or ``NAME_sentences`` in an older index)."""
        return self._handles.sentences

    @property
    def packed_sentences(self) -> bool:
        """True when sentence vectors are kept one record per chunk (False: an older index, one per sentence)."""
        return self._handles.packed

    @property
    def article_table(self):
        """The Chroma collection of article records (:mod:`assistant.index.articles`)."""
        return self._handles.articles

    # --- coordination between processes --------------------------------------------------------
    def _lock_file(self, name: str) -> int:
        try:
            return os.open(self._locks / name, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:
            self._locks.mkdir(parents=True, exist_ok=True)
            return os.open(self._locks / name, os.O_RDWR | os.O_CREAT, 0o644)

    def _thread_lock_file(self, name: str) -> int:
        """This thread's descriptor of a lock file, kept open (each thread's own: flock locks belong
        to an open file description, so two threads of one process exclude each other too)."""
        fds = self._tls.__dict__.get("fds")
        if fds is None:
            fds = self._tls.fds = _Descriptors()
        fd = fds.open.get(name)
        if fd is None:
            fd = fds.open[name] = self._lock_file(name)
        return fd

    def _generation(self) -> int:
        try:
            return int((self._locks / "generation").read_text() or 0)
        except (OSError, ValueError):
            return 0

    def _advance_generation(self) -> int:
        value = self._generation() + 1
        self._locks.mkdir(parents=True, exist_ok=True)
        tmp = self._locks / f"generation.{os.getpid()}.{threading.get_ident()}"
        tmp.write_text(str(value))
        os.replace(tmp, self._locks / "generation")
        return value

    def _catch_up(self, force: bool = False) -> None:
        """Open a fresh client when another process (or store) wrote since ours was opened.

        Called with the read or write lock held, so the generation cannot move meanwhile."""
        if not self.embedded:
            return
        generation = self._generation()
        if generation == self._handles.token and not force:
            return
        with self._refresh_lock:
            if generation == self._handles.token and not force:
                return
            spelling = _free_spelling(self.settings)
            fresh = self._open(_new_client(self.settings, spelling), generation, spelling)
            old, self._handles = self._handles, fresh
            # No read of this process can still be using the client before last: every read holds the
            # shared lock, and the generation only moves under the exclusive one.
            self._retired.append(old)
            while len(self._retired) > 1:
                self._close(self._retired.pop(0))

    def _reopen(self) -> None:
        """Look this client's collections up again by name (one was deleted or replaced)."""
        with self._refresh_lock:
            handles = self._handles
            self._handles = self._open(handles.client, handles.token, handles.spelling)

    def _close(self, handles: _Handles) -> None:
        with contextlib.suppress(Exception):
            handles.client.close()
        _release_spelling(self.settings, handles.spelling)

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Hold the index still for several reads (embedded mode: other processes' sections wait).

        Reentrant; inside a writer's section it is a no-op."""
        tls = self._tls
        if getattr(tls, "depth", 0):
            tls.depth += 1
            try:
                yield
            finally:
                tls.depth -= 1
            return
        fd = None
        if self.embedded:
            fd = self._thread_lock_file("rw.lock")
            turnstile = self._thread_lock_file("turnstile.lock")
            fcntl.flock(turnstile, fcntl.LOCK_SH)  # a writer waiting at the turnstile goes before readers
            try:                                  # that come after it
                fcntl.flock(fd, fcntl.LOCK_SH)
            finally:
                fcntl.flock(turnstile, fcntl.LOCK_UN)
        tls.depth, tls.mode = 1, "read"
        try:
            self._catch_up()
            yield
        finally:
            tls.depth, tls.mode = 0, ""
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """The writer's lock: one ingest (or delete, or repair) at a time per index on this machine.

        Reentrant within a thread; other threads and processes wait. On entry, fills the article
        table from the chunks when it is not current (:meth:`_ensure_article_table`)."""
        tls = self._tls
        if getattr(tls, "session", 0):
            tls.session += 1
            try:
                yield
            finally:
                tls.session -= 1
            return
        fd = self._lock_file(f"writer-{self.name}.lock")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            tls.session = 1
            try:
                self._ensure_article_table()
                yield
            finally:
                tls.session = 0
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def section(self) -> Iterator[None]:
        """Writes that readers see all at once (embedded mode) and that a crash leaves marked.

        Marks the collection ``writing`` (revision + 1) before and settles it (revision + 1) after;
        when the block raises, the mark stays for :meth:`repair`. Reentrant: an inner section is
        part of the outer one."""
        tls = self._tls
        if getattr(tls, "mode", "") == "write":
            tls.depth += 1
            try:
                yield
            finally:
                tls.depth -= 1
            return
        if getattr(tls, "mode", ""):
            raise RuntimeError("cannot write to the index while holding it for reading")
        with self.session():
            fd = turnstile = None
            if self.embedded:
                turnstile, fd = self._thread_lock_file("turnstile.lock"), self._thread_lock_file("rw.lock")
                fcntl.flock(turnstile, fcntl.LOCK_EX)
                fcntl.flock(fd, fcntl.LOCK_EX)
            tls.depth, tls.mode, tls.table_filled = 1, "write", False
            try:
                self._catch_up()
                self._set_metadata(lambda m: self._next_revision(m, _writer_token()))
                yield
                crash_point("bump")
                revision = self._set_metadata(lambda m: self._next_revision(m, ""))
                self.written_revisions.add(revision)
            finally:
                tls.depth, tls.mode, tls.table_filled = 0, "", False
                try:
                    if self.embedded:
                        # Our own client saw every write; readers elsewhere must open a fresh one.
                        self._handles.token = self._advance_generation()
                finally:
                    for lock in (fd, turnstile):
                        if lock is not None:
                            fcntl.flock(lock, fcntl.LOCK_UN)

    def _next_revision(self, metadata: dict, writing: str) -> dict:
        """The collection's metadata one revision on: a section starts (``writing`` names it) or
        settles (``writing`` is ""). The article table stays current when it was current and the
        index settled as the section started, or when the section filled it whole."""
        revision = int(metadata.get("revision", 0)) + 1
        current = self._table_current(metadata) and (not metadata.get(WRITING_KEY) if writing else True)
        if getattr(self._tls, "table_filled", False):
            current = True
            metadata = {**metadata, TABLE_ID_KEY: str(self._handles.articles.id)}
        return {**metadata, "revision": revision, WRITING_KEY: writing, TABLE_AT_KEY: revision if current else -1}

    def _table_current(self, metadata: dict) -> bool:
        """Whether the article table holds every article in place, by the chunk collection's ``metadata``."""
        return (metadata.get(TABLE_ID_KEY) == str(self._handles.articles.id)
                and metadata.get(TABLE_AT_KEY) == int(metadata.get("revision", 0)))

    def _ensure_article_table(self) -> None:
        """Fill the article table from the chunks when it is not current: an index written before
        it existed, or by a writer that does not keep it (once; O(chunks)). An interrupted index is
        left to :meth:`repair`, which fills it too."""
        if getattr(self._tls, "mode", ""):
            return  # a writer's session inside a reader's hold or a section: not the outermost entry
        metadata = self._metadata()
        if self._table_current(metadata) or metadata.get(WRITING_KEY):
            return
        with self.section():
            done = self._reconcile_articles()
        log.info("article table filled from the chunks: %s", done)

    # --- calling Chroma --------------------------------------------------------------------------
    def _translated(self, exc: BaseException) -> BaseException:
        if not self.embedded and is_connection_error(exc):
            return unreachable(self.settings, exc)
        return exc

    def _read(self, call: Callable[[_Handles], object]):
        with self.reading():
            try:
                try:
                    return call(self._handles)
                except Exception as exc:
                    # A process that writes without this protocol (an older version, a script using
                    # chromadb directly) leaves our client stale without telling: open a fresh one, once.
                    # A collection deleted under us (another client packed an older index's sentence
                    # vectors: pack_sentence_vectors) is looked up again by name, once.
                    stale = self.embedded and "error finding id" in str(exc).lower()
                    gone = _collection_gone(exc)
                    if not ((stale or gone) and getattr(self._tls, "mode", "") == "read" and self._tls.depth == 1):
                        raise
                    log.warning("stale Chroma client (%s); opening its collections again", exc)
                    if gone:
                        self._reopen()
                    else:
                        self._catch_up(force=True)
                    return call(self._handles)
            except Exception as exc:
                translated = self._translated(exc)
                if translated is exc:
                    raise
                raise translated from exc

    def _write(self, call: Callable[[_Handles], object]):
        with self.section():
            try:
                return call(self._handles)
            except Exception as exc:
                translated = self._translated(exc)
                if translated is exc:
                    raise
                raise translated from exc

    def _batch(self) -> int:
        return max(1, self._read(lambda h: h.client.get_max_batch_size()))

    # --- writing -------------------------------------------------------------------------
    def add_article(self, article: Article, chunks: Sequence[Chunk], embeddings: np.ndarray,
                    sentence_vectors: Sequence[np.ndarray] | None = None) -> None:
        """Write an article's chunks under their ids; ``sentence_vectors`` (one matrix per chunk) go first.

        Records of an earlier version of the article that the new one does not overwrite are removed.
        Its article record goes before its chunks: a crash between leaves a record whose chunks are
        not whole, which :meth:`repair` removes with them."""
        with self.section():
            self._put_record(ArticleRecord.of(article, len(chunks)))
            ids = self._put(article, chunks, embeddings, sentence_vectors, staged=False)
            self._remove_rest(article.id, ids)

    def add_articles(self, items: Sequence[tuple[Article, Sequence[Chunk], np.ndarray, Sequence[np.ndarray] | None]]
                     ) -> None:
        """:meth:`add_article` for several articles at once, in the same order of steps: their records,
        then their sentence vectors, then their chunks, each step in as few calls as Chroma's batch
        limit allows (one call per article costs ~2x the write time of an ingest), then the records
        of earlier versions that the new ones do not overwrite go. A crash between steps leaves
        records whose chunks are not whole, which :meth:`repair` removes with them."""
        items = [item for item in items if len(item[1])]
        if not items:
            return
        with self.section():
            records = [ArticleRecord.of(article, len(chunks)) for article, chunks, _, _ in items]
            self._put_records(records)
            ids, rows, metas = [], [], []
            with_vectors = [(article, chunks, vectors) for article, chunks, _, vectors in items if vectors is not None]
            for article, chunks, vectors in with_vectors:
                self._sentence_rows(article.id, [c.id for c in chunks], vectors, False, ids, rows, metas)
            self._upsert_sentences(ids, rows, metas)
            for _ in with_vectors:  # the same steps as articles written one by one (the crash tests count them)
                crash_point("sentences")
            ids, embeddings, documents, metadatas = [], [], [], []
            for article, chunks, vectors, sentence_vectors in items:
                counts = [len(m) for m in sentence_vectors] if sentence_vectors is not None else [None] * len(chunks)
                ids += [c.id for c in chunks]
                embeddings.append(np.asarray(vectors, dtype=np.float32))
                documents += [c.text for c in chunks]
                metadatas += [chunk_metadata(article, c, len(chunks), n) for c, n in zip(chunks, counts)]
            matrix = np.concatenate(embeddings)
            batch = self._batch()
            for i in range(0, len(ids), batch):
                part = slice(i, i + batch)
                self._write(lambda h: h.collection.upsert(ids=ids[part], embeddings=matrix[part],
                                                          documents=documents[part], metadatas=metadatas[part]))
            for _ in items:
                crash_point("chunks")
            self._remove_rest_of([article.id for article, *_ in items], set(ids))

    def replace_article(self, article: Article, chunks: Sequence[Chunk], embeddings: np.ndarray,
                        sentence_vectors: Sequence[np.ndarray] | None = None) -> None:
        """Write a new version of an indexed article so that a whole version is there at every moment.

        The new version is written under staged ids first (readers do not see it), then the old
        chunks are deleted and the new ones take their ids, then the staged copy goes. A crash
        anywhere leaves a whole old or a whole staged new version, which :meth:`repair` completes.
        The article record follows: the new version's is staged with its chunks and takes the old
        one's place once the new chunks are in place."""
        record = ArticleRecord.of(article, len(chunks))
        with self.section():
            self._put_record(record, staged=True)
            self._put(article, chunks, embeddings, sentence_vectors, staged=True)
            crash_point("staged")
            self._delete_final(article.id)
            crash_point("delete")
            ids = self._put(article, chunks, embeddings, sentence_vectors, staged=False)
            self._put_record(record)
            self._write(lambda h: h.articles.delete(ids=[staged_record_id(article.id, record.content_hash)]))
            self._remove_rest(article.id, ids)

    def _put_record(self, record: ArticleRecord, staged: bool = False) -> None:
        """Write an article record: in place (id: the article id) or staged (``ARTICLE~HASH``)."""
        self._put_records([record], staged)

    def _put_records(self, records: Sequence[ArticleRecord], staged: bool = False) -> None:
        ids = [staged_record_id(r.article_id, r.content_hash) if staged else r.article_id for r in records]
        metas = [{**r.metadata(), **({STAGED: True} if staged else {})} for r in records]
        batch = self._batch()
        for i in range(0, len(ids), batch):
            part = slice(i, i + batch)
            self._write(lambda h: h.articles.upsert(ids=ids[part], embeddings=[PLACEHOLDER_VECTOR] * len(ids[part]),
                                                    documents=[r.body or "" for r in records[part]],
                                                    metadatas=metas[part]))

    def _put(self, article: Article, chunks: Sequence[Chunk], embeddings: np.ndarray,
             sentence_vectors: Sequence[np.ndarray] | None, staged: bool) -> list[str]:
        ids = [staged_id(article, c.id) if staged else c.id for c in chunks]
        if sentence_vectors is not None:
            self.add_sentence_vectors(article.id, ids, sentence_vectors, staged=staged)
            crash_point("sentences")
        counts = [len(m) for m in sentence_vectors] if sentence_vectors is not None else [None] * len(chunks)
        metadatas = [chunk_metadata(article, c, len(chunks), n) for c, n in zip(chunks, counts)]
        if staged:
            metadatas = [{**m, STAGED: True} for m in metadatas]
        batch = self._batch()
        for i in range(0, len(chunks), batch):
            part = slice(i, i + batch)
            self._write(lambda h: h.collection.upsert(
                ids=ids[part], embeddings=embeddings[part], documents=[c.text for c in chunks[part]],
                metadatas=metadatas[part]))
        if not staged:
            crash_point("chunks")
        return ids

    def _remove_rest(self, article_id: str, kept: Sequence[str]) -> None:
        """Delete the article's records other than the chunks ``kept`` and their sentence vectors."""
        self._remove_rest_of([article_id], set(kept))

    def _remove_rest_of(self, article_ids: Sequence[str], kept_set: set[str]) -> None:
        """Delete the chunks of ``article_ids`` not in ``kept_set``, and their sentence vectors."""
        where = {"article_id": article_ids[0]} if len(article_ids) == 1 else {"article_id": {"$in": list(article_ids)}}
        chunk_ids = self._write(lambda h: h.collection.get(where=where, include=[])["ids"])
        sentence_ids = self._write(lambda h: h.sentences.get(where=where, include=["metadatas"]))
        extra_chunks = [cid for cid in chunk_ids if cid not in kept_set]
        extra_sentences = [sid for sid, meta in zip(sentence_ids["ids"], sentence_ids["metadatas"])
                           if (meta or {}).get("chunk_id") not in kept_set]
        self._delete_ids(extra_chunks, extra_sentences)

    def _delete_final(self, article_id: str) -> None:
        """Delete the article's records in place (not its staged ones)."""
        got = self._write(lambda h: h.collection.get(where={"article_id": article_id}, include=["metadatas"]))
        final = {cid for cid, meta in zip(got["ids"], got["metadatas"]) if not (meta or {}).get(STAGED)}
        sentences = self._write(lambda h: h.sentences.get(where={"article_id": article_id}, include=["metadatas"]))
        self._delete_ids(sorted(final), [sid for sid, meta in zip(sentences["ids"], sentences["metadatas"])
                                         if (meta or {}).get("chunk_id") in final])

    def _delete_ids(self, chunk_ids: Sequence[str], sentence_ids: Sequence[str]) -> None:
        for i in range(0, len(sentence_ids), 1000):
            self._write(lambda h: h.sentences.delete(ids=list(sentence_ids[i:i + 1000])))
        for i in range(0, len(chunk_ids), 1000):
            self._write(lambda h: h.collection.delete(ids=list(chunk_ids[i:i + 1000])))

    def add_sentence_vectors(self, article_id: str, chunk_ids: Sequence[str],
                             vectors: Sequence[np.ndarray], staged: bool = False) -> None:
        """One record per sentence of each chunk: id ``CHUNK/k``, in sentence order."""
        ids, rows, metas = [], [], []
        self._sentence_rows(article_id, chunk_ids, vectors, staged, ids, rows, metas)
        self._upsert_sentences(ids, rows, metas)

    def _sentence_rows(self, article_id: str, chunk_ids: Sequence[str], vectors: Sequence[np.ndarray], staged: bool,
                       ids: list, rows: list, metas: list) -> None:
        flag = {STAGED: True} if staged else {}
        for chunk_id, matrix in zip(chunk_ids, vectors):
            if self._handles.packed:
                if len(matrix):
                    ids.append(self._sentence_record_id(chunk_id, 0))
                    rows.append(PLACEHOLDER_VECTOR)
                    metas.append(_packed_record(article_id, chunk_id, matrix, staged))
                continue
            for k, row in enumerate(matrix):
                ids.append(self._sentence_record_id(chunk_id, k))
                rows.append(row)
                metas.append({"article_id": article_id, "chunk_id": chunk_id, "k": k, **flag})

    def _sentence_record_id(self, chunk_id: str, k: int) -> str:
        """The id of a sentence record: the chunk's own id (packed), or ``CHUNK/k`` (one per sentence)."""
        return chunk_id if self._handles.packed else f"{chunk_id}/{k}"

    @staticmethod
    def _unpacked(meta: dict) -> np.ndarray:
        if meta.get("format") != packing.FORMAT:
            raise IndexUnavailable(f"sentence vectors of chunk {meta.get('chunk_id')!r} are in format "
                                   f"{meta.get('format')!r}, which this version cannot read; upgrade the assistant "
                                   "or re-ingest into a new data directory")
        return packing.unpack(meta["vectors"], int(meta["n"]), int(meta["dim"]))

    def _upsert_sentences(self, ids: list, rows: list, metas: list) -> None:
        batch = self._batch()
        for i in range(0, len(ids), batch):
            self._write(lambda h: h.sentences.upsert(ids=ids[i:i + batch], embeddings=np.asarray(
                rows[i:i + batch], dtype=np.float32), metadatas=metas[i:i + batch]))

    def pack_sentence_vectors(self, progress: Callable[[int], None] | None = None) -> int:
        """Move an older index's sentence vectors (``NAME_sentences``, one record per sentence) into
        the packed layout (``NAME_sentence_sets``, one record per chunk), without embedding anything;
        returns how many chunks' vectors moved (0 when the index is packed already).

        The older collection stays the one in use until every chunk's record is written; it is
        deleted last, which is the switch. A crash before that leaves the index as it was (the
        half-written packed collection is started again next time); after it, the packed one is
        whole. Other processes open the packed collection at their next read (embedded mode: the
        section moves the generation; server mode: a read that finds the old collection gone
        reopens its collections). ``progress(n)`` is called as chunks are done."""
        from chromadb.errors import NotFoundError

        with self.session():
            with self.reading():  # catch up with a process that may have moved it already
                if self._handles.packed:
                    return 0
            with self.section():
                client, handles = self._handles.client, self._handles
                target = f"{self.name}{SENTENCE_SETS_SUFFIX}"
                with contextlib.suppress(NotFoundError):  # what an interrupted run left
                    self._write(lambda h: client.delete_collection(target))
                packed = self._write(lambda h: client.create_collection(target, embedding_function=None))
                done = 0
                scan = self._scan(documents=False)  # the chunk collection does not change meanwhile
                while group := list(itertools.islice(scan, 500)):
                    found = self.sentence_vectors_of(group)
                    ids, metas = [], []
                    for chunk in group:
                        matrix = found.get(chunk.id)
                        if matrix is None or not len(matrix):
                            continue
                        ids.append(chunk.id)
                        metas.append(_packed_record(chunk.metadata.get("article_id"), chunk.id, matrix,
                                                    bool(chunk.metadata.get(STAGED))))
                    if ids:  # through _write: a lost Chroma server is reported as such
                        self._write(lambda h: packed.upsert(ids=ids, embeddings=np.asarray(
                            [PLACEHOLDER_VECTOR] * len(ids), dtype=np.float32), metadatas=metas))
                    done += len(ids)
                    if progress is not None:
                        progress(len(group))
                crash_point("packed")
                self._write(lambda h: client.delete_collection(f"{self.name}{LEGACY_SENTENCES_SUFFIX}"))
                self._handles = _Handles(client, handles.collection, packed, handles.articles, handles.token,
                                         handles.spelling, True)
            log.info("sentence vectors of %d chunks packed one record per chunk", done)
            return done

    def mark_sentence_vectors(self, article_id: str, counts: dict[str, int]) -> None:
        """Flag an article's chunks as having sentence vectors (added after the chunks), with their counts."""
        def mark(h):
            got = h.collection.get(where={"article_id": article_id}, include=["metadatas"])
            if got["ids"]:
                h.collection.update(ids=got["ids"], metadatas=[
                    {**m, "sentence_vectors": True, "sentences": counts.get(cid, 0)}
                    for cid, m in zip(got["ids"], got["metadatas"])])
        self._write(mark)

    def delete_articles(self, article_ids: Sequence[str]) -> None:
        """Delete the articles' chunks, sentence vectors and records (in place and staged)."""
        with self.section():
            for i in range(0, len(article_ids), 500):
                where = {"article_id": {"$in": list(article_ids[i:i + 500])}}
                self._write(lambda h: h.collection.delete(where=where))
                self._write(lambda h: h.sentences.delete(where=where))
                crash_point("deleted")
                self._write(lambda h: h.articles.delete(where=where))

    def _metadata(self) -> dict:
        return dict(self._read(lambda h: h.client.get_collection(self.name, embedding_function=None).metadata) or {})

    def _set_metadata(self, change: Callable[[dict], dict]) -> int:
        """Replace the collection's metadata with ``change(metadata)`` (inside a section); the new revision."""
        def apply(h):
            current = h.client.get_collection(self.name, embedding_function=None)
            metadata = change(dict(current.metadata or {}))  # modify() replaces the whole metadata
            h.collection.modify(metadata=metadata)
            return int(metadata.get("revision", 0))
        return self._write(apply)

    @property
    def revision(self) -> int:
        return int(self._metadata().get("revision", 0))

    def revision_state(self) -> tuple[str, int, bool]:
        """(collection id, revision, settled): settled is False while a section writes (or after one
        was interrupted)."""
        def read(h):
            current = h.client.get_collection(self.name, embedding_function=None)
            metadata = dict(current.metadata or {})
            return str(current.id), int(metadata.get("revision", 0)), not metadata.get(WRITING_KEY)
        return self._read(read)

    def interrupted(self) -> bool:
        """Whether a section was left unsettled (a writer crashed or lost the server mid-way)."""
        return bool(self._metadata().get(WRITING_KEY))

    def bump_revision(self) -> int:
        """Tell every reader the collection changed (a section does this itself; kept for callers
        that write through the collection directly)."""
        with self.section():
            pass
        return self.revision

    def embedder_identity(self) -> str | None:
        """``MODEL/BACKEND`` of the embedder that wrote this index's vectors (None: not recorded,
        i.e. an empty index or one built before identities were recorded)."""
        return self._metadata().get(EMBEDDER_KEY) or None

    def record_embedder(self, identity: str) -> None:
        """Note in the collection's metadata which embedder wrote its vectors."""
        if self._metadata().get(EMBEDDER_KEY) != identity:
            with self.session():
                self._write(lambda h: h.collection.modify(metadata={**self._metadata(), EMBEDDER_KEY: identity}))

    # --- reading -------------------------------------------------------------------------
    def count(self) -> int:
        return self._read(lambda h: h.collection.count())

    def article_table_current(self) -> bool:
        """Whether readers can trust the article table (else they read the chunks, see the module
        docstring). In embedded mode a reader never sees another writer's section under way, so a
        section left open there is a crashed writer's, and the table waits for :meth:`repair`."""
        metadata = self._metadata()
        crashed = self.embedded and metadata.get(WRITING_KEY) and getattr(self._tls, "mode", "") != "write"
        return self._table_current(metadata) and not crashed

    def article_records(self, bodies: bool = False) -> list[ArticleRecord]:
        """One record per article in place (staged versions left out), in no particular order;
        ``bodies``: with each article's body. From the article table (O(articles)) when it is
        current, else derived from a scan of the chunks. Without bodies, the list read last is reused
        while the index's revision is the same (a web page load reads it: 0.5 s at 7k articles)."""
        with self.reading():
            if not self.article_table_current():
                return self._records_from_chunks(bodies)
            state = None if bodies else self.revision_state()
            listing = self._listing
            if state is not None and state[2] and listing is not None and listing[0] == state:
                return list(listing[1])
            records, offset, page = [], 0, 2000
            include = ["metadatas", "documents"] if bodies else ["metadatas"]
            while True:
                got = self._read(lambda h: h.articles.get(include=include, limit=page, offset=offset))
                texts = got.get("documents") or [None] * len(got["ids"])
                records += [ArticleRecord.from_stored(meta, text) for meta, text in zip(got["metadatas"], texts)
                            if meta is not None and not meta.get(STAGED)]
                if len(got["ids"]) < page:
                    if state is not None and state[2]:
                        self._listing = (state, tuple(records))
                    return records
                offset += page

    def article_counts(self) -> tuple[int, int]:
        """(articles, chunks) in place: two counts when the article table is current and the index
        settled (a settled index holds no staged records); else the records' chunk counts added up."""
        with self.reading():
            metadata = self._metadata()
            if self._table_current(metadata) and not metadata.get(WRITING_KEY):
                return self._read(lambda h: (h.articles.count(), h.collection.count()))
            records = self.article_records()
        return len(records), sum(r.chunk_count for r in records)

    def article_record(self, article_id: str) -> ArticleRecord | None:
        """The indexed article ``article_id`` with its body (None when it is not indexed): one
        record read by id when the article table is current, else its chunks."""
        with self.reading():
            if not self.article_table_current():
                chunks = self.article_chunks(article_id)
                return record_from_chunks(chunks) if chunks else None
            got = self._read(lambda h: h.articles.get(ids=[article_id], include=["metadatas", "documents"]))
        found = [(m, d) for m, d in zip(got["metadatas"], got["documents"]) if m is not None and not m.get(STAGED)]
        return ArticleRecord.from_stored(*found[0]) if found else None

    def _records_from_chunks(self, bodies: bool) -> list[ArticleRecord]:
        """What :meth:`article_records` returns, read from every chunk (the article table not current)."""
        chunks: dict[str, list[StoredChunk]] = {}
        with self.reading():
            for chunk in self._scan(5000, documents=bodies):
                if not chunk.metadata.get(STAGED):
                    chunks.setdefault(chunk.metadata.get("article_id", ""), []).append(chunk)
        return [record_from_chunks(parts, body=bodies) for parts in chunks.values()]

    def iter_chunks(self, page: int = 2000, embeddings: bool = False) -> Iterator[StoredChunk]:
        """Every chunk in place (not staged ones), with its embedding when asked. Hold :meth:`reading`
        around it for one consistent pass."""
        for chunk in self._scan(page, embeddings=embeddings):
            if not chunk.metadata.get(STAGED):
                yield chunk

    def _scan(self, page: int = 2000, documents: bool = True, embeddings: bool = False) -> Iterator[StoredChunk]:
        offset = 0
        include = (["documents", "metadatas"] if documents else ["metadatas"]) + (["embeddings"] if embeddings else [])
        while True:
            got = self._read(lambda h: h.collection.get(include=include, limit=page, offset=offset))
            texts = got.get("documents") or [""] * len(got["ids"])
            vectors = got["embeddings"] if embeddings else [None] * len(got["ids"])
            for cid, text, meta, vector in zip(got["ids"], texts, got["metadatas"], vectors):
                if meta is not None:
                    yield StoredChunk(cid, text or "", meta, vector)
            if len(got["ids"]) < page:
                return
            offset += page

    def scan(self) -> dict[str, ArticleRecords]:
        """article id -> its records in the chunk collection (metadata only), in place and staged."""
        articles: dict[str, ArticleRecords] = {}
        with self.reading():
            for chunk in self._scan(5000, documents=False):
                records = articles.setdefault(chunk.metadata.get("article_id", ""), ArticleRecords())
                if chunk.metadata.get(STAGED):
                    records.staged.setdefault(chunk.metadata.get("content_hash", ""), []).append(chunk)
                else:
                    records.final.append(chunk)
        return articles

    def article_hashes(self) -> dict[str, str]:
        """article id -> content hash of what is indexed (articles with a whole version in place)."""
        return {aid: content_hash for aid, (content_hash, _) in self.article_states().items() if content_hash}

    def article_states(self) -> dict[str, tuple[str, bool]]:
        """article id -> (content hash, whether its sentence vectors are stored); the hash is "" for an
        article whose version in place is not whole (an interrupted write: it is never "unchanged").

        On a settled index whose article table is current: the table's hashes (O(articles)) and the
        chunks flagged as lacking sentence vectors (a metadata query, usually empty). Otherwise (a
        write under way or interrupted, an index older than the table) a scan of every chunk."""
        with self.reading():
            metadata = self._metadata()
            if self._table_current(metadata) and not metadata.get(WRITING_KEY):
                lacking = self.articles_without_sentence_vectors()
                return {r.article_id: (r.content_hash, r.article_id not in lacking) for r in self.article_records()}
        return {aid: (records.content_hash or "", records.sentence_vectors)
                for aid, records in self.scan().items() if records.final}

    def articles_lacking_sentence_vectors(self) -> list[str]:
        """Ids of the whole articles in place that lack sentence vectors (what a backfill embeds). On a
        settled index whose article table is current: one metadata query, not a read of every article
        record (a server start at 100k chunks); otherwise from :meth:`article_states`."""
        with self.reading():
            metadata = self._metadata()
            if self._table_current(metadata) and not metadata.get(WRITING_KEY):
                return sorted(self.articles_without_sentence_vectors())
            return sorted(aid for aid, (content_hash, has) in self.article_states().items() if content_hash and not has)

    def articles_without_sentence_vectors(self) -> set[str]:
        """Ids of the articles with a chunk stored without sentence vectors (an index from an earlier
        version): a query on one metadata field, not a scan."""
        lacking, offset, page = set(), 0, 5000
        while True:
            got = self._read(lambda h: h.collection.get(where={"sentence_vectors": False}, include=["metadatas"],
                                                        limit=page, offset=offset))
            lacking |= {str((m or {}).get("article_id", "")) for m in got["metadatas"]}
            if len(got["ids"]) < page:
                return lacking - {""}
            offset += page

    def query(self, embedding: np.ndarray, n: int, where: dict | None) -> list[tuple[StoredChunk, float]]:
        def run(h):  # Chroma returns what there is when n is larger than the collection (no count call: 3 ms)
            got = h.collection.query(
                query_embeddings=[embedding], n_results=max(1, n), where=where or None,
                include=["documents", "metadatas", "distances"],
            )
            return [(StoredChunk(cid, text or "", meta), 1.0 - float(dist))
                    for cid, text, meta, dist in zip(got["ids"][0], got["documents"][0], got["metadatas"][0],
                                                     got["distances"][0])
                    if meta is not None and not meta.get(STAGED)]
        return self._read(run)

    def get_chunks(self, ids: Sequence[str]) -> list[StoredChunk]:
        """The chunks of ``ids`` that exist (others, e.g. deleted meanwhile, are left out), in that order."""
        if not ids:
            return []
        got = self._read(lambda h: h.collection.get(ids=list(ids), include=["documents", "metadatas"]))
        by_id = {cid: StoredChunk(cid, t or "", m) for cid, t, m in zip(got["ids"], got["documents"], got["metadatas"])
                 if m is not None and not m.get(STAGED)}
        return [by_id[i] for i in ids if i in by_id]

    def get_with_embeddings(self, ids: Sequence[str]) -> tuple[list[StoredChunk], np.ndarray]:
        """The chunks of ``ids`` that exist, in that order, and their embeddings (one row each)."""
        if not ids:
            return [], np.zeros((0, 0), dtype=np.float32)
        got = self._read(lambda h: h.collection.get(ids=list(ids), include=["documents", "metadatas", "embeddings"]))
        by_id = {cid: (StoredChunk(cid, t or "", m), e)
                 for cid, t, m, e in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"])
                 if m is not None and not m.get(STAGED)}
        found = [by_id[i] for i in ids if i in by_id]
        return [c for c, _ in found], np.asarray([e for _, e in found], dtype=np.float32)

    def sentence_vectors_of(self, chunks: Sequence[StoredChunk]) -> dict[str, np.ndarray]:
        """Like :meth:`sentence_vectors`, fetched by record id where the chunk's metadata counts its sentences
        (several times faster than filtering on metadata)."""
        return self._in_current_layout(self._sentence_vectors_of, chunks)

    def _in_current_layout(self, read: Callable, arg):
        """``read(arg)`` again when the index changed layout while it ran (another client packed an
        older index's sentence vectors, and a read reopened the collections)."""
        packed = self._handles.packed
        out = read(arg)
        return read(arg) if self._handles.packed != packed else out

    def _sentence_vectors_of(self, chunks: Sequence[StoredChunk]) -> dict[str, np.ndarray]:
        if self._handles.packed:  # records are keyed by chunk id already
            return self._sentence_vectors([c.id for c in chunks if int(c.metadata.get("sentences", 1))])
        counted = [c for c in chunks if "sentences" in c.metadata]
        found: dict[str, np.ndarray] = {}
        ids = [f"{c.id}/{k}" for c in counted for k in range(int(c.metadata["sentences"]))]
        if ids:
            got = self._read(lambda h: h.sentences.get(ids=ids, include=["embeddings"]))
            by_id = dict(zip(got["ids"], got["embeddings"]))
            for c in counted:
                rows = [by_id.get(f"{c.id}/{k}") for k in range(int(c.metadata["sentences"]))]
                if rows and all(r is not None for r in rows):
                    found[c.id] = np.asarray(rows, dtype=np.float32)
        rest = [c.id for c in chunks if "sentences" not in c.metadata]
        return {**found, **(self._sentence_vectors(rest) if rest else {})}

    def sentence_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """chunk id -> its sentences' embeddings (rows in sentence order); chunks without any are left out."""
        return self._in_current_layout(self._sentence_vectors, chunk_ids)

    def _sentence_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        ids = list(dict.fromkeys(chunk_ids))
        if self._handles.packed:
            out: dict[str, np.ndarray] = {}
            for i in range(0, len(ids), 500):
                got = self._read(lambda h: h.sentences.get(ids=ids[i:i + 500], include=["metadatas"]))
                out.update((rid, self._unpacked(meta)) for rid, meta in zip(got["ids"], got["metadatas"]) if meta)
            return out
        found: dict[str, list[tuple[int, np.ndarray]]] = {}
        for i in range(0, len(ids), 500):
            got = self._read(lambda h: h.sentences.get(where={"chunk_id": {"$in": ids[i:i + 500]}},
                                                       include=["embeddings", "metadatas"]))
            for meta, row in zip(got["metadatas"], got["embeddings"]):
                found.setdefault(meta["chunk_id"], []).append((meta["k"], row))
        return {cid: np.asarray([row for _, row in sorted(rows, key=lambda kr: kr[0])], dtype=np.float32)
                for cid, rows in found.items()}

    def article_chunks(self, article_id: str) -> list[StoredChunk]:
        got = self._read(lambda h: h.collection.get(where={"article_id": article_id}, include=["documents", "metadatas"]))
        chunks = [StoredChunk(cid, t or "", m) for cid, t, m in zip(got["ids"], got["documents"], got["metadatas"])
                  if m is not None and not m.get(STAGED)]
        return sorted(chunks, key=lambda c: c.metadata["position"])

    # --- after a crash -----------------------------------------------------------------------
    def repair(self) -> dict[str, int]:
        """Finish or undo what an interrupted writer left (call it inside :meth:`session`).

        A whole staged version of an article replaces its version in place (which the crash may
        have deleted in part); a partial staged version is dropped; an article whose version in
        place is not whole is removed (its journal, or the next ingest of its file, writes it
        again); sentence vectors of chunks that are not there are dropped; then the article table
        is made to say what the chunks say (:meth:`_reconcile_articles`). Counts what it did."""
        done = {"promoted": 0, "dropped_staged": 0, "removed_partial": 0, "orphan_sentences": 0}
        with self.section():
            for article_id, records in self.scan().items():
                in_place = records.content_hash
                promoted = False
                for content_hash, staged in records.staged.items():
                    if not promoted and complete_hash(staged) and in_place != content_hash:
                        self._promote(article_id, staged)
                        promoted = True
                        done["promoted"] += 1
                    else:
                        self._delete_ids([c.id for c in staged], self._sentence_ids([c.id for c in staged]))
                        done["dropped_staged"] += 1
                if records.final and not in_place and not promoted:
                    final = [c.id for c in records.final]
                    self._delete_ids(final, self._sentence_ids(final))
                    done["removed_partial"] += 1
            done["orphan_sentences"] = self._drop_orphan_sentences()
            done.update(self._reconcile_articles())
        return done

    def _reconcile_articles(self) -> dict[str, int]:
        """Make the article table hold one record per article whole in place, saying what its chunks
        say (inside a section; O(chunks)). A record whose content hash and chunk count match stays;
        else the staged record of that version is put in place (a crash between an update's chunks
        and its record) or, when there is none, one is made from the chunks (an index written
        before the table existed). Records of other articles, and every staged record, go."""
        whole = {aid: records.final for aid, records in self.scan().items() if records.content_hash}
        in_place: dict[str, dict] = {}
        staged: dict[tuple[str, str], str] = {}
        for rid, meta in self._table_metadata():
            if meta.get(STAGED):
                staged[(str(meta.get("article_id")), str(meta.get("content_hash")))] = rid
            else:
                in_place[rid] = meta
        promote, rebuild = [], []
        for aid, chunks in whole.items():
            meta, content_hash = in_place.get(aid) or {}, chunks[0].metadata.get("content_hash")
            if meta.get("content_hash") == content_hash and meta.get("chunk_count") == len(chunks):
                continue
            sid = staged.get((aid, content_hash))
            if sid:
                promote.append(sid)
            else:
                rebuild.append(aid)
        batch = self._batch()
        for i in range(0, len(promote), batch):
            got = self._write(lambda h: h.articles.get(ids=promote[i:i + batch], include=["documents", "metadatas"]))
            self._write(lambda h: h.articles.upsert(
                ids=[str(m["article_id"]) for m in got["metadatas"]], documents=got["documents"],
                embeddings=[PLACEHOLDER_VECTOR] * len(got["ids"]),
                metadatas=[{k: v for k, v in m.items() if k != STAGED} for m in got["metadatas"]]))
        for i in range(0, len(rebuild), 100):  # bodies from the chunks' text, about 100 articles a call
            wanted = [c.id for aid in rebuild[i:i + 100] for c in whole[aid]]
            got = self._write(lambda h: h.collection.get(ids=wanted, include=["documents", "metadatas"]))
            chunks: dict[str, list[StoredChunk]] = {}
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                chunks.setdefault(meta["article_id"], []).append(StoredChunk(cid, text or "", meta))
            records = [record_from_chunks(parts) for parts in chunks.values()]
            for j in range(0, len(records), batch):
                part = records[j:j + batch]
                self._write(lambda h: h.articles.upsert(
                    ids=[r.article_id for r in part], documents=[r.body or "" for r in part],
                    embeddings=[PLACEHOLDER_VECTOR] * len(part), metadatas=[r.metadata() for r in part]))
        gone = [rid for rid in in_place if rid not in whole] + list(staged.values())
        for i in range(0, len(gone), 1000):
            self._write(lambda h: h.articles.delete(ids=gone[i:i + 1000]))
        self._tls.table_filled = True
        return {"records_promoted": len(promote), "records_rebuilt": len(rebuild), "records_dropped": len(gone)}

    def _table_metadata(self, page: int = 5000) -> Iterator[tuple[str, dict]]:
        """(id, metadata) of every record of the article table, staged ones too."""
        offset = 0
        while True:
            got = self._read(lambda h: h.articles.get(include=["metadatas"], limit=page, offset=offset))
            yield from ((rid, meta) for rid, meta in zip(got["ids"], got["metadatas"]) if meta is not None)
            if len(got["ids"]) < page:
                return
            offset += page

    def _sentence_ids(self, chunk_ids: Sequence[str]) -> list[str]:
        found: list[str] = []
        for i in range(0, len(chunk_ids), 500):
            found += self._write(lambda h: h.sentences.get(where={"chunk_id": {"$in": list(chunk_ids[i:i + 500])}},
                                                           include=[])["ids"])
        return found

    def _promote(self, article_id: str, staged: list[StoredChunk]) -> None:
        """Put a whole staged version in place of the article's current records."""
        ids = [c.id for c in staged]
        got = self._write(lambda h: h.collection.get(ids=ids, include=["documents", "metadatas", "embeddings"]))
        sentences = self._write(lambda h: h.sentences.get(where={"chunk_id": {"$in": ids}},
                                                          include=["metadatas", "embeddings"]))
        self._delete_final(article_id)
        final_of = {sid: unstaged_id(sid) for sid in ids}
        if sentences["ids"]:
            self._write(lambda h: h.sentences.upsert(
                ids=[self._sentence_record_id(final_of[m["chunk_id"]], m["k"]) for m in sentences["metadatas"]],
                embeddings=np.asarray(sentences["embeddings"], dtype=np.float32),
                metadatas=[{**{k: v for k, v in m.items() if k != STAGED}, "chunk_id": final_of[m["chunk_id"]]}
                           for m in sentences["metadatas"]]))
        self._write(lambda h: h.collection.upsert(
            ids=[final_of[cid] for cid in got["ids"]], embeddings=np.asarray(got["embeddings"], dtype=np.float32),
            documents=got["documents"], metadatas=[{k: v for k, v in m.items() if k != STAGED} for m in got["metadatas"]]))
        self._delete_ids(ids, sentences["ids"])

    def _drop_orphan_sentences(self) -> int:
        chunk_ids = {c.id for c in self._scan(5000, documents=False)}
        orphans, offset, page = [], 0, 5000
        while True:
            got = self._write(lambda h: h.sentences.get(include=["metadatas"], limit=page, offset=offset))
            orphans += [sid for sid, meta in zip(got["ids"], got["metadatas"])
                        if (meta or {}).get("chunk_id") not in chunk_ids]
            if len(got["ids"]) < page:
                break
            offset += page
        self._delete_ids([], orphans)
        return len(orphans)


def _writer_token() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{int(time.time())}:{uuid.uuid4().hex[:8]}"


def staged_id(article: Article, chunk_id: str) -> str:
    """The id a chunk of a new version has while it is staged: ``ARTICLE~HASH:POSITION``."""
    prefix = f"{article.id}:"
    rest = chunk_id[len(prefix):] if chunk_id.startswith(prefix) else chunk_id
    return f"{article.id}~{article.content_hash}:{rest}"


def unstaged_id(staged: str) -> str:
    """The id a staged chunk takes when it is put in place."""
    head, _, rest = staged.partition(":")
    return f"{head.split('~', 1)[0]}:{rest}"


EMBEDDER_KEY = "embedder"
LEGACY_BACKEND = "torch"  # indexes that record no embedder were all written by sentence-transformers on PyTorch


def check_embedder(store: ChunkStore, embedder, record: bool = False) -> None:
    """Refuse an embedder whose vectors would not be comparable with the index's.

    PyTorch and ONNX fp32 count as the same (their vectors agree to 1e-6); int8 differs from both.
    An empty index takes any embedder; one that records none predates identities (written by
    PyTorch: fp32 backends go). ``record``: write the embedder's identity when the index is empty or
    records none (what an ingest does before its first write).
    """
    from assistant.embed.embedders import same_vectors

    wanted = embedder.identity
    recorded = store.embedder_identity()
    assumed = ""
    if store.count() == 0:  # no vectors to mix with
        if record:
            store.record_embedder(wanted)
        return
    if recorded is None:
        recorded = f"{wanted.rpartition('/')[0]}/{LEGACY_BACKEND}"
        assumed = " (it records no embedder: it was built before backends existed, with PyTorch)"
    if same_vectors(recorded, wanted):
        if record and assumed:
            store.record_embedder(recorded)
        return
    backend = recorded.rpartition("/")[2]
    raise ConfigError(
        f"The index in collection {store.name!r} was embedded with {recorded}{assumed}, but the configured "
        f"embedder is {wanted}: their vectors cannot be mixed. Either set ASSISTANT_EMBEDDING_BACKEND={backend} "
        f"(with the same ASSISTANT_EMBEDDING_MODEL) to use this index as it is, or re-embed it with {wanted}: "
        "delete the data directory (ASSISTANT_DATA_DIR) or choose another ASSISTANT_COLLECTION, then run "
        "`assistant ingest` again.")


def chunk_metadata(article: Article, chunk: Chunk, chunk_count: int, sentences: int | None = None) -> dict:
    """Chroma metadata of a chunk. Chroma has no nulls: missing values are empty strings, ts -1.

    ``sentences``: how many sentence vectors the chunk has (None: not stored).
    """
    meta = {name: getattr(article, name) or "" for name in _META_FIELDS}
    meta.update(
        article_id=article.id, position=chunk.position, start=chunk.start, end=chunk.end,
        chunk_count=chunk_count, content_hash=article.content_hash, origin=article.origin,
        published_ts=article.published_ts if article.published_ts is not None else -1,
        sentence_vectors=sentences is not None,
    )
    if sentences is not None:
        meta["sentences"] = sentences
    if article.furniture:  # how many lines of page furniture were left out (the lines: the article table)
        meta["furniture_dropped"] = len(article.furniture)
    return meta


def to_passage(stored: StoredChunk, score: float = 0.0, scores: dict | None = None) -> Passage:
    meta = stored.metadata
    return Passage(
        chunk_id=stored.id, article_id=meta["article_id"], text=stored.text,
        **{name: (meta.get(name) or None) for name in _META_FIELDS if name != "title"},
        title=meta.get("title", ""), position=meta.get("position", 0), start=meta.get("start", 0),
        end=meta.get("end", 0), score=score, scores=scores or {},
    )


__all__ = ["ChunkStore", "StoredChunk", "ArticleRecord", "make_client", "chunk_metadata", "to_passage", "iso_to_ts",
           "check_embedder", "crash_point", "unreachable", "is_connection_error"]
