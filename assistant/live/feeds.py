"""RSS 2.0, RSS 1.0 and Atom feeds to a :class:`Feed` of :class:`FeedItem` (with feedparser).

Feeds are untrusted: the body is handed to feedparser as a stream (a string could make it open
a file or a URL), feedparser's sanitiser drops scripts and resolves relative links against the
feed's URL and ``xml:base``, and every field is bounded in length, plain text (HTML stripped,
control characters dropped) and, for links, an absolute http(s) URL. A feed that is not
well-formed is still read when feedparser's lenient parser finds items in it; when it finds
none the :class:`FeedError` names the XML error and its line.
"""

from __future__ import annotations

import html
import io
import re
import time
from dataclasses import dataclass
from urllib.parse import urljoin

import feedparser

from assistant.ingest.html_text import web_url
from assistant.ingest.limits import MAX_META_CHARS, MAX_TITLE_CHARS

FEED_MEDIA_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml",
                              "application/xml", "text/xml"})
MAX_FEED_BYTES = 20 * 2**20
MAX_SUMMARY_CHARS = 2_000
MAX_CATEGORIES = 20
MAX_CATEGORY_CHARS = 200
_MAX_RAW_FIELD_CHARS = 200_000  # what is looked at of one field before it is cleaned and clipped

_PROLOG = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)", re.DOTALL | re.IGNORECASE)
_FEED_ROOT = re.compile(rb"\s*<(?:rss|feed|rdf:RDF)[\s>/]")
_BLOCK_TAG = re.compile(r"<\s*/?\s*(?:p|div|br|li|ul|ol|h[1-6]|blockquote|tr|td|th|table|section|article|figure|"
                        r"figcaption|pre|hr)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_EMAIL_AND_NAME = re.compile(r"[^\s@()]+@[^\s@()]+\s*\(([^()]+)\)")
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


class FeedError(ValueError):
    """The body is not a feed that can be read; the message names the problem."""


@dataclass(frozen=True)
class FeedItem:
    """One entry of a feed; every field is plain, bounded text."""

    link: str  # absolute (relative links resolved against the feed's URL / xml:base)
    title: str
    author: str | None
    published_at: str | None  # ISO 8601 UTC "2024-01-02T03:04:05Z" or None
    categories: tuple[str, ...]
    summary: str  # plain text (HTML stripped), bounded length
    guid: str | None


@dataclass(frozen=True)
class Feed:
    title: str | None  # the outlet/feed title
    link: str | None  # the site's home page
    kind: str  # "rss" or "atom"
    items: list[FeedItem]


def looks_like_feed(body: bytes, content_type: str) -> bool:
    """True when the media type is a feed's (or generic XML), or the document's root is a feed's.

    The root is sniffed from the first bytes: ``<rss``, ``<feed`` or ``<rdf:RDF`` after an XML
    prolog, a byte-order mark, comments, processing instructions or whitespace.
    """
    media = content_type.split(";")[0].strip().lower()
    return media in FEED_MEDIA_TYPES or _has_feed_root(body)


def _has_feed_root(body: bytes) -> bool:
    head = body[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="ignore").encode("utf-8")
    elif head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    position = 0
    while match := _PROLOG.match(head, position):
        position = match.end()
    return bool(_FEED_ROOT.match(head, position))


def parse_feed(body: bytes, base_url: str, *, max_items: int = 200) -> Feed:
    """The feed's title, home page, kind and (at most ``max_items``) items, in the feed's order.

    Items without an http(s) link are skipped. Raises :class:`FeedError` when the body is too
    large, not a feed, or so malformed that no item can be read.
    """
    if max_items < 0:
        raise ValueError(f"max_items must be >= 0, not {max_items}")
    if len(body) > MAX_FEED_BYTES:
        raise FeedError(f"the feed is {len(body) / 2**20:.1f} MB, over the {MAX_FEED_BYTES // 2**20} MB limit")
    if not body.strip():
        raise FeedError("empty document: no feed in it")
    parsed = feedparser.parse(io.BytesIO(body), response_headers={"content-location": base_url,
                                                                  "content-type": "application/xml"},
                              resolve_relative_uris=True, sanitize_html=True)
    items = []
    for entry in parsed.entries:
        item = _item(entry, base_url)
        if item is not None:
            items.append(item)
            if len(items) >= max_items:
                break
    version = parsed.get("version") or ""
    if not items:
        if not version and not _has_feed_root(body):
            raise FeedError("not an RSS or Atom feed (the document's root is not <rss>, <feed> or <rdf:RDF>)")
        if parsed.get("bozo") and not isinstance(parsed.get("bozo_exception"), feedparser.CharacterEncodingOverride):
            raise FeedError(f"not a well-formed feed: {_xml_problem(parsed.get('bozo_exception'))}")
    info = parsed.get("feed", {})
    return Feed(
        title=_plain(info.get("title"), MAX_TITLE_CHARS, markup=_is_html(info.get("title_detail"))) or None,
        link=_link(info.get("link"), base_url),
        kind="atom" if version.startswith("atom") else "rss",
        items=items,
    )


def _item(entry: dict, base_url: str) -> FeedItem | None:
    link = _link(entry.get("link"), base_url)
    if link is None:
        return None
    summary = entry.get("summary")
    summary_detail = entry.get("summary_detail")
    if not summary and entry.get("content"):
        summary, summary_detail = entry["content"][0].get("value"), entry["content"][0]
    return FeedItem(
        link=link,
        title=_plain(entry.get("title"), MAX_TITLE_CHARS, markup=_is_html(entry.get("title_detail"))),
        author=_author(entry),
        published_at=_date(entry.get("published_parsed") or entry.get("updated_parsed")),
        categories=_categories(entry.get("tags") or []),
        summary=_plain(summary, MAX_SUMMARY_CHARS, markup=_is_html(summary_detail, default=True)),
        guid=_plain(entry.get("id"), MAX_META_CHARS, markup=False) or None,
    )


def _link(value: object, base_url: str) -> str | None:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_META_CHARS:
        return None
    try:
        link = urljoin(base_url, value.strip())
    except ValueError:
        return None
    return web_url(link) if len(link) <= MAX_META_CHARS else None


def _author(entry: dict) -> str | None:
    """Author names; RSS's ``email (Name)`` gives the name (feedparser mangles some addresses)."""
    raw = entry.get("author")
    written = _EMAIL_AND_NAME.match(raw.strip()) if isinstance(raw, str) else None
    if written:
        names = [written.group(1)]
    else:
        names = [a.get("name") for a in entry.get("authors") or [] if isinstance(a, dict) and a.get("name")]
        if not names and raw:
            names = [raw]
    text = ", ".join(n for n in (_plain(name, MAX_META_CHARS, markup=False) for name in names) if n)
    return _clip(text, MAX_META_CHARS) or None


def _categories(tags: list) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for tag in tags:
        if not isinstance(tag, dict):
            continue
        name = _plain(tag.get("label") or tag.get("term"), MAX_CATEGORY_CHARS, markup=False)
        if name and name.lower() not in seen:
            seen[name.lower()] = name
            if len(seen) >= MAX_CATEGORIES:
                break
    return tuple(seen.values())


def _date(parsed: time.struct_time | None) -> str | None:
    """feedparser's dates are already converted to UTC."""
    if not parsed or not 1 <= parsed.tm_year <= 9999:
        return None
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", parsed)
    except (ValueError, OverflowError):
        return None


def _is_html(detail: object, default: bool = False) -> bool:
    kind = detail.get("type") if isinstance(detail, dict) else None
    return default if not kind else "html" in kind


def _plain(value: object, limit: int, *, markup: bool) -> str:
    """``value`` as one line of text: tags removed (when HTML), entities decoded, whitespace collapsed."""
    if not isinstance(value, str):
        return ""
    text = value[:_MAX_RAW_FIELD_CHARS]
    if markup:
        text = _TAG.sub("", _BLOCK_TAG.sub(" ", text))
        text = html.unescape(text)
    return _clip(" ".join(_NOT_TEXT.sub(" ", text).split()), limit)


def _clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a word boundary when one is near, with "…"."""
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _xml_problem(error: object) -> str:
    if error is None:
        return "unknown problem"
    message = getattr(error, "getMessage", None)
    line = getattr(error, "getLineNumber", None)
    if callable(message) and callable(line):
        text = f"{message()} at line {line()}"
        column = getattr(error, "getColumnNumber", None)
        return text + (f", column {column() + 1}" if callable(column) and column() is not None else "")
    return type(error).__name__
