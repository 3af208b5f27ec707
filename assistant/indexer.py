"""Ingestion: read articles, chunk the new and changed ones, embed them, write them to Chroma."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .chunking import SentenceChunker
from .embedders import Embedder
from .errors import InputError
from .ingest.readers import read_paths
from .models import Article
from .store import ChunkStore

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
    seconds: float = 0.0
    errors: list[InputError] = field(default_factory=list)

    @property
    def chunks_per_second(self) -> float:
        return self.chunks_embedded / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        if not self.chunks_embedded and not self.removed:
            head = f"Index up to date: {self.unchanged} articles unchanged, nothing embedded"
        else:
            head = (f"Indexed {self.added} new and {self.updated} changed articles "
                    f"({self.chunks_embedded} chunks, {self.chunks_per_second:.1f} chunks/s), "
                    f"{self.unchanged} unchanged, {self.removed} removed")
        tail = f"; {self.failed} failed" if self.failed else ""
        return f"{head}{tail} in {self.seconds:.1f}s from {self.files} files."

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
        indexed = self.store.article_hashes()
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
                offset = 0
                for article, chunks in group:
                    # Embedded before anything is deleted: a failure leaves the old version intact.
                    if article.id in indexed:
                        self.store.delete_articles([article.id])
                        report.updated += 1
                    else:
                        report.added += 1
                    if chunks:
                        self.store.add_article(article, chunks, vectors[offset:offset + len(chunks)])
                    offset += len(chunks)
                    report.chunks_embedded += len(chunks)
                    bar(len(chunks), article.title)
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


def _progress_bar(total: int, progress):
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

        bar = tqdm(total=total, unit="chunk", desc="Embedding", dynamic_ncols=True)

        def advance(n, what):
            bar.update(n) if what is not None else bar.close()
        return advance
    return lambda n, what: None
