"""The assistant's Python API: ingest, search, ask, list and delete articles."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

from assistant.answer.request import no_answer
from assistant.filters import SearchFilters, describe_filters
from assistant.ingest.indexer import IngestReport
from assistant.models import Answer, Passage
from assistant.query.analysis import QueryPlan
from assistant.settings import Settings


class Assistant:
    """Facade over the index, the retriever and the answer writer. Build it with ``build_assistant``."""

    def __init__(self, settings: Settings, store, bm25, retriever, answerer, indexer, analyzer,
                 chat_model=None, profile=None):
        self.settings = settings
        self.store = store
        self.bm25 = bm25
        self.retriever = retriever
        self.answerer = answerer
        self.indexer = indexer
        self.analyzer = analyzer  # the one question reader (assistant.query.analyzer)
        self.chat_model = chat_model  # rewrites follow-up questions when set (LLM mode)
        self.profile = profile  # the retrieval profile the parts were built from

    def ingest(self, paths: Iterable[str | Path] | None = None, prune: bool = False, progress=False) -> IngestReport:
        from assistant.index.store import check_embedder

        paths = list(paths) if paths else [self.settings.corpus_dir]
        check_embedder(self.store, self.indexer.embedder, record=True)
        report = self.indexer.ingest_paths(paths, prune=prune, progress=progress)
        self.bm25.ensure_fresh()
        return report

    def search(self, query: str, k: int | None = None, filters: SearchFilters | None = None,
               as_of: date | None = None) -> list[Passage]:
        """The ``k`` best passages for ``query`` (time words in it are not turned into filters here)."""
        if not query.strip() or self.store.count() == 0:
            return []
        with self.bm25.pinned():  # one BM25 state for the whole request, whatever is swapped in meanwhile
            plan = self.analyzer.analyze(query, as_of=as_of)
            return self.retriever.retrieve(plan, k or self.settings.retrieval_k, filters)

    def ask(self, question: str, k: int | None = None, filters: SearchFilters | None = None,
            history: list | None = None, as_of: date | None = None) -> Answer:
        """Answer ``question``; ``history`` (earlier Answers or ``{"question", "answer"}`` dicts) lets
        follow-ups like "What else did he say?" refer back; ``as_of`` is "today" for its time words."""
        final = None
        for piece in self._answer(question, k, filters, history, as_of, stream=False):
            final = piece
        return final

    def ask_stream(self, question: str, k: int | None = None, filters: SearchFilters | None = None,
                   history: list | None = None, as_of: date | None = None) -> Iterator[str | Answer]:
        """Text pieces of the answer as they are written, then the complete :class:`Answer`."""
        yield from self._answer(question, k, filters, history, as_of, stream=True)

    def retrieve(self, question: str, k: int | None = None, filters: SearchFilters | None = None,
                 history: list | None = None, as_of: date | None = None) -> tuple[QueryPlan, list[Passage]]:
        """The plan of ``question`` and the passages ``ask`` answers it from (time words filter dates;
        when that leaves nothing, all dates are searched and the plan says so)."""
        with self.bm25.pinned():  # one BM25 state for the whole request, whatever is swapped in meanwhile
            return self._retrieve(question, k, filters, history, as_of)

    def _retrieve(self, question, k, filters, history, as_of) -> tuple[QueryPlan, list[Passage]]:
        plan = self.analyzer.analyze(question, history, filters, as_of or self._reference_date())
        k = k or self.settings.retrieval_k
        passages = self.retriever.retrieve(plan, k, plan.filters) if self.store.count() else []
        if not passages and "time_filter" in plan.notes:
            # Nothing published then: search all dates rather than answer from nothing.
            plan.filters = filters
            plan.notes["time_filter"]["relaxed"] = True
            passages = self.retriever.retrieve(plan, k, plan.filters)
        return plan, passages

    def _answer(self, question, k, filters, history, as_of, stream: bool) -> Iterator[str | Answer]:
        started = time.perf_counter()
        plan, passages = self.retrieve(question, k, filters, history, as_of)
        retrieved = time.perf_counter()
        request = plan.request
        declined = None if passages else self._why_nothing(plan, filters)
        if declined is not None:
            answer = Answer(question=question, answer=no_answer(declined["reason"]), abstained=True,
                            mode=getattr(self.answerer, "mode", "extractive"), trace={"abstain_reason": declined["why"],
                                                                                      "decline": declined})
            if stream:
                yield answer.answer
        elif stream and hasattr(self.answerer, "answer_stream"):
            answer = None
            for piece in self.answerer.answer_stream(plan.query, passages, request):
                if isinstance(piece, Answer):
                    answer = piece
                else:
                    yield piece
        else:
            answer = self.answerer.answer(plan.query, passages, request)
            if stream:
                yield answer.answer
        done = time.perf_counter()
        answer.question = question
        answer.timings_ms.update(retrieve=round((retrieved - started) * 1000, 1),
                                 answer=round((done - retrieved) * 1000, 1),
                                 total=round((done - started) * 1000, 1))
        answer.trace.update({"standalone_question": plan.query, "followup": plan.followup.as_trace(),
                             "profile": self.profile.name if self.profile else None, **plan.notes})
        answer.trace.setdefault("filters", (plan.filters or SearchFilters()).model_dump())
        yield answer

    def _why_nothing(self, plan: QueryPlan, given: SearchFilters | None) -> dict:
        """Why no passage was found, said so the user knows the next step: an empty index (and where
        it is), or filters that leave no article (which ones, and how many articles they leave)."""
        if self.store.count() == 0:
            where = f"{self.settings.data_dir} (collection {self.settings.collection!r})"
            return {"why": "empty index", "reason": f"the index in {where} is empty; add articles with "
                    "'assistant ingest FOLDER' or the web chat's upload", "next_step": "ingest articles"}
        filters = plan.filters or given
        if filters is not None and not filters.is_empty():
            rows = self.articles()
            left = sum(1 for r in rows if filters.matches(_article_metadata(r)))
            described = describe_filters(filters)
            undated = sum(1 for r in rows if not r["published_at"])
            note = f" ({undated} undated articles never pass a date filter)" if undated and (
                filters.since or filters.until) else ""
            return {"why": "filters", "filters": described, "articles_left": left, "articles": len(rows),
                    "reason": (f"the filters {described} leave none of the {len(rows)} articles" if not left else
                               f"the filters {described} leave {left} of {len(rows)} articles and none of them "
                               "matches") + f"{note}; clear the filters or search all dates",
                    "next_step": "clear the filters"}
        return {"why": "no match", "reason": None, "next_step": "rephrase the question"}

    def _reference_date(self) -> date | None:
        return date.fromisoformat(self.settings.reference_date[:10]) if self.settings.reference_date else None

    def reference_date(self) -> date:
        """'Today' for relative time words: ASSISTANT_REFERENCE_DATE, else the real today."""
        return self._reference_date() or date.today()

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

    def quotes(self, person: str, about: str | None = None) -> list:
        """Every statement the indexed articles attribute to ``person`` (about ``about``, if given),
        verbatim with its article: a list of :class:`~assistant.answer.quotes.Quote`."""
        from assistant.answer.quotes import finder_for

        return finder_for(self).quotes(person, about)


def _article_metadata(row: dict) -> dict:
    """An article row of :meth:`Assistant.articles` in the shape filters match chunk metadata."""
    from assistant.models import iso_to_ts

    return {"source": row["source"], "category": row["category"],
            "published_ts": iso_to_ts(row["published_at"]) if row["published_at"] else -1}
