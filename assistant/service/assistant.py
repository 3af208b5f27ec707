"""The assistant's Python API: ingest, search, ask, list and delete articles."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

from assistant.answer.parts import Renumbering, settle
from assistant.answer.request import no_answer
from assistant.filters import SearchFilters, describe_filters
from assistant.ingest.indexer import IngestReport
from assistant.errors import ConfigError, InputError
from assistant.models import Answer, Passage, PublishedCopy
from assistant.query.analysis import QueryPlan
from assistant.settings import Settings


class Assistant:
    """Facade over the index, the retriever and the answer writer. Build it with ``build_assistant``."""

    def __init__(self, settings: Settings, store, bm25, retriever, answerer, indexer, analyzer,
                 chat_model=None, profile=None, syndication=None):
        self.settings = settings
        self.store = store
        self.bm25 = bm25
        self.retriever = retriever
        self.answerer = answerer
        self.indexer = indexer
        self.analyzer = analyzer  # the one question reader (assistant.query.analyzer)
        self.chat_model = chat_model  # rewrites follow-up questions when set (LLM mode)
        self.profile = profile  # the retrieval profile the parts were built from
        self.syndication = syndication  # copies of one story across outlets (assistant.live.syndication)
        self._live = None

    def ingest(self, paths: Iterable[str | Path] | None = None, prune: bool = False, progress=False) -> IngestReport:
        """Index files and folders, and live sources: http(s) URLs of feeds or article pages and
        local .xml/.rss/.atom feed files (``report.items`` says what became of each article)."""
        from assistant.index.store import check_embedder
        from assistant.live import is_live_source

        sources = list(paths) if paths else [self.settings.corpus_dir]
        live = [s for s in sources if is_live_source(s)]
        files = [s for s in sources if not is_live_source(s)]
        if live and prune:
            raise ConfigError("--prune removes what is not in the files and folders given, so it cannot be "
                              f"used with URLs or feeds ({live[0]}); ingest them without --prune")
        check_embedder(self.store, self.indexer.embedder, record=True)
        report = self.indexer.ingest_paths(files, prune=prune, progress=progress) if files else IngestReport()
        if live:
            started = time.perf_counter()
            fetched = self.live(progress=progress).ingest(live, progress=_fetch_progress(progress))
            report.absorb(fetched)
            report.seconds += time.perf_counter() - started
        clock = time.perf_counter()
        self.bm25.ensure_fresh()
        report.timed("bm25", clock)
        report.seconds += time.perf_counter() - clock
        return report

    # --- live news ---------------------------------------------------------------------------
    def live(self, write=None, progress=False):
        """The :class:`~assistant.live.ingest.LiveIngest` of this index: ``write(articles)`` indexes
        what it fetched (default: this process's indexer; a server passes its locked wrapper)."""
        from assistant.live.fetch import Fetcher, FetchPolicy
        from assistant.live.ingest import LiveIngest
        from assistant.live.sources import LiveReader
        from assistant.live.subscriptions import FeedRegistry

        if self._live is None:
            s = self.settings
            fetcher = Fetcher(FetchPolicy(timeout=s.fetch_timeout, max_bytes=int(s.fetch_max_mb * 2**20),
                                          host_delay=s.fetch_host_delay, allow=s.fetch_allow))
            registry = FeedRegistry(self.store.state_dir / "feeds.sqlite3")
            self._live = (fetcher, registry)
        fetcher, registry = self._live
        reader = LiveReader(fetcher, registry, indexed=self._recorded)
        return LiveIngest(reader, registry, write or (lambda articles: self._write_fetched(articles, progress)))

    def _write_fetched(self, articles, progress) -> IngestReport:
        from assistant.index.store import check_embedder

        check_embedder(self.store, self.indexer.embedder, record=True)
        report = self.indexer.ingest_articles(articles, progress=progress)
        self.bm25.ensure_fresh()
        return report

    def _recorded(self, article_id: str) -> bool:
        """Whether an article fetched before is still in the index (or recorded as a copy)."""
        if self.syndication is not None:
            return bool(self.syndication.group_of([article_id]))
        return bool(self.store.article_chunks(article_id))

    def feeds(self) -> list:
        """The subscribed feeds (:class:`~assistant.live.subscriptions.FeedRecord`), oldest first."""
        return self.live().registry.feeds()

    def add_feed(self, url: str, fetch: bool = True, write=None, progress=None):
        """Subscribe to the feed at ``url`` once a fetch shows it is one (InputError with the reason
        when it cannot be fetched or is not a feed) and (``fetch``) index its items now: its
        :class:`~assistant.live.ingest.FeedRefresh`, or its record when not fetched."""
        url = check_feed_url(url)
        return self.live(write=write).subscribe(url, fetch=fetch, progress=progress)

    def remove_feed(self, url: str) -> bool:
        """Unsubscribe; what the feed brought stays indexed. False when it was not subscribed."""
        return self.live().registry.remove(url.strip())

    def refresh_feeds(self, urls: Iterable[str] | None = None, progress=None, write=None) -> list:
        """Fetch the subscribed feeds again (all, or ``urls``) and index what is new or changed."""
        return self.live(write=write).refresh(urls, progress=progress)

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
        passages = self._one_copy_per_story(plan, k, plan.filters) if self.store.count() else []
        if not passages and "time_filter" in plan.notes:
            # Nothing published then: search all dates rather than answer from nothing.
            plan.filters = filters
            plan.notes["time_filter"]["relaxed"] = True
            passages = self._one_copy_per_story(plan, k, plan.filters)
        return plan, passages

    def _one_copy_per_story(self, plan: QueryPlan, k: int, filters) -> list[Passage]:
        """The retriever's passages with syndicated copies of a story left out: of the articles of
        one group, only the best-ranked one's passages stay (its citations list the others).
        When copies were left out, the retriever is asked once more for as many more passages."""
        passages = self.retriever.retrieve(plan, k, filters)
        kept, dropped = _first_copies(passages, self._groups(passages))
        if dropped and len(passages) == k:
            more = self.retriever.retrieve(plan, min(k + dropped, 100), filters)
            kept, _ = _first_copies(more, self._groups(more))
            kept = kept[:k]
        return kept

    def _groups(self, passages: list[Passage]) -> dict[str, str]:
        if self.syndication is None or len({p.article_id for p in passages}) < 2:
            return {}
        return self.syndication.group_of({p.article_id for p in passages})

    def copies_of(self, article_id: str) -> list[PublishedCopy]:
        """Other outlets' copies of the article's story, oldest first."""
        if self.syndication is None:
            return []
        return [PublishedCopy(source=c.source, url=c.url, published_at=c.published_at)
                for c in self.syndication.copies(article_id)]

    def _answer(self, question, k, filters, history, as_of, stream: bool) -> Iterator[str | Answer]:
        started = time.perf_counter()
        plan, passages = self.retrieve(question, k, filters, history, as_of)
        retrieved = time.perf_counter()
        request = plan.request
        declined = None if passages else self._why_nothing(plan, filters)
        numbering = Renumbering()  # citations from [1] in reading order, the same in the stream and the Answer
        if declined is not None:
            answer = Answer(question=question, answer=no_answer(declined["reason"]), abstained=True,
                            confidence="none", confidence_reason=declined["reason"] or "no passage was found",
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
                    yield numbering.text(piece)
        else:
            answer = self.answerer.answer(plan.query, passages, request)
            if stream:
                yield numbering.text(answer.answer)
        recency = plan.notes.get("recency") or {}
        if recency.get("asked") and not answer.abstained:  # say what "latest" was measured from
            note = f"\n\n(Newest coverage first, relative to {recency['reference_date']}.)"
            answer.answer += note
            if stream:
                yield note
        settle(answer, numbering)
        done = time.perf_counter()
        answer.question = question
        for citation in answer.citations:
            citation.also_published_by = self.copies_of(citation.article_id)
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

    def health(self) -> dict[str, str]:
        """Each part a question goes through, exercised once: ``{part: "ok" | what is wrong}``, in the
        order a question meets them (the index in Chroma, the BM25 files, the embedding model, a
        search through the retriever). A damaged BM25 file found here is repaired (and said so)."""
        parts: dict[str, str] = {}

        def check(name, run):
            try:
                parts[name] = run() or "ok"
            except Exception as error:  # noqa: BLE001 - the point: name the part, whatever failed
                parts[name] = f"failed: {type(error).__name__}: {str(error)[:300]}"

        check("index", lambda: (self.store.article_counts(), None)[1])
        check("bm25", lambda: (self.bm25.ensure_fresh(), _repaired(self.bm25.verify()))[1])
        check("embedding_model", lambda: None if len(self.indexer.embedder.embed(["health check"])[0]) else "no vector")
        check("retrieval", lambda: (self.search("news"), None)[1])
        return parts

    def is_empty(self) -> bool:
        return self.store.count() == 0

    def articles(self, duplicates: bool = False) -> list[dict]:
        """One row per indexed article: id (and article_id), title, source, author, published_at,
        category, url, chunks, furniture_dropped (lines of page furniture left out at ingest); with
        ``duplicates``, also the other outlets' copies of its story (``[{source, url, published_at}]``). Read from the article table: O(articles)."""
        rows = [{"id": r.article_id, "article_id": r.article_id, **r.fields(), "chunks": r.chunk_count,
                 "furniture_dropped": r.furniture_dropped}
                for r in self.store.article_records()]
        ordered = sorted(rows, key=lambda r: (r["published_at"] or "", r["title"]), reverse=True)
        if duplicates:
            shared = self.syndication.shared_groups() if self.syndication is not None else {}
            group_of = {c.article_id: group for group, members in shared.items() for c in members}
            for row in ordered:
                members = shared.get(group_of.get(row["id"]), [])
                row["duplicates"] = [PublishedCopy(source=c.source, url=c.url, published_at=c.published_at).model_dump()
                                     for c in members if c.article_id != row["id"]]
        return ordered

    def sources(self) -> list[str]:
        return list(self._catalog()["sources"])

    def delete_article(self, article_id: str) -> bool:
        if not self.store.article_chunks(article_id):
            return False
        self.store.delete_articles([article_id])
        self.store.bump_revision()
        if self.syndication is not None:
            self.syndication.forget([article_id])
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


def _first_copies(passages: list[Passage], groups: dict[str, str]) -> tuple[list[Passage], int]:
    """``passages`` without those of a later copy of a story already represented; how many were left out."""
    chosen: dict[str, str] = {}  # group -> the article that represents it
    kept = []
    for p in passages:
        group = groups.get(p.article_id, p.article_id)
        if chosen.setdefault(group, p.article_id) == p.article_id:
            kept.append(p)
    return kept, len(passages) - len(kept)


def check_feed_url(url: str) -> str:
    """``url`` stripped, or an InputError naming it when it is not an http(s) URL."""
    url = (url or "").strip()
    if not url.lower().startswith(("http://", "https://")) or len(url) > 2000 or any(c.isspace() for c in url):
        raise InputError(url[:200] or "(empty)", "not an http(s) URL of a feed",
                         "give the feed's address, e.g. https://example.com/rss.xml")
    return url


def _repaired(repairs: list[str]) -> str | None:
    return f"ok (repaired {len(repairs)} damaged files: {'; '.join(repairs)[:300]})" if repairs else None


def _fetch_progress(progress):
    """Fetching URLs: one line per URL on stderr when progress is shown in a terminal."""
    if progress is True:
        import sys

        return lambda url: print(f"Fetching {url}", file=sys.stderr, flush=True)
    return None
