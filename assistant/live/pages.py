"""An article page (HTML) to an :class:`~assistant.models.Article`: main text, title, byline, date.

The main text comes from trafilatura (which drops navigation, ads, related-story lists, comments
and footers); when it finds too little, the hand-written extractor of
:mod:`assistant.ingest.html_text` is tried. Either must give enough prose (sentences, not a list
of headlines) or :class:`PageError` says the page holds no article. docs/research/extraction.md compares
the two on the fixture pages.

Pages are untrusted: the size is bounded, so is element nesting (checked before any parser
runs), control characters are dropped, scripts are never run (their text is never read as
article text), and every field of the article is clipped to the limits of
:mod:`assistant.ingest.readers`. The feed's item, when given, wins over what the page says about
itself (title, author, date, category), since pages are noisier than feeds.
"""

from __future__ import annotations

import codecs
import logging
import re
from datetime import datetime
from urllib.parse import urlsplit

import trafilatura
from selectolax.lexbor import LexborHTMLParser

from assistant.ingest.dates import normalize_date
from assistant.ingest.furniture import clean_article
from assistant.ingest.html_text import HtmlTooComplex, check_nesting, parse_html, web_url
from assistant.ingest.limits import MAX_ARTICLE_FILE_BYTES, MAX_BODY_CHARS, MAX_META_CHARS, MAX_TITLE_CHARS
from assistant.live.feeds import FeedItem
from assistant.models import Article

log = logging.getLogger(__name__)

HTML_MEDIA_TYPES = frozenset({"text/html", "application/xhtml+xml", ""})
MAX_PAGE_BYTES = MAX_ARTICLE_FILE_BYTES
# An article holds at least this many characters of prose: paragraphs of PROSE_MIN_WORDS words or
# more that end like a sentence. A section front (a list of headlines) or a cookie notice does not.
MIN_PROSE_CHARS = 250
PROSE_MIN_WORDS = 8
# trafilatura: no comments, no images or links in the text; dates from the page's markup only
# (htmldate's search of the free text asks dateparser, which took 2-3 s on one fixture page).
TRAFILATURA_OPTIONS = {"include_comments": False, "include_tables": True, "include_images": False,
                       "include_links": False, "deduplicate": False, "with_metadata": True}
DATE_OPTIONS = {"original_date": True, "extensive_search": False}
# Ad containers trafilatura keeps when they sit inside the article: AMP's ad elements, ad-network
# slots marked by their data attributes, and the usual class names of ad slots.
PRUNE_XPATH = [
    "//amp-ad", "//amp-embed", "//amp-sticky-ad", "//amp-consent",
    "//*[@data-ad-slot or @data-ad-unit or @data-ad-format]",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' adsbygoogle ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' advertisement ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' ad-slot ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' ad-container ')]",
]

_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# Character references to control characters (lxml gives up on a page holding one: no text at all).
_CONTROL_REFERENCE = re.compile(r"&#(?:[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]|7[fF])(?![0-9a-fA-F])"
                                r"|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]|127)(?![0-9]));?")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE)
_JSON_LD_PUBLISHED = re.compile(r'"datePublished"\s*:\s*"([^"]{4,64})"')
_BYLINE_PREFIX = re.compile(r"^(?:by|von|par|por)\s+", re.IGNORECASE)


class PageError(ValueError):
    """The page holds no article that can be read; the message says why."""


def main_text(text: str, url: str, titles: list[str]) -> str | None:
    """The page's main text by trafilatura, paragraphs separated by blank lines, when it holds
    enough prose (None otherwise). ``text`` has passed ``check_nesting`` already."""
    doc = _trafilatura(text, url)
    body = _paragraphs(doc.text if doc is not None and doc.text else "", titles)
    return body if _prose_chars(body) >= MIN_PROSE_CHARS else None


def extract_article(html: bytes | str, url: str, *, item: FeedItem | None = None, feed_title: str | None = None,
                    content_type: str = "text/html", charset: str | None = None,
                    feed_site: str | None = None) -> Article:
    """The article on the page at ``url``.

    ``item`` (the feed entry that linked to the page) takes precedence over the page's own title,
    author, date and category. The outlet is the page's own ``og:site_name``; without one, the
    feed's title (``feed_title``) when the page is on the feed's site (``feed_site``, the feed's
    link; not checked when None), else the site name trafilatura finds, else the host: a feed that
    lists several outlets' pages does not label them all with its own name. Raises
    :class:`PageError` for non-HTML content, oversized or pathologically nested pages, and pages
    without enough article text.
    """
    media = content_type.split(";")[0].strip().lower()
    if media not in HTML_MEDIA_TYPES:
        raise PageError(f"not an HTML page ({media[:100]})")
    size = len(html)
    if size > MAX_PAGE_BYTES:
        raise PageError(f"the page is {size / 2**20:.1f} MB, over the {MAX_PAGE_BYTES // 2**20} MB limit")
    text = _NOT_TEXT.sub(" ", html if isinstance(html, str) else _decode(html, charset))
    text = _CONTROL_REFERENCE.sub(" ", text)
    try:
        check_nesting(text)
    except HtmlTooComplex as error:
        raise PageError(f"not read: {error}") from None

    page = parse_html(text)  # the hand-written extractor: metadata, and the fallback text
    canonical_links, headline = _links_and_headline(text)
    doc = _trafilatura(text, url)
    titles = [t for t in (item and item.title, doc and doc.title, page.title, headline) if t]
    body = _paragraphs(doc.text if doc is not None and doc.text else "", titles)
    if _prose_chars(body) < MIN_PROSE_CHARS:
        body = _paragraphs(page.body, titles)
        if _prose_chars(body) < MIN_PROSE_CHARS:
            raise PageError("no article text found on the page (fewer than "
                            f"{MIN_PROSE_CHARS} characters in paragraphs of sentences)")

    title = _first(item and item.title, page.title, doc and doc.title) or _tidy_host(url) or url
    author = _first(item and item.author, doc and doc.author, _byline(page.meta.get("author")))
    feed_outlet = feed_title if feed_site is None or _same_site(url, feed_site) else None
    source = _first(page.meta.get("source"), feed_outlet, _site_name(doc, url), _tidy_host(url))
    published_at = (item and item.published_at) or _published(doc, page.meta.get("published_at"), text)
    category = item.categories[0] if item and item.categories else page.meta.get("category")
    return clean_article(Article(
        title=_line(title, MAX_TITLE_CHARS),
        body=_clip_body(body),
        source=_line(source, MAX_META_CHARS) or None,
        author=_line(author, MAX_META_CHARS) or None,
        published_at=published_at,
        url=_canonical([*canonical_links, page.meta.get("url")], url),
        category=_line(category, MAX_META_CHARS) or None,
        origin=url,
    ))  # page furniture (captions, credits, embeds, "Read more" links) out of the body


# --- text ------------------------------------------------------------------------------------


def _decode(data: bytes, charset: str | None) -> str:
    """Bytes to text: a byte-order mark, else the HTTP charset, else ``<meta charset>``, else UTF-8 (or cp1252)."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(name, errors="replace").lstrip("\ufeff")
    declared = [charset] if charset else []
    match = _META_CHARSET.search(data[:4096])
    if match:
        declared.append(match.group(1).decode("ascii"))
    for name in declared:
        try:
            codec = codecs.lookup(name.strip())
        except (LookupError, ValueError):
            continue
        if codec.name in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
            continue  # declared in ASCII bytes, so the document is not really UTF-16
        return data.decode("cp1252" if codec.name == "iso8859-1" else codec.name, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _trafilatura(text: str, url: str):
    try:
        return trafilatura.bare_extraction(text, url=url, date_extraction_params=dict(DATE_OPTIONS),
                                           prune_xpath=PRUNE_XPATH, **TRAFILATURA_OPTIONS)
    except Exception as error:  # noqa: BLE001 - whatever breaks in there, the other extractor is tried
        log.warning("trafilatura failed on %s (%s); falling back to the hand-written extractor",
                    url, type(error).__name__)
        return None


def _paragraphs(text: str, titles: list[str]) -> str:
    """Lines as paragraphs separated by blank lines, without a leading copy of the title.

    Control characters are dropped again: character references (``&#27;``) bring them back.
    """
    lines = [" ".join(_NOT_TEXT.sub(" ", line).split()) for line in text.split("\n")]
    lines = [line for line in lines if line]
    if lines and any(_same(lines[0], title) for title in titles):
        lines = lines[1:]
    return "\n\n".join(lines)


def _prose_chars(body: str) -> int:
    return sum(len(p) for p in body.split("\n\n")
               if len(p.split()) >= PROSE_MIN_WORDS and _SENTENCE_END.search(p))


def _clip_body(body: str) -> str:
    if len(body) <= MAX_BODY_CHARS:
        return body
    cut = body.rfind("\n\n", 0, MAX_BODY_CHARS)
    return body[:cut if cut > 0 else MAX_BODY_CHARS]


def _line(value: str | None, limit: int) -> str:
    text = " ".join(_NOT_TEXT.sub(" ", value or "").split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _first(*values: str | None) -> str | None:
    for value in values:
        if value and value.strip():
            return value
    return None


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


# --- metadata --------------------------------------------------------------------------------


def _byline(value: str | None) -> str | None:
    return _BYLINE_PREFIX.sub("", value.strip()) if value else None


def _tidy_host(url: str) -> str | None:
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return None
    return host.removeprefix("www.") or None


def _site_name(doc, url: str) -> str | None:
    """trafilatura's site name (JSON-LD publisher, twitter:site…) unless it only repeats the host."""
    name = doc.sitename if doc is not None else None
    if not name:
        return None
    host = _tidy_host(url) or ""
    return None if name.lower().removeprefix("www.").split(":")[0] == host else name


def _same_site(a: str, b: str) -> bool:
    """One host is the other, or a subdomain of it, ignoring ``www.``."""
    a, b = (_tidy_host(a) or "\0"), (_tidy_host(b) or "\1")
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def _links_and_headline(text: str) -> tuple[list[str], str | None]:
    """The page's ``<link rel=canonical>`` targets and its first ``<h1>``'s text."""
    tree = LexborHTMLParser(text)
    links = [node.attributes.get("href") or "" for node in tree.css("link[rel]")
             if "canonical" in (node.attributes.get("rel") or "").lower().split()]
    h1 = tree.css_first("h1")
    return links, (" ".join(h1.text(deep=True).split())[:MAX_TITLE_CHARS] or None) if h1 is not None else None


def _canonical(candidates: list[str | None], url: str) -> str:
    """The first candidate (canonical link, else og:url) that is an absolute http(s) URL of the same site."""
    for candidate in candidates:
        link = web_url(" ".join((candidate or "").split()))
        if link and len(link) <= MAX_META_CHARS and _same_site(link, url):
            return link
    return url


def _published(doc, declared: str | None, text: str) -> str | None:
    """htmldate's original publication date, with the time of day the page declares for that day.

    htmldate finds the date reliably but often drops the time (``2025-03-04T00:00:00`` for
    ``article:published_time`` 07:30 UTC), and reads a time written in words without its zone as
    UTC. So: a timestamp the page declares (meta tags, JSON-LD ``datePublished``) on the same
    calendar day is taken whole; else htmldate's value when it has a UTC offset; else its day.
    """
    found = doc.date if doc is not None else None
    if not declared:
        match = _JSON_LD_PUBLISHED.search(text)
        declared = match.group(1) if match else None
    stamp = _moment(declared)
    day = _moment(found)
    if stamp and (day is None or stamp.date() == day.date()):
        return _iso(declared)
    if day is None:
        return None
    if day.tzinfo is not None:
        return _iso(found)
    return _iso(day.date().isoformat())


def _moment(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def _iso(value: str | None) -> str | None:
    try:
        return normalize_date(value)
    except ValueError:
        return None
