"""One Assistant used by many requests at once (web chat and REST API share it).

Questions run in parallel; ingesting and deleting wait until running questions are done and
hold new ones back meanwhile, so no question sees an index half rewritten.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from assistant.errors import ConfigError, NotAvailableHere
from assistant.filters import SearchFilters
from assistant.models import Answer, Passage
from assistant.apps.web.uploads import Upload, UploadReport, ingest_uploads


def local_model_missing() -> str | None:
    """None when the local provider's runtime and packaged model are installed; else what is missing."""
    from assistant.answer.local_llm import installed

    return installed()


def local_model_available() -> bool:
    return local_model_missing() is None


class ReadWriteLock:
    """Many readers or one writer; a waiting writer goes before readers that come after it."""

    def __init__(self):
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def reading(self):
        with self._cond:
            self._cond.wait_for(lambda: not self._writing and not self._writers_waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def writing(self):
        with self._cond:
            self._writers_waiting += 1
            self._cond.wait_for(lambda: not self._writing and not self._readers)
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


class SharedAssistant:
    """The parts of :class:`~assistant.service.Assistant` the web and API use, made safe to share."""

    def __init__(self, assistant):
        self.assistant = assistant
        self.settings = assistant.settings
        self.profile = assistant.profile
        self.lock = ReadWriteLock()
        self._by_mode = {assistant.settings.answer_mode: assistant}
        self._refreshing = threading.Lock()

    @classmethod
    def wrap(cls, assistant) -> "SharedAssistant":
        return assistant if isinstance(assistant, cls) else cls(assistant)

    # --- answer modes ----------------------------------------------------------------------
    def answer_modes(self) -> list[str]:
        """Modes a question may be answered in: extractive always, llm when it is configured, and
        local (the packaged small model on this CPU) when the local-llm extra is installed."""
        modes = ["extractive", "llm"] if self.settings.answer_mode == "llm" else ["extractive"]
        if local_model_available() and not (self.settings.answer_mode == "llm"
                                            and self.settings.llm_provider == "local"):  # else "llm" is it
            modes.append("local")
        return modes

    def _for_mode(self, mode: str | None):
        mode = mode or self.settings.answer_mode
        if mode not in self.answer_modes():
            hint = (f" The local model needs the local-llm extra: {local_model_missing()}."
                    if mode == "local" else "")
            raise NotAvailableHere("mode", f"answer mode {mode!r} is not available here (this server offers "
                                   f"{', '.join(self.answer_modes())})", "LLM answers need ASSISTANT_ANSWER_MODE=llm "
                                   f"and a configured chat model on the server.{hint}")
        if mode not in self._by_mode:  # "extractive" next to a configured LLM, or "local" (made on first use)
            from assistant.service.factory import make_answerer

            base = self.assistant
            sibling = copy.copy(base)  # same index, retriever and follow-up model; another answer writer
            settings = (base.settings.model_copy(update={"llm_provider": "local", "llm_model": ""})  # the served model
                        if mode == "local" else base.settings)
            sibling.answerer = make_answerer(settings, base.indexer.embedder, base.store,
                                             mode="llm" if mode == "local" else mode, profile=base.profile)
            if mode == "local" and base.answerer.mode == "extractive":
                sibling.answerer.fallback = base.answerer  # the model failing → the extractive answer, stated
            if mode == "local":  # a tiny model often writes nothing its passages support: quote them instead
                sibling.answerer.fallback_when_all_removed = True
            self._by_mode[mode] = sibling
        return self._by_mode[mode]

    # --- reading -------------------------------------------------------------------------
    def ask_stream(self, question: str, k: int | None = None, filters: SearchFilters | None = None,
                   mode: str | None = None, history: list | None = None, as_of=None) -> Iterator[str | Answer]:
        """Pieces of the answer, then the Answer; ``history`` (earlier turns) lets follow-ups refer back."""
        assistant = self._for_mode(mode)
        with self.lock.reading():
            yield from assistant.ask_stream(question, k, filters, history=history or None, as_of=as_of)

    def ask(self, question: str, k: int | None = None, filters: SearchFilters | None = None,
            mode: str | None = None, history: list | None = None, as_of=None) -> Answer:
        assistant = self._for_mode(mode)
        with self.lock.reading():
            return assistant.ask(question, k, filters, history=history or None, as_of=as_of)

    def search(self, query: str, k: int | None = None, filters: SearchFilters | None = None) -> list[Passage]:
        with self.lock.reading():
            return self.assistant.search(query, k, filters)

    def articles(self, duplicates: bool = False) -> list[dict]:
        with self.lock.reading():
            return self.assistant.articles(duplicates=duplicates)

    def sources(self) -> list[str]:
        return sorted({a["source"] for a in self.articles() if a["source"]})

    def categories(self) -> list[str]:
        return sorted({a["category"] for a in self.articles() if a["category"]})

    def counts(self) -> tuple[int, int]:
        """(articles, chunks) in the index: two counts, from the article table (O(1))."""
        with self.lock.reading():
            return self.assistant.store.article_counts()

    def health(self) -> dict[str, str]:
        """See ``Assistant.health``: each part of a question's path, exercised."""
        with self.lock.reading():
            return self.assistant.health()

    def is_empty(self) -> bool:
        with self.lock.reading():
            return self.assistant.is_empty()

    # --- writing -------------------------------------------------------------------------
    # The index's writer lock is taken before this process's own: while another process ingests,
    # a write here waits for it without holding up this process's questions.
    def _writer_session(self):
        session = getattr(getattr(self.assistant, "store", None), "session", None)
        return session() if session is not None else nullcontext()

    def ingest(self, paths=None, prune: bool = False, progress=False):
        with self._writer_session(), self.lock.writing():
            return self.assistant.ingest(paths, prune=prune, progress=progress)

    def ingest_uploads(self, uploads: list[Upload], progress=None) -> UploadReport:
        with self._writer_session(), self.lock.writing():
            return ingest_uploads(self.assistant, uploads, self.settings, progress)

    def delete_article(self, article_id: str) -> bool:
        with self._writer_session(), self.lock.writing():
            return self.assistant.delete_article(article_id)

    # --- live news ---------------------------------------------------------------------------
    # Fetching takes no lock; embedding is done before the locks are taken (embed_ahead), so a
    # refresh holds questions back only while its chunks are written.
    def _write_fetched(self, articles):
        from assistant.index.store import check_embedder

        indexer = self.assistant.indexer
        ahead = indexer.embed_ahead(articles)
        with self._writer_session(), self.lock.writing():
            check_embedder(self.assistant.store, indexer.embedder, record=True)
            report = indexer.ingest_articles(articles, ahead=ahead)
            self.assistant.bm25.ensure_fresh()
            return report

    def feeds(self) -> list:
        return self.assistant.feeds()

    def add_feed(self, url: str, fetch: bool = True):
        """Subscribe to ``url`` and (``fetch``) read it now; see ``Assistant.add_feed``. It does not
        wait for a refresh running meanwhile (writes to the index take their turn in ``_write_fetched``)."""
        return self.assistant.add_feed(url, fetch, write=self._write_fetched)

    def remove_feed(self, url: str) -> bool:
        return self.assistant.remove_feed(url)

    def refresh_feeds(self, urls=None) -> list:
        """Refresh the subscribed feeds (one refresh at a time in this process)."""
        with self._refreshing:
            return self.assistant.refresh_feeds(urls, write=self._write_fetched)

    def ingest_urls(self, urls: list[str]):
        """Fetch article pages or feeds at ``urls`` and index them (an IngestReport with items)."""
        return self.assistant.live(write=self._write_fetched).ingest(urls)

    def quotes(self, person: str, about: str | None = None) -> list:
        """Statements attributed to ``person`` across the index (see ``Assistant.quotes``)."""
        with self.lock.reading():
            return self.assistant.quotes(person, about)

