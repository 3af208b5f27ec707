"""Ingestion: read articles, chunk the new and changed ones, embed them, write them to Chroma.

Each chunk is embedded under its article's title, and each of its sentences on its own (the
reranker's sentence-level signals). An index written before sentence vectors existed gets them
on the next ingest, without re-embedding its chunks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.text.chunking import SentenceChunker
from assistant.embed.embedders import Embedder
from assistant.errors import InputError
from assistant.ingest.readers import read_paths
from assistant.models import Article
from assistant.text.sentences import distinct_sentences
from assistant.index.store import ChunkStore

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
    seconds: float = 0.0
    errors: list[InputError] = field(default_factory=list)

    @property
    def chunks_per_second(self) -> float:
        return self.chunks_embedded / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        if not self.chunks_embedded and not self.removed:
            head = f"Index up to date: {self.unchanged} articles unchanged"
            head += "" if self.sentences_backfilled else ", nothing embedded"
        else:
            head = (f"Indexed {self.added} new and {self.updated} changed articles "
                    f"({self.chunks_embedded} chunks, {self.chunks_per_second:.1f} chunks/s), "
                    f"{self.unchanged} unchanged, {self.removed} removed")
        if self.sentences_backfilled:
            head += f"; sentence vectors added to {self.sentences_backfilled} articles indexed earlier"
        tail = f"; {self.failed} failed" if self.failed else ""
        origin = f" from {self.files} files" if self.files else ""
        return f"{head}{tail} in {self.seconds:.1f}s{origin}."

    def as_dict(self) -> dict:
        data = {k: v for k, v in self.__dict__.items() if k != "errors"}
        data["chunks_per_second"] = round(self.chunks_per_second, 2)
        data["errors"] = [{"where": e.where, "problem": e.problem, "fix": e.fix} for e in self.errors]
        return data


class Indexer:
    def __init__(self, store: ChunkStore, embedder: Embedder, chunker: SentenceChunker):
        self.store = store
        self.embedder = embedder
        self.chunker = chunker

    def ingest_paths(self, paths: Iterable[str | Path], prune: bool = False, progress: bool | Progress = False) -> IngestReport:
        started = time.perf_counter()
        read = read_paths(paths)
        report = self.ingest_articles(read.articles, prune=prune, progress=progress)
        report.files = read.files
        report.errors = read.errors + report.errors
        report.failed = len(report.errors)
        report.seconds = time.perf_counter() - started
        return report

    def ingest_articles(self, articles: list[Article], prune: bool = False, progress: bool | Progress = False) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport(articles=len(articles))
        states = self.store.article_states()
        indexed = {aid: content_hash for aid, (content_hash, _) in states.items()}
        todo: dict[str, Article] = {}
        for article in articles:
            if article.id in todo:
                report.errors.append(InputError(article.origin, f"duplicate of {todo[article.id].origin} (same article id)",
                                                "remove one copy; the first one is indexed"))
                continue
            if indexed.get(article.id) == article.content_hash:
                report.unchanged += 1
            else:
                todo[article.id] = article
        seen = {a.id for a in articles}
        stale = [aid for aid in indexed if aid not in seen] if prune else []
        try:
            self._write(list(todo.values()), indexed, report, progress)
            if stale:
                self.store.delete_articles(stale)
                report.removed = len(stale)
            lacking = [aid for aid, (_, has) in states.items() if not has and aid not in todo and aid not in stale]
            self._backfill(lacking, report, progress)
        finally:
            # Even after a failure part-way, whatever was written must reach the BM25 index.
            if report.added or report.updated or report.removed:
                self.store.bump_revision()
        report.failed = len(report.errors)
        report.seconds = time.perf_counter() - started
        return report

    def _write(self, articles: list[Article], indexed: dict[str, str], report: IngestReport, progress) -> None:
        if not articles:
            return
        reserved = {a.id: self.embedder.count_tokens([a.title + "\n"])[0] + 2 for a in articles}
        planned = [(a, self.chunker.chunk(a, reserved_tokens=reserved[a.id])) for a in articles]
        total = sum(len(chunks) for _, chunks in planned)
        bar = _progress_bar(total, progress)
        try:
            for group in _groups(planned, min_chunks=128):
                texts = [embedding_text(a, c.text) for a, chunks in group for c in chunks]
                vectors = self.embedder.embed(texts) if texts else None
                sentence_vectors, embedded = self._sentence_vectors([[(c.start, c.text) for c in chunks]
                                                                     for _, chunks in group])
                report.sentences_embedded += embedded
                offset = 0
                for (article, chunks), per_chunk in zip(group, sentence_vectors):
                    # Embedded before anything is deleted: a failure leaves the old version intact.
                    if article.id in indexed:
                        self.store.delete_articles([article.id])
                        report.updated += 1
                    else:
                        report.added += 1
                    if chunks:
                        self.store.add_article(article, chunks, vectors[offset:offset + len(chunks)], per_chunk)
                    offset += len(chunks)
                    report.chunks_embedded += len(chunks)
                    bar(len(chunks), article.title)
        finally:
            bar(0, None)

    def _sentence_vectors(self, articles: list[list[tuple[int, str]]]) -> tuple[list[list[np.ndarray]], int]:
        """Per article, per chunk — given as (where it starts in the body, text) — its sentences'
        embeddings; and how many distinct sentences were embedded (overlapping chunks share some)."""
        sentences, rows = distinct_sentences((str(a), start, text) for a, chunks in enumerate(articles)
                                             for start, text in chunks)
        matrix = self.embedder.embed(sentences) if sentences else np.zeros((0, 0), dtype=np.float32)
        per_chunk = iter(rows)
        return [[matrix[next(per_chunk)] for _ in chunks] for chunks in articles], len(sentences)

    def complete_sentence_vectors(self, progress: bool | Progress = False) -> IngestReport:
        """Add sentence vectors to every indexed article that lacks them (an index from an earlier version)."""
        started = time.perf_counter()
        report = IngestReport()
        states = self.store.article_states()
        self._backfill([aid for aid, (_, has) in states.items() if not has], report, progress)
        report.unchanged = len(states) - report.sentences_backfilled
        report.seconds = time.perf_counter() - started
        return report

    def _backfill(self, article_ids: list[str], report: IngestReport, progress) -> None:
        """Sentence vectors for articles indexed before they existed (their chunks stay as they are)."""
        if not article_ids:
            return
        bar = _progress_bar(len(article_ids), progress, desc="Sentence vectors", unit="article")
        try:
            for i in range(0, len(article_ids), 16):
                group = [self.store.article_chunks(aid) for aid in article_ids[i:i + 16]]
                vectors, embedded = self._sentence_vectors([[(c.metadata.get("start", 0), c.text) for c in chunks]
                                                            for chunks in group])
                report.sentences_embedded += embedded
                for aid, chunks, per_chunk in zip(article_ids[i:i + 16], group, vectors):
                    if chunks:
                        self.store.add_sentence_vectors(aid, [c.id for c in chunks], per_chunk)
                        self.store.mark_sentence_vectors(aid, {c.id: len(m) for c, m in zip(chunks, per_chunk)})
                        report.sentences_backfilled += 1
                    bar(1, aid)
        finally:
            bar(0, None)


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


def _progress_bar(total: int, progress, desc: str = "Embedding", unit: str = "chunk"):
    """A callback advancing a tqdm bar (progress=True) or a UI callback (callable)."""
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

        def advance(n, what):
            bar.update(n) if what is not None else bar.close()
        return advance
    return lambda n, what: None
