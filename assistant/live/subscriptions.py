"""The feeds saved beside the index, and what every fetch of a feed or page left for the next one.

One SQLite file (WAL) in the index's state folder, so the CLI, the server and its background
refresh see the same subscriptions. Two tables:

- ``feeds``: the subscribed feed URLs with the outcome of their last refresh (when, status,
  error, items in the feed, articles it added or updated, items that failed);
- ``pages``: every URL fetched (feeds and article pages) with its ETag / Last-Modified and the
  article it became, so the next fetch is conditional (304: nothing is read or embedded again).
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY, title TEXT, added_at TEXT NOT NULL, last_fetch_at TEXT, last_status TEXT,
    last_error TEXT, items INTEGER NOT NULL DEFAULT 0, new_items INTEGER NOT NULL DEFAULT 0,
    failed_items INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS pages (
    url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, article_id TEXT, fetched_at TEXT NOT NULL);
"""


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FeedRecord:
    """A subscribed feed and its last refresh (``last_status``: ok, not modified, failed; None before the first)."""

    url: str
    title: str | None
    added_at: str
    last_fetch_at: str | None = None
    last_status: str | None = None
    last_error: str | None = None
    items: int = 0  # items the feed listed at its last fetch
    new_items: int = 0  # articles the last refresh added or updated
    failed_items: int = 0  # items of the last refresh that could not be fetched or read

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PageRecord:
    url: str
    etag: str | None
    last_modified: str | None
    article_id: str | None
    fetched_at: str


class FeedRegistry:
    """Subscriptions and conditional-request validators, shared by every process using the index."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            from assistant.live.syndication import use_wal

            use_wal(db)
            db.executescript(_SCHEMA)
            self._local.db = db
        return db

    # --- feeds -----------------------------------------------------------------------------
    def add(self, url: str, title: str | None = None) -> tuple[FeedRecord, bool]:
        """Subscribe to ``url``; (its record, whether it is new). Adding it again changes nothing."""
        inserted = self._db().execute("INSERT OR IGNORE INTO feeds (url, title, added_at) VALUES (?, ?, ?)",
                                      (url, title, now_iso())).rowcount
        return self.get(url), bool(inserted)

    def remove(self, url: str) -> bool:
        """Unsubscribe (what the feed brought stays indexed); False when ``url`` was not subscribed."""
        return bool(self._db().execute("DELETE FROM feeds WHERE url = ?", (url,)).rowcount)

    def get(self, url: str) -> FeedRecord | None:
        row = self._db().execute(f"SELECT {_FEED_COLUMNS} FROM feeds WHERE url = ?", (url,)).fetchone()
        return FeedRecord(*row) if row else None

    def feeds(self) -> list[FeedRecord]:
        rows = self._db().execute(f"SELECT {_FEED_COLUMNS} FROM feeds ORDER BY added_at, url").fetchall()
        return [FeedRecord(*row) for row in rows]

    def refreshed(self, url: str, *, status: str, error: str | None = None, title: str | None = None,
                  items: int | None = None, new_items: int = 0, failed_items: int = 0) -> None:
        """Record a refresh of a subscribed feed (a URL not subscribed is ignored)."""
        self._db().execute(
            "UPDATE feeds SET last_fetch_at = ?, last_status = ?, last_error = ?, title = COALESCE(?, title), "
            "items = COALESCE(?, items), new_items = ?, failed_items = ? WHERE url = ?",
            (now_iso(), status, error, title, items, new_items, failed_items, url))

    # --- pages -----------------------------------------------------------------------------
    def page(self, url: str) -> PageRecord | None:
        row = self._db().execute("SELECT url, etag, last_modified, article_id, fetched_at FROM pages WHERE url = ?",
                                 (url,)).fetchone()
        return PageRecord(*row) if row else None

    def fetched(self, url: str, *, etag: str | None, last_modified: str | None, article_id: str | None) -> None:
        """Remember a successful fetch of ``url`` (its validators, and the article it became)."""
        self._db().execute(
            "INSERT INTO pages (url, etag, last_modified, article_id, fetched_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, "
            "article_id = COALESCE(excluded.article_id, pages.article_id), fetched_at = excluded.fetched_at",
            (url, etag, last_modified, article_id, now_iso()))

    def forget_pages(self, url: str) -> None:
        self._db().execute("DELETE FROM pages WHERE url = ?", (url,))

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


_FEED_COLUMNS = "url, title, added_at, last_fetch_at, last_status, last_error, items, new_items, failed_items"
