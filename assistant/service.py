"""The assistant's Python API: ingest, search, ask, list and delete articles."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from .filters import SearchFilters
from .indexer import IngestReport
from .models import Answer, Passage
from .settings import Settings


class Assistant:
    """Facade over the index, the retriever and the answer writer. Build it with ``build_assistant``."""

    def __init__(self, settings: Settings, store, bm25, retriever, answerer, indexer):
        self.settings = settings
        self.store = store
        self.bm25 = bm25
        self.retriever = retriever
        self.answerer = answerer
        self.indexer = indexer

    def ingest(self, paths: Iterable[str | Path] | None = None, prune: bool = False, progress=False) -> IngestReport:
        paths = list(paths) if paths else [self.settings.corpus_dir]
        report = self.indexer.ingest_paths(paths, prune=prune, progress=progress)
        self.bm25.ensure_fresh()
        return report

    def search(self, query: str, k: int | None = None, filters: SearchFilters | None = None) -> list[Passage]:
        return self.retriever.search(query, k or self.settings.retrieval_k, filters)

    def ask(self, question: str, k: int | None = None, filters: SearchFilters | None = None) -> Answer:
        started = time.perf_counter()
        passages = self.search(question, k, filters)
        retrieved = time.perf_counter()
        answer = self.answerer.answer(question, passages)
        done = time.perf_counter()
        answer.timings_ms.update(retrieve=round((retrieved - started) * 1000, 1),
                                 answer=round((done - retrieved) * 1000, 1),
                                 total=round((done - started) * 1000, 1))
        answer.trace.setdefault("filters", (filters or SearchFilters()).model_dump())
        return answer

    def ask_stream(self, question: str, k: int | None = None, filters: SearchFilters | None = None) -> Iterator[str | Answer]:
        """Text pieces of the answer as they are written, then the complete :class:`Answer`."""
        answer = self.ask(question, k, filters)
        yield answer.answer
        yield answer

    def is_empty(self) -> bool:
        return self.store.count() == 0

    def articles(self) -> list[dict]:
        """One row per indexed article: id, title, source, published_at, category, url, chunks."""
        rows: dict[str, dict] = {}
        for chunk in self.store.iter_chunks():
            m = chunk.metadata
            row = rows.setdefault(m["article_id"], {
                "id": m["article_id"], "title": m.get("title", ""), "source": m.get("source") or None,
                "author": m.get("author") or None, "published_at": m.get("published_at") or None,
                "category": m.get("category") or None, "url": m.get("url") or None, "chunks": 0,
            })
            row["chunks"] += 1
        return sorted(rows.values(), key=lambda r: (r["published_at"] or "", r["title"]), reverse=True)

    def sources(self) -> list[str]:
        return sorted({a["source"] for a in self.articles() if a["source"]})

    def delete_article(self, article_id: str) -> bool:
        if not self.store.article_chunks(article_id):
            return False
        self.store.delete_articles([article_id])
        self.store.bump_revision()
        return True
