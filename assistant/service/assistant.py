"""The assistant's Python API: ingest, search, ask, list and delete articles."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from assistant.filters import SearchFilters
from assistant.ingest.indexer import IngestReport
from assistant.models import Answer, Passage
from assistant.settings import Settings


class Assistant:
    """Facade over the index, the retriever and the answer writer. Build it with ``build_assistant``."""

    def __init__(self, settings: Settings, store, bm25, retriever, answerer, indexer, chat_model=None, prompts=None):
        self.settings = settings
        self.store = store
        self.bm25 = bm25
        self.retriever = retriever
        self.answerer = answerer
        self.indexer = indexer
        self.chat_model = chat_model  # rewrites follow-up questions when set (LLM mode)
        self.prompts = prompts

    def ingest(self, paths: Iterable[str | Path] | None = None, prune: bool = False, progress=False) -> IngestReport:
        paths = list(paths) if paths else [self.settings.corpus_dir]
        report = self.indexer.ingest_paths(paths, prune=prune, progress=progress)
        self.bm25.ensure_fresh()
        return report

    def search(self, query: str, k: int | None = None, filters: SearchFilters | None = None) -> list[Passage]:
        return self.retriever.search(query, k or self.settings.retrieval_k, filters)

    def ask(self, question: str, k: int | None = None, filters: SearchFilters | None = None,
            history: list | None = None) -> Answer:
        """Answer ``question``; ``history`` (earlier Answers or ``{"question", "answer"}`` dicts) lets
        follow-ups like "What else did he say?" refer back."""
        final = None
        for piece in self._answer(question, k, filters, history, stream=False):
            final = piece
        return final

    def ask_stream(self, question: str, k: int | None = None, filters: SearchFilters | None = None,
                   history: list | None = None) -> Iterator[str | Answer]:
        """Text pieces of the answer as they are written, then the complete :class:`Answer`."""
        yield from self._answer(question, k, filters, history, stream=True)

    def _answer(self, question, k, filters, history, stream: bool) -> Iterator[str | Answer]:
        started = time.perf_counter()
        plan = self._plan(question, filters, history)
        passages = self.search(plan.request.question, k, plan.filters)
        if not passages and "time_filter" in plan.trace:
            # Nothing published then: search all dates rather than answer from nothing.
            plan.filters = filters
            plan.trace["time_filter"]["relaxed"] = True
            passages = self.search(plan.request.question, k, plan.filters)
        retrieved = time.perf_counter()
        if stream and hasattr(self.answerer, "answer_stream"):
            answer = None
            for piece in self.answerer.answer_stream(plan.request.question, passages, plan.request):
                if isinstance(piece, Answer):
                    answer = piece
                else:
                    yield piece
        else:
            answer = self.answerer.answer(plan.request.question, passages, plan.request)
            if stream:
                yield answer.answer
        done = time.perf_counter()
        answer.question = question
        answer.timings_ms.update(retrieve=round((retrieved - started) * 1000, 1),
                                 answer=round((done - retrieved) * 1000, 1),
                                 total=round((done - started) * 1000, 1))
        answer.trace.update(plan.trace)
        answer.trace.setdefault("filters", (plan.filters or SearchFilters()).model_dump())
        yield answer

    def _plan(self, question: str, filters: SearchFilters | None, history: list | None) -> "_Plan":
        """Standalone question, effective filters and the answer request (see assistant.answering)."""
        from assistant.query.questions import outlets_in, parse_speaker_question
        from assistant.answer.request import AnswerRequest
        from assistant.query.timeframes import parse_timeframe
        from assistant.query.conversation import condense

        follow = condense(question, history, self.chat_model, self.prompts)
        standalone = follow.question
        given = filters or SearchFilters()
        timeframe = parse_timeframe(standalone, self.reference_date())
        effective = given
        notes = {}
        if timeframe.is_filter and self.settings.time_filters and not (given.since or given.until) \
                and self._catalog()["newest"]:
            effective = SearchFilters(**{**given.model_dump(),
                                         "since": timeframe.since.isoformat() if timeframe.since else None,
                                         "until": timeframe.until.isoformat() if timeframe.until else None})
            notes["time_filter"] = {"since": effective.since, "until": effective.until,
                                    "from_words": timeframe.phrases}
        elif follow.filters is not None and given.is_empty():
            effective = follow.filters
        outlets = outlets_in(standalone, self.sources())
        request = AnswerRequest(standalone, speaker=parse_speaker_question(standalone), timeframe=timeframe,
                                outlets=outlets.known, unknown_outlets=outlets.unknown, exclude=follow.exclude)
        trace = {"standalone_question": standalone, "followup": follow.as_trace(), **notes}
        return _Plan(request, None if effective.is_empty() else effective, trace)

    def reference_date(self) -> date:
        """'Today' for relative time words: ASSISTANT_REFERENCE_DATE, else the newest indexed article."""
        if self.settings.reference_date:
            return date.fromisoformat(self.settings.reference_date[:10])
        newest = self._catalog()["newest"]
        return date.fromisoformat(newest[:10]) if newest else date.today()

    def _catalog(self) -> dict:
        """Outlets and newest publication date of the index, recomputed when the index changes."""
        revision = self.store.revision
        cached = getattr(self, "_catalog_cache", None)
        if cached is None or cached[0] != revision:
            rows = self.articles()
            cached = (revision, {"sources": sorted({r["source"] for r in rows if r["source"]}),
                                 "newest": max((r["published_at"] for r in rows if r["published_at"]), default=None)})
            self._catalog_cache = cached
        return cached[1]

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
        return list(self._catalog()["sources"])

    def delete_article(self, article_id: str) -> bool:
        if not self.store.article_chunks(article_id):
            return False
        self.store.delete_articles([article_id])
        self.store.bump_revision()
        return True


@dataclass
class _Plan:
    request: object  # AnswerRequest
    filters: SearchFilters | None
    trace: dict
