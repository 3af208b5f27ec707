"""Ingesting live sources and refreshing subscribed feeds.

Fetching is slow and needs no lock; only ``write`` (the indexer, or a server's locked wrapper of
it) touches the index. A fetch's validators (ETag, Last-Modified) are saved only once what it
brought is indexed, so a crash in between means a full fetch next time, never a lost article.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import InputError
from assistant.ingest.indexer import IngestReport, failures
from assistant.live.sources import LiveRead, LiveReader
from assistant.live.subscriptions import FeedRecord, FeedRegistry
from assistant.models import Article

PARALLEL_FEEDS = 4  # feeds read at once by a refresh: a slow one holds only its own slot
Write = Callable[[list[Article]], IngestReport]


@dataclass
class FeedRefresh:
    """One subscribed feed refreshed: its record afterwards and what the refresh did."""

    feed: FeedRecord
    report: IngestReport = field(default_factory=IngestReport)

    def as_dict(self) -> dict:
        return {**self.feed.as_dict(), "report": self.report.as_dict()}


class LiveIngest:
    def __init__(self, reader: LiveReader, registry: FeedRegistry, write: Write):
        self.reader = reader
        self.registry = registry
        self.write = write

    def ingest(self, sources: Iterable[str | Path], progress: Callable[[str], None] | None = None) -> IngestReport:
        """Fetch ``sources`` (URLs, feed files) and index what they hold; one item row per URL."""
        read = self.reader.read(sources, progress)
        return self._index(read)

    def subscribe(self, url: str, fetch: bool = True, progress: Callable[[str], None] | None = None):
        """Subscribe to the feed at ``url`` once it proved to be one: fetched (every time, not
        conditionally) and parsed as RSS or Atom; a fetch that fails (a 404, an address refused) or
        a page that is not a feed raises InputError with the reason and nothing is subscribed.
        With ``fetch`` its items are indexed now (a :class:`FeedRefresh`); else the FeedRecord."""
        read = self.reader.read_url(url, progress, feed_only=True, with_items=fetch, conditional=False)
        checked = read.feeds[0]
        if checked.status == "failed":
            raise InputError(url, f"not subscribed: {checked.error}",
                             "check the address; a feed is an RSS or Atom document")
        self.registry.add(url, checked.title)
        if not fetch:
            return self.registry.get(url)
        return self._refreshed(url, read)

    def refresh(self, urls: Iterable[str] | None = None,
                progress: Callable[[str], None] | None = None) -> list[FeedRefresh]:
        """Refresh the subscribed feeds (all, or those in ``urls``): read a few at a time (each fetch
        has its own deadline, so a slow feed holds up only itself), indexed one after the other; a
        feed that fails (gone, bad XML) keeps what it brought before and says why in its record."""
        wanted = set(urls) if urls is not None else None
        feeds = [feed for feed in self.registry.feeds() if wanted is None or feed.url in wanted]
        if not feeds:
            return []
        with ThreadPoolExecutor(max_workers=min(PARALLEL_FEEDS, len(feeds)), thread_name_prefix="feed-read") as pool:
            reads = [pool.submit(self.reader.read_url, feed.url, progress) for feed in feeds]
            return [self._refreshed(feed.url, read.result()) for feed, read in zip(feeds, reads)]

    def _refreshed(self, url: str, read: LiveRead) -> FeedRefresh:
        report = self._index(read)
        fetch = read.feeds[0] if read.feeds else None
        status = fetch.status if fetch else "failed"
        new = sum(item["status"] in ("added", "updated") for item in report.items)
        failed = sum(item["status"] == "failed" for item in report.items)
        self.registry.refreshed(url, status=status, error=fetch.error if fetch else None,
                                title=fetch.title if fetch else None,
                                items=fetch.items if fetch and status == "ok" else None,
                                new_items=new, failed_items=failed)
        record = self.registry.get(url)
        return FeedRefresh(record, report) if record else FeedRefresh(FeedRecord(url, None, ""), report)

    def _index(self, read: LiveRead) -> IngestReport:
        report = self.write(read.articles) if read.articles else IngestReport()
        by_article = {row["article_id"]: row for row in report.items}
        for article_id, url in read.urls.items():  # the URL fetched (the feed's link), not the page's canonical one
            if article_id in by_article:
                by_article[article_id]["url"] = url
        rows = []
        for outcome in read.outcomes:
            rows.append({**outcome.as_dict(), "origin": outcome.url})
            if outcome.status == "failed":
                report.errors.append(InputError(outcome.url or "?", outcome.reason or "failed",
                                                "the other items were read; fix or remove this URL"))
            elif outcome.status == "unchanged":
                report.unchanged += 1
        place = {url: i for i, url in reversed(list(enumerate(read.order)))}
        report.items = sorted(rows + report.items, key=lambda row: place.get(row["url"], len(place)))
        report.articles += len(read.outcomes)
        report.failed = failures(report.errors)
        self._remember(read, report)
        return report

    def _remember(self, read: LiveRead, report: IngestReport) -> None:
        """Save the validators of every page whose article is now in the index (or recorded as a copy)."""
        kept = {row["article_id"] for row in report.items if row["status"] in ("added", "updated", "unchanged",
                                                                                 "duplicate")}
        article_of = {url: aid for aid, url in read.urls.items()}
        complete = not any(row["status"] == "failed" for row in report.items)
        for url, (etag, last_modified) in read.validators.items():
            article_id = article_of.get(url)
            # A feed's own URL (no article) is conditional next time only when all its items made it:
            # an item that failed is fetched again even while the feed is unchanged.
            if (article_id is None and complete) or article_id in kept:
                self.registry.fetched(url, etag=etag, last_modified=last_modified, article_id=article_id)
