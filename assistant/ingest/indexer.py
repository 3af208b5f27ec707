"""Ingestion: read articles, chunk the new and changed ones, embed them, write them to Chroma.

Each chunk is embedded under its article's title, and each of its sentences on its own (the
reranker's sentence-level signals). An index written before sentence vectors existed gets them
on the next ingest, without re-embedding its chunks.

Nothing is lost when a writer dies (``kill -9``, a power cut, a Chroma server gone): an ingest
holds the index's writer lock, journals the articles it will write (and the ids it will prune)
before its first write, writes in sections (:meth:`ChunkStore.section`), replaces a changed
article only once its new version is whole (:meth:`ChunkStore.replace_article`), and drops the
journal when done. The next ingest, or the server when it starts (:meth:`Indexer.recover`),
repairs what an interrupted one left and writes its journal again, so an upload whose request
died with the server is still indexed.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.text.chunking import SentenceChunker
from assistant.embed.embedders import Embedder
from assistant.errors import InputError
from assistant.ingest.furniture import clean_article
from assistant.ingest.readers import ReadResult, read_paths
from assistant.models import Article
from assistant.text.sentences import distinct_sentences, split_sentences
from assistant.index.store import ChunkStore, crash_point

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]  # (done, total, what) for UIs


def embedding_text(article: Article, chunk_text: str) -> str:
    """What the dense model sees: the chunk under its article's title."""
    return f"{article.title}\n{chunk_text}"


@dataclass
class IngestReport:
    files: int = 0
    articles: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: int = 0
    chunks_embedded: int = 0
    sentences_embedded: int = 0
    sentences_backfilled: int = 0  # articles indexed earlier that got their sentence vectors now
    sentences_repacked: int = 0  # chunks whose sentence vectors moved from the older layout (one record each)
    recovered: int = 0  # articles of an interrupted ingest written now (from its journal)
    duplicates: int = 0  # copies of an indexed article under another url (same text): recorded, not indexed
    furniture_dropped: int = 0  # lines of page furniture taken out of the articles written (ingest/furniture.py)
    seconds: float = 0.0
    errors: list[InputError] = field(default_factory=list)
    items: list[dict] = field(default_factory=list)  # per article: {url, origin, status, article_id, reason}
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage: read, chunk, embed_chunks, …

    def timed(self, stage: str, started: float) -> None:
        """Add the seconds since ``started`` (a perf_counter value) to ``stage``."""
        self.stages[stage] = self.stages.get(stage, 0.0) + time.perf_counter() - started

    def absorb(self, other: IngestReport) -> IngestReport:
        """This report with ``other``'s counts, errors and items added (two ingests reported as one)."""
        for name, value in other.__dict__.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                setattr(self, name, getattr(self, name) + value)
        for stage, seconds in other.stages.items():
            self.stages[stage] = self.stages.get(stage, 0.0) + seconds
        self.errors += other.errors
        self.items += other.items
        return self

    def item(self, article: Article, status: str, reason: str | None = None) -> None:
        """Record what became of ``article``: added, updated, unchanged, duplicate or failed."""
        self.items.append({"url": article.url, "origin": article.origin, "status": status,
                           "article_id": article.id, "reason": reason})

    @property
    def chunks_per_second(self) -> float:
        return self.chunks_embedded / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        if not self.chunks_embedded and not self.removed:
            # Not "up to date" when something failed: the failed files' articles are not in the index.
            head = f"{'nothing new indexed' if self.failed else 'Index up to date'}: {self.unchanged} articles unchanged"
            head += "" if self.sentences_backfilled else ", nothing embedded"
        else:
            head = (f"{'i' if self.failed else 'I'}ndexed {self.added} new and {self.updated} changed articles "
                    f"({self.chunks_embedded} chunks, {self.chunks_per_second:.1f} chunks/s), "
                    f"{self.unchanged} unchanged, {self.removed} removed")
        if self.sentences_repacked:
            head += (f"; sentence vectors of {self.sentences_repacked} chunks moved to one record per chunk "
                     "(the current layout; not embedded again)")
        if self.sentences_backfilled:
            head += f"; sentence vectors added to {self.sentences_backfilled} articles indexed earlier"
        if self.recovered:
            head += f"; finished an interrupted ingest ({self.recovered} articles written again)"
        if self.duplicates:
            head += f"; {self.duplicates} copies of indexed articles recorded, not indexed again"
        if self.furniture_dropped:
            head += f"; {self.furniture_dropped} lines of page furniture (captions, credits, links) left out"
        failed = f"{self.failed} failed; " if self.failed else ""
        origin = f" from {self.files} files" if self.files else ""
        return f"{failed}{head} in {self.seconds:.1f}s{origin}."

    def as_dict(self) -> dict:
        data = {k: v for k, v in self.__dict__.items() if k != "errors"}
        data["chunks_per_second"] = round(self.chunks_per_second, 2)
        data["stages"] = {stage: round(seconds, 3) for stage, seconds in self.stages.items()}
        data["errors"] = [{"where": e.where, "problem": e.problem, "fix": e.fix} for e in self.errors]
        return data


@dataclass
class Ready:
    """An article's chunks with their vectors and per-chunk sentence vectors, ready to be written."""

    chunks: list
    vectors: np.ndarray | None
    sentence_vectors: list[np.ndarray]
    sentences: int  # distinct sentences embedded


@dataclass
class EmbeddedAhead:
    """What :meth:`Indexer.embed_ahead` computed: (article id, content hash) -> :class:`Ready`."""

    ready: dict[tuple[str, str], Ready] = field(default_factory=dict)

    def merged(self, other: EmbeddedAhead | None) -> EmbeddedAhead:
        return EmbeddedAhead({**self.ready, **(other.ready if other else {})})


class Journal:
    """What an ingest is about to write, on disk until it is written: its articles (as read, so an
    upload's temporary files are not needed again) and the ids it prunes. One file per ingest."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def write(self, articles: list[Article], stale: list[str]) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}.json"
        tmp = self.folder / f".{name}.tmp"
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump({"articles": [a.model_dump(mode="json") for a in articles], "prune": stale}, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.folder / name)
        return self.folder / name

    def pending(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.iterdir() if p.suffix == ".json" and not p.name.startswith("."))

    def read(self, path: Path) -> tuple[list[Article], list[str]]:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [Article(**record) for record in data.get("articles", [])], list(data.get("prune", []))

    def done(self, path: Path) -> None:
        path.unlink(missing_ok=True)


class Indexer:
    sentence_vectors = "separate"  # per sentence: separate (a second pass) | pooled | none (Settings.sentence_vectors)
    chunk_vectors = "model"  # per chunk: model (the chunk's own forward pass) | sentence-mean (see _vectors)

    def __init__(self, store: ChunkStore, embedder: Embedder, chunker: SentenceChunker, syndication=None):
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.syndication = syndication  # a SyndicationIndex: copies of one story grouped, exact copies not indexed
        self.journal = Journal(store.state_dir / "journal")

    def ingest_paths(self, paths: Iterable[str | Path], prune: bool = False, progress: bool | Progress = False) -> IngestReport:
        """Read ``paths`` (every bad file or record becomes an error in the report) and index the rest."""
        started = time.perf_counter()
        read = read_paths(paths)
        reading = time.perf_counter() - started
        report = self.ingest_read(read, prune=prune, progress=progress, started=started)
        report.stages = {"read": reading, **report.stages}
        report.stages["other"] = max(0.0, report.seconds - sum(report.stages.values()))  # index state, journal
        return report

    def ingest_read(self, read: ReadResult, prune: bool = False, progress: bool | Progress = False,
                    started: float | None = None) -> IngestReport:
        """Index what :func:`~assistant.ingest.readers.read_paths` read; its errors lead the report.

        Reading is the slow, untrusted part and needs no lock: a server reads first and calls this
        under its write lock. With ``prune``, an indexed article whose file (or record) failed to
        be read this time is kept, not pruned.
        """
        started = time.perf_counter() if started is None else started
        keep = _failed_origins(read.errors) if prune and read.errors else None
        report = self.ingest_articles(read.articles, prune=prune, progress=progress, flawed=read.flawed, keep=keep)
        report.files = read.files
        report.errors = read.errors + report.errors
        report.items = [{"url": None, "origin": e.where, "status": "failed", "article_id": None, "reason": e.problem}
                        for e in read.errors] + report.items
        report.failed = failures(report.errors)
        report.seconds = time.perf_counter() - started
        return report

    def ingest_articles(self, articles: list[Article], prune: bool = False, progress: bool | Progress = False,
                        flawed: Collection[str] = (), keep: Callable[[str], bool] | None = None,
                        ahead: EmbeddedAhead | None = None) -> IngestReport:
        """Index new and changed ``articles``; with ``prune`` remove indexed articles not among them.

        Articles sharing an id (the same url; without a url the same title, outlet and date) are
        indexed once. Identical copies: the first is indexed and the others are reported. Copies
        that differ: the one from a file that was read without any problem (``flawed`` holds the
        origins of those that were not) wins, then the one already indexed as it is, then the first
        read; the others are reported and never replace it. ``keep(origin)`` spares indexed
        articles from pruning (their file could not be read). ``ahead`` holds chunks and vectors
        already computed (:meth:`embed_ahead`); only what it lacks is embedded here.

        Holds the index's writer lock throughout (another ingest, here or in another process,
        waits); first finishes an ingest that was interrupted (:meth:`recover`).
        """
        with self.store.session():
            return self._ingest_articles(articles, prune, progress, flawed, keep, ahead)

    def _ingest_articles(self, articles, prune, progress, flawed, keep, ahead) -> IngestReport:
        started = time.perf_counter()
        # Page furniture out (a no-op for articles the readers already cleaned): the content hash
        # is that of the cleaned text, so an article indexed with its furniture is indexed again.
        articles = [clean_article(article) for article in articles]
        report = IngestReport(articles=len(articles))
        recovered = self.recover(progress)
        if recovered is not None:
            report.recovered = recovered.added + recovered.updated
            report.errors += recovered.errors
        self._pack_older_layout(report, progress)
        states = self.store.article_states()
        indexed = {aid: content_hash for aid, (content_hash, _) in states.items()}
        chosen: dict[str, Article] = {}
        for article in articles:
            kept = chosen.get(article.id)
            if kept is None:
                chosen[article.id] = article
                continue
            same = "url" if article.url else "title, outlet and date (no url)"
            if kept.content_hash == article.content_hash:
                report.errors.append(InputError(article.origin, f"duplicate of {kept.origin} (same {same} and text)",
                                                "remove one copy; the first one is indexed"))
                report.item(article, "duplicate", f"same {same} and text as {kept.origin}")
                continue
            winner, loser, why = _preferred(kept, article, indexed, flawed)
            chosen[article.id] = winner
            report.item(loser, "failed", f"same {same} as {winner.origin} but different content ({why})")
            report.errors.append(InputError(
                loser.origin, f"same {same} as {winner.origin} but different content; {winner.origin} is indexed "
                f"({why})", "give each article its own url, or remove the copy you do not want"))
        todo: dict[str, Article] = {}
        for aid, article in chosen.items():
            if indexed.get(aid) == article.content_hash:
                report.unchanged += 1
                report.item(article, "unchanged")
            else:
                todo[aid] = article
        clock = time.perf_counter()
        self._group_copies(chosen, todo, indexed, report)
        report.timed("copies", clock)
        stale = [aid for aid in indexed if aid not in chosen] if prune else []
        if stale and keep is not None:
            stale = [aid for aid in stale if not keep(self._origin_of(aid))]
        # Journaled before the first write: if this process dies part-way, the next ingest (or the
        # server's start) writes these again, even when they came from an upload's temporary files.
        entry = self.journal.write(list(todo.values()), stale) if todo or stale else None
        crash_point("journal")
        self._write(list(todo.values()), indexed, report, progress, ahead)
        if stale:
            self.store.delete_articles(stale)
            crash_point("prune")
            report.removed = len(stale)
            if self.syndication is not None:
                self.syndication.forget(stale)
        if entry is not None:
            self.journal.done(entry)
        lacking = [aid for aid, (content_hash, has) in states.items()
                   if content_hash and not has and aid not in todo and aid not in stale]
        self._backfill(lacking, report, progress)
        report.failed = failures(report.errors)
        report.seconds = time.perf_counter() - started
        return report

    def recover(self, progress: bool | Progress = False) -> IngestReport | None:
        """Finish what an interrupted ingest left (None when nothing was interrupted).

        Repairs the collection (:meth:`ChunkStore.repair`: a changed article's whole new version is
        put in place, partial writes are removed) and writes each journaled ingest again (articles
        already whole are not embedded again). The server calls it when it starts; every ingest
        calls it first."""
        with self.store.session():
            pending = self.journal.pending()
            if not pending and not self.store.interrupted():
                return None
            started = time.perf_counter()
            report = IngestReport()
            repaired = self.store.repair()
            log.info("repaired an interrupted ingest: %s", repaired)
            for path in pending:
                try:
                    articles, stale = self.journal.read(path)
                except (OSError, ValueError, TypeError) as error:  # a journal cut short before it was complete
                    log.warning("journal %s unreadable (%s); the ingest it belonged to wrote nothing", path, error)
                    self.journal.done(path)
                    continue
                indexed = {aid: content_hash for aid, (content_hash, _) in self.store.article_states().items()}
                todo = [a for a in articles if indexed.get(a.id) != a.content_hash]
                report.articles += len(articles)
                report.unchanged += len(articles) - len(todo)
                self._write(todo, indexed, report, progress)
                gone = [aid for aid in stale if aid in indexed]
                if gone:
                    self.store.delete_articles(gone)
                    report.removed += len(gone)
                self.journal.done(path)
            report.failed = failures(report.errors)
            report.seconds = time.perf_counter() - started
            return report

    def _group_copies(self, chosen: dict[str, Article], todo: dict[str, Article], indexed: dict[str, str],
                      report: IngestReport) -> None:
        """Record every article in the syndication index (copies of one story form a group); a new
        article whose text is exactly that of another article is a ``duplicate``: recorded as a copy
        (its outlet, url and date are listed with the other's citations), taken out of ``todo``."""
        if self.syndication is None:
            return
        known = self.syndication.group_of(chosen)
        for aid, article in chosen.items():
            if aid not in todo and aid in known:
                continue  # unchanged and already recorded
            match = self.syndication.match(article) if aid not in indexed else None
            if match is not None and match.kind == "exact":
                del todo[aid]
                self.syndication.record(article, indexed=False)
                report.duplicates += 1
                report.item(article, "duplicate", f"same text as the indexed article {match.article_id}; "
                            "recorded as a copy, not indexed again")
                continue
            self.syndication.record(article)

    def _origin_of(self, article_id: str) -> str:
        chunks = self.store.article_chunks(article_id)
        return str(chunks[0].metadata.get("origin", "")) if chunks else ""

    def embed_ahead(self, articles: list[Article]) -> EmbeddedAhead:
        """Chunks and vectors of the new and changed ``articles``, computed without writing anything.

        For a server: call it before taking the index's write lock and hand the result to
        :meth:`ingest_articles` (``ahead=``), so that embedding, the slow part, does not hold up
        questions. Best effort: what is not ready here (or changed meanwhile) is embedded there.
        """
        ahead = EmbeddedAhead()
        articles = [clean_article(article) for article in articles]
        try:
            indexed = {aid: content_hash for aid, (content_hash, _) in self.store.article_states().items()}
        except Exception:  # noqa: BLE001 - the index is read again, under the lock, by ingest_articles
            return ahead
        todo: dict[tuple[str, str], Article] = {}
        for article in articles:
            key = (article.id, article.content_hash)
            if indexed.get(article.id) != article.content_hash:
                todo.setdefault(key, article)
        planned = self._plan(list(todo.values()), errors=None)
        for group in _groups(planned, min_chunks=128):
            for (article, _), ready in zip(group, self._vectors(group)):
                ahead.ready[(article.id, article.content_hash)] = ready
        return ahead

    def _plan(self, articles: list[Article], errors: list[InputError] | None) -> list[tuple[Article, list]]:
        """(Article, its chunks) for each article that can be chunked; the others are errors."""
        if not articles:
            return []
        planned = []
        for article in articles:
            try:
                reserved = self.embedder.count_tokens([article.title + "\n"])[0] + 2
                planned.append((article, self.chunker.chunk(article, reserved_tokens=reserved)))
            except Exception as error:  # noqa: BLE001 - one article that cannot be chunked spares the others
                if errors is not None:
                    detail = " ".join(str(error).split())[:200]
                    errors.append(InputError(article.origin, f"could not be split into chunks "
                                             f"({type(error).__name__}: {detail})",
                                             "check the article's text; the other articles were indexed"))
                    if self.syndication is not None:
                        self.syndication.forget([article.id])
        return planned

    def _vectors(self, group: list[tuple[Article, list]], report: IngestReport | None = None) -> list[Ready]:
        """Chunk and sentence vectors of a group of (article, chunks).

        ``sentence_vectors = "pooled"`` with an embedder that has ``embed_with_spans`` (the ONNX
        backends): a chunk's sentence vectors are pooled from the token states of the chunk's own
        forward pass. Otherwise each distinct sentence is embedded on its own in a second pass, or
        not at all with ``"none"`` (docs/research/sentence-vectors.md)."""
        if self.chunk_vectors == "sentence-mean" and self.sentence_vectors == "separate":
            return self._vectors_from_sentences(group, report)
        clock = time.perf_counter()
        texts = [embedding_text(a, c.text) for a, chunks in group for c in chunks]
        with_spans = getattr(self.embedder, "embed_with_spans", None) if self.sentence_vectors == "pooled" else None
        pooled = None
        if not texts:
            vectors = None
        elif with_spans is not None:
            leads = [len(embedding_text(a, "")) for a, chunks in group for _ in chunks]
            spans = [[(lead + start, lead + end) for start, end in split_sentences(c.text)]
                     for lead, c in zip(leads, (c for _, chunks in group for c in chunks))]
            vectors, flat = with_spans(texts, spans)
            pooled, at = [], 0
            for _, chunks in group:
                pooled.append(flat[at:at + len(chunks)])
                at += len(chunks)
        else:
            vectors = self.embedder.embed(texts)
        if report is not None:
            report.timed("embed_chunks", clock)
            clock = time.perf_counter()
        sentence_vectors, counts = self._sentence_vectors([[(c.start, c.text) for c in chunks] for _, chunks in group],
                                                          pooled)
        if report is not None:
            report.timed("embed_sentences", clock)
        ready, offset = [], 0
        for (_, chunks), per_chunk, count in zip(group, sentence_vectors, counts):
            ready.append(Ready(chunks, vectors[offset:offset + len(chunks)] if chunks else None, per_chunk, count))
            offset += len(chunks)
        return ready

    def _vectors_from_sentences(self, group: list[tuple[Article, list]], report: IngestReport | None) -> list[Ready]:
        """``chunk_vectors = "sentence-mean"``: one forward pass, over distinct sentences only. Each
        chunk's vector is the normalised mean of its title's vector and its sentences' vectors, so
        no token is embedded twice (no chunk pass; overlaps between chunks cost nothing)."""
        clock = time.perf_counter()
        titles = self.embedder.embed([a.title or "" for a, _ in group]) if group else None
        if report is not None:
            report.timed("embed_chunks", clock)
            clock = time.perf_counter()
        sentence_vectors, counts = self._sentence_vectors([[(c.start, c.text) for c in chunks] for _, chunks in group])
        if report is not None:
            report.timed("embed_sentences", clock)
        ready = []
        for k, ((_, chunks), per_chunk, count) in enumerate(zip(group, sentence_vectors, counts)):
            if not chunks:
                ready.append(Ready(chunks, None, per_chunk, count))
                continue
            rows = [titles[k] + (m.sum(axis=0) if len(m) else 0.0) for m in per_chunk]
            matrix = np.asarray(rows, dtype=np.float32)
            matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
            ready.append(Ready(chunks, matrix, per_chunk, count))
        return ready

    def _write(self, articles: list[Article], indexed: dict[str, str], report: IngestReport, progress,
               ahead: EmbeddedAhead | None = None) -> None:
        if not articles:
            return
        done = {a.id: ahead.ready[(a.id, a.content_hash)] for a in articles
                if ahead is not None and (a.id, a.content_hash) in ahead.ready}
        clock = time.perf_counter()
        planned = self._plan([a for a in articles if a.id not in done], report.errors)
        report.timed("chunk", clock)
        chunked = {a.id for a, _ in planned} | set(done)
        for article in articles:
            if article.id not in chunked:
                report.item(article, "failed", "could not be split into chunks")
        total = sum(len(r.chunks) for r in done.values()) + sum(len(chunks) for _, chunks in planned)
        bar = _progress_bar(total, progress, articles=len(done) + len(planned))
        try:
            if done:  # one section: readers see these articles all at once
                with self.store.section():
                    given = [a for a in articles if a.id in done]
                    self._store_group(given, [done[a.id] for a in given], indexed, report, bar)
            # Embedded outside the section (readers go on meanwhile), the next group while this one is written.
            for group, vectors in self._embedded(_groups(planned, min_chunks=128), report):
                clock = time.perf_counter()
                with self.store.section():
                    self._store_group([article for article, _ in group], vectors, indexed, report, bar)
                report.timed("write", clock)
        finally:
            bar(0, None)

    def _embedded(self, groups: Iterable[list[tuple[Article, list]]], report: IngestReport
                  ) -> Iterator[tuple[list[tuple[Article, list]], list[Ready]]]:
        """Each group with its vectors, embedded one group ahead in a background thread.

        The pipeline of an ingest: while the caller writes a group (Chroma's own threads, or a
        server's CPU in client/server mode), the next one is embedded (onnxruntime and torch release
        the GIL). At most one group waits, so memory stays bounded. An error while embedding is
        raised here; an error in the caller stops the thread after its current group."""
        ready: queue.Queue = queue.Queue(maxsize=1)
        stop = threading.Event()

        def produce() -> None:
            try:
                for group in groups:
                    item = (group, self._vectors(group, report))
                    while not stop.is_set():
                        try:
                            ready.put(item, timeout=0.2)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        return
                ready.put(None)
            except BaseException as error:  # noqa: BLE001 - handed to the consumer, which raises it
                ready.put(error)

        worker = threading.Thread(target=produce, name="ingest-embed", daemon=True)
        worker.start()
        try:
            while (item := ready.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            worker.join()

    def _store_group(self, articles: list[Article], ready: list[Ready], indexed: dict[str, str],
                     report: IngestReport, bar) -> None:
        """Changed articles one by one (each is staged), then the new ones together (a few large writes)."""
        for article, item in zip(articles, ready):
            if article.id in indexed:
                self._replace(article, item)
        self.store.add_articles([(a, r.chunks, r.vectors, r.sentence_vectors)
                                 for a, r in zip(articles, ready) if a.id not in indexed])
        for article, item in zip(articles, ready):  # reported in the order given (a feed's order)
            self._count(article, item, "updated" if article.id in indexed else "added", report, bar)

    def _count(self, article: Article, ready: Ready, status: str, report: IngestReport, bar) -> None:
        if status == "added":
            report.added += 1
        else:
            report.updated += 1
        report.item(article, status)
        report.chunks_embedded += len(ready.chunks)
        report.sentences_embedded += ready.sentences
        report.furniture_dropped += len(article.furniture)
        bar(len(ready.chunks), article.title)

    def _replace(self, article: Article, ready: Ready) -> None:
        # Embedded before anything is written; the old version stays whole until the new one is.
        if ready.chunks:
            self.store.replace_article(article, ready.chunks, ready.vectors, ready.sentence_vectors)
        else:
            self.store.delete_articles([article.id])

    def _sentence_vectors(self, articles: list[list[tuple[int, str]]], pooled: list[list[np.ndarray]] | None = None
                          ) -> tuple[list[list[np.ndarray]], list[int]]:
        """Per article, per chunk — given as (where it starts in the body, text) — its sentences'
        embeddings; and per article how many distinct sentences were embedded (overlapping chunks
        share some).

        ``pooled`` (per article, per chunk, a row per sentence: ``embed_with_spans``) are used as
        they are; only their zero rows (sentences past the model's window) are embedded here. With
        ``sentence_vectors = "none"`` every chunk gets an empty matrix (stored as "no sentences")."""
        sentences, rows = distinct_sentences((str(a), start, text) for a, chunks in enumerate(articles)
                                             for start, text in chunks)
        if self.sentence_vectors == "none":
            empty = np.zeros((0, 0), dtype=np.float32)
            return [[empty for _ in chunks] for chunks in articles], [0] * len(articles)
        if pooled is None:
            matrix = self.embedder.embed(sentences) if sentences else np.zeros((0, 0), dtype=np.float32)
            given = [matrix[chunk_rows] for chunk_rows in rows]
        else:
            given = [matrix for per_article in pooled for matrix in per_article]
            missing = sorted({i for chunk_rows, matrix in zip(rows, given)
                              for i, vector in zip(chunk_rows, matrix) if not vector.any()})
            if missing:
                alone = dict(zip(missing, self.embedder.embed([sentences[i] for i in missing])))
                given = [np.asarray([alone.get(i, v) for i, v in zip(chunk_rows, matrix)], dtype=np.float32)
                         .reshape(matrix.shape) for chunk_rows, matrix in zip(rows, given)]
        vectors, counts, at = [], [], 0
        for chunks in articles:
            vectors.append(given[at:at + len(chunks)])
            counts.append(len({i for chunk_rows in rows[at:at + len(chunks)] for i in chunk_rows}))
            at += len(chunks)
        return vectors, counts

    def complete_sentence_vectors(self, progress: bool | Progress = False) -> IngestReport:
        """Bring an index from an earlier version up to date: its sentence vectors packed one record
        per chunk (:meth:`ChunkStore.pack_sentence_vectors`, nothing embedded), and sentence vectors
        added to every indexed article that lacks them."""
        started = time.perf_counter()
        report = IngestReport()
        with self.store.session():
            self._pack_older_layout(report, progress)
            self._backfill(self.store.articles_lacking_sentence_vectors(), report, progress)
            report.unchanged = self.store.article_counts()[0] - report.sentences_backfilled
        report.seconds = time.perf_counter() - started
        return report

    def _pack_older_layout(self, report: IngestReport, progress) -> None:
        """An index from before the packed layout gets it, once and without embedding (the server's
        start and every ingest call this; reading works in either layout)."""
        if self.store.packed_sentences:
            return
        bar = _progress_bar(self.store.article_counts()[1], progress, desc="Packing sentence vectors")
        try:
            report.sentences_repacked += self.store.pack_sentence_vectors(lambda n: bar(n, "sentence vectors"))
        finally:
            bar(0, None)

    def _backfill(self, article_ids: list[str], report: IngestReport, progress) -> None:
        """Sentence vectors for articles indexed before they existed (their chunks stay as they are)."""
        if not article_ids:
            return
        bar = _progress_bar(len(article_ids), progress, desc="Sentence vectors", unit="article")
        try:
            for i in range(0, len(article_ids), 16):
                group = [self.store.article_chunks(aid) for aid in article_ids[i:i + 16]]
                vectors, counts = self._sentence_vectors([[(c.metadata.get("start", 0), c.text) for c in chunks]
                                                          for chunks in group])
                report.sentences_embedded += sum(counts)
                with self.store.section():
                    for aid, chunks, per_chunk in zip(article_ids[i:i + 16], group, vectors):
                        if chunks:
                            self.store.add_sentence_vectors(aid, [c.id for c in chunks], per_chunk)
                            self.store.mark_sentence_vectors(aid, {c.id: len(m) for c, m in zip(chunks, per_chunk)})
                            report.sentences_backfilled += 1
                        bar(1, aid)
        finally:
            bar(0, None)


def failures(errors: list[InputError]) -> int:
    """Files and records that failed (one error may stand for several not listed)."""
    return sum(getattr(error, "count", 1) for error in errors)


def _preferred(first: Article, second: Article, indexed: dict[str, str],
               flawed: Collection[str]) -> tuple[Article, Article, str]:
    """(Winner, loser, why) of two different articles with the same id, ``first`` read first."""
    first_flawed, second_flawed = first.origin in flawed, second.origin in flawed
    if first_flawed != second_flawed:
        return (second, first, "its file read cleanly; the other's file has errors") if first_flawed \
            else (first, second, "its file read cleanly; the other's file has errors")
    for kept, other in ((first, second), (second, first)):
        if indexed.get(kept.id) == kept.content_hash:
            return kept, other, "it is the version already indexed"
    return first, second, "it was read first"


def _failed_origins(errors: list[InputError]) -> Callable[[str], bool]:
    """Whether an article origin (``file``, ``file[3]``, ``file:3``) lies in a file or record that failed."""
    failed = {error.where for error in errors}

    def covered(origin: str) -> bool:
        if origin in failed:
            return True
        base = re.split(r"(?:\[\d+\]|:\d+)$", origin)[0]
        return base in failed and base != origin
    return covered


def _groups(planned, min_chunks: int):
    """Articles grouped so that each embedding call gets at least ``min_chunks`` chunks."""
    group, size = [], 0
    for article, chunks in planned:
        group.append((article, chunks))
        size += len(chunks)
        if size >= min_chunks:
            yield group
            group, size = [], 0
    if group:
        yield group


def _progress_bar(total: int, progress, desc: str = "Embedding", unit: str = "chunk", articles: int = 0):
    """A callback advancing a tqdm bar (progress=True) or a UI callback (callable).

    Each call ``advance(n, title)`` reports one article of ``n`` units (chunks); the tqdm bar shows
    chunks, chunks/s and an ETA, and articles done of ``articles``."""
    if callable(progress):
        done = 0

        def advance(n, what):
            nonlocal done
            done += n
            if what is not None:
                progress(done, total, what)
        return advance
    if progress and total:
        from tqdm import tqdm

        bar = tqdm(total=total, unit=unit, desc=desc, dynamic_ncols=True)
        done = 0

        def advance(n, what):
            nonlocal done
            if what is None:
                bar.close()
                return
            done += 1
            if articles:
                bar.set_postfix_str(f"{done}/{articles} articles", refresh=False)
            bar.update(n)
        return advance
    return lambda n, what: None
