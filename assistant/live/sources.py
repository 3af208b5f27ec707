"""URLs and feed files turned into articles, with one outcome for every item that fails or is unchanged.

A source is an ``http(s)://`` URL (a feed or an article page, told apart by what the server
sends) or a local ``.xml`` / ``.rss`` / ``.atom`` feed file. Each feed item's link is fetched and
its main text extracted; the feed's title is the outlet, and its item's title, author, date and
categories win over what the page says. Every fetch is conditional when the URL was fetched
before (``FeedRegistry.pages``): a 304 is an ``unchanged`` outcome and nothing is read again. A
failure is an outcome naming the URL and the reason; the other items go on.

Reading needs no lock: the index is written afterwards (``Indexer.ingest_articles``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

from assistant.live import is_live_source  # noqa: F401 (re-exported)
from assistant.live.feeds import Feed, FeedError, FeedItem, looks_like_feed, parse_feed
from assistant.live.fetch import Fetched, FetchError, Fetcher
from assistant.live.pages import PageError, extract_article
from assistant.live.subscriptions import FeedRegistry
from assistant.models import Article

MAX_FEED_FILE_BYTES = 5 * 2**20
STATUSES = ("added", "updated", "unchanged", "duplicate", "failed")

Progress = Callable[[str], None]  # told each URL as it is fetched


@dataclass
class ItemOutcome:
    """What became of one item: the ``--json`` row ``{url, status, article_id, reason}``."""

    url: str | None
    status: str  # one of STATUSES
    article_id: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict:
        return {"url": self.url, "status": self.status, "article_id": self.article_id, "reason": self.reason}


@dataclass
class FeedFetch:
    """One feed read: its title, how many items it listed, and the failure if it could not be read."""

    url: str
    status: str  # ok, not modified, failed
    title: str | None = None
    items: int = 0
    error: str | None = None


@dataclass
class LiveRead:
    """Articles to index (each with the URL it was fetched from), and the items that need no indexing."""

    articles: list[Article] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)  # article id -> URL fetched
    outcomes: list[ItemOutcome] = field(default_factory=list)  # failed and unchanged (304) items
    feeds: list[FeedFetch] = field(default_factory=list)
    validators: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # url -> (etag, last-modified)
    order: list[str] = field(default_factory=list)  # item URLs in the order they were read (feed order)

    def extend(self, other: LiveRead) -> None:
        self.articles += other.articles
        self.urls.update(other.urls)
        self.outcomes += other.outcomes
        self.feeds += other.feeds
        self.validators.update(other.validators)
        self.order += other.order


class LiveReader:
    """Reads live sources with one polite :class:`Fetcher`; ``registry`` makes fetches conditional."""

    def __init__(self, fetcher: Fetcher, registry: FeedRegistry | None = None,
                 indexed: Callable[[str], bool] = lambda _article_id: True, max_items: int = 50):
        self.fetcher = fetcher
        self.registry = registry
        self.indexed = indexed  # a 304 counts only when the article it became is still in the index
        self.max_items = max_items

    def read(self, sources: Iterable[str | Path], progress: Progress | None = None) -> LiveRead:
        result = LiveRead()
        for source in sources:
            text = str(source)
            if text.lower().startswith(("http://", "https://")):
                result.extend(self.read_url(text, progress))
            else:
                result.extend(self.read_feed_file(Path(text), progress))
        return result

    def read_url(self, url: str, progress: Progress | None = None, *, feed_only: bool = False,
                 with_items: bool = True, conditional: bool = True) -> LiveRead:
        """A feed or an article page at ``url``; with ``feed_only`` anything but a feed is a failure
        (the reason says what it is), without ``with_items`` only the feed itself is read."""
        result = LiveRead(order=[url])
        if progress:
            progress(url)
        try:
            fetched = self._fetch(url, conditional=conditional)
        except FetchError as error:
            result.outcomes.append(ItemOutcome(url, "failed", reason=error.reason))
            result.feeds.append(FeedFetch(url, "failed", error=error.reason))
            return result
        if fetched is None:  # 304, and the article it became is still indexed
            record = self.registry.page(url) if self.registry else None
            result.outcomes.append(ItemOutcome(url, "unchanged", record.article_id if record else None,
                                               "not modified since the last fetch (HTTP 304)"))
            result.feeds.append(FeedFetch(url, "not modified"))
            return result
        if looks_like_feed(fetched.body, fetched.content_type):
            try:
                feed = parse_feed(fetched.body, fetched.final_url, max_items=self.max_items)
            except FeedError as error:
                result.outcomes.append(ItemOutcome(url, "failed", reason=str(error)))
                result.feeds.append(FeedFetch(url, "failed", error=str(error)))
                return result
            if not with_items:
                result.feeds.append(FeedFetch(url, "ok", feed.title, len(feed.items)))
                return result
            result.validators[url] = (fetched.etag, fetched.last_modified)
            result.extend(self._items(url, feed, progress))
            return result
        if feed_only:
            what = fetched.content_type or "no content type"
            reason = (f"not an RSS or Atom feed (the server sent {what}"
                      + (", a web page" if "html" in what else "") + "); subscribe to the site's feed address, "
                      "or ingest a single article with 'assistant ingest URL'")
            result.outcomes.append(ItemOutcome(url, "failed", reason=reason))
            result.feeds.append(FeedFetch(url, "failed", error=reason))
            return result
        self._page(url, fetched, None, None, result)
        return result

    def read_feed_file(self, path: Path, progress: Progress | None = None) -> LiveRead:
        """A feed saved as a local file; its items are fetched from the web (relative links are
        taken from the feed's own site link)."""
        result = LiveRead(order=[str(path)])
        where = str(path)
        try:
            if path.stat().st_size > MAX_FEED_FILE_BYTES:
                raise FeedError(f"larger than the {MAX_FEED_FILE_BYTES // 2**20} MB limit of a feed file")
            data = path.read_bytes()
            feed = parse_feed(data, path.absolute().as_uri(), max_items=self.max_items)
            if feed.link and feed.link.lower().startswith(("http://", "https://")):
                # Relative item links resolve against the site the feed describes, not the file.
                feed = parse_feed(data, feed.link, max_items=self.max_items)
        except (OSError, FeedError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            result.outcomes.append(ItemOutcome(where, "failed", reason=f"{reason}; check the feed file"))
            result.feeds.append(FeedFetch(where, "failed", error=reason))
            return result
        result.extend(self._items(where, feed, progress))
        return result

    def _items(self, feed_url: str, feed: Feed, progress: Progress | None) -> LiveRead:
        result = LiveRead(feeds=[FeedFetch(feed_url, "ok", feed.title, len(feed.items))])
        for item in feed.items:
            result.order.append(item.link)
            if progress:
                progress(item.link)
            try:
                fetched = self._fetch(item.link)
            except FetchError as error:
                result.outcomes.append(ItemOutcome(item.link, "failed", reason=error.reason))
                continue
            if fetched is None:
                record = self.registry.page(item.link) if self.registry else None
                result.outcomes.append(ItemOutcome(item.link, "unchanged", record.article_id if record else None,
                                                   "not modified since the last fetch (HTTP 304)"))
                continue
            self._page(item.link, fetched, item, feed.title, result, feed_site=_site_of(feed_url, feed.link))
        return result

    def _page(self, url: str, fetched: Fetched, item: FeedItem | None, outlet: str | None, result: LiveRead,
              feed_site: str | None = None) -> None:
        try:
            article = extract_article(fetched.body, fetched.final_url, item=item, feed_title=outlet,
                                      content_type=fetched.content_type, charset=fetched.charset,
                                      feed_site=feed_site)
        except PageError as error:
            result.outcomes.append(ItemOutcome(url, "failed", reason=str(error)))
            return
        result.articles.append(article)
        result.urls[article.id] = url
        result.validators[url] = (fetched.etag, fetched.last_modified)

    def _fetch(self, url: str, conditional: bool = True) -> Fetched | None:
        """The response, or None for a 304 whose article is still indexed."""
        record = self.registry.page(url) if self.registry and conditional else None
        usable = record is not None and (record.article_id is None or self.indexed(record.article_id))
        fetched = self.fetcher.fetch(url, etag=record.etag if usable else None,
                                     last_modified=record.last_modified if usable else None)
        return None if fetched.not_modified else fetched


def _site_of(feed_url: str, link: str | None) -> str | None:
    """The site a feed describes (its link, resolved against the feed's address; else the feed's own
    address), or None when neither is a web address (a feed file without a link)."""
    site = urljoin(feed_url, link) if link else feed_url
    return site if site.lower().startswith(("http://", "https://")) else None
