"""The title, metadata and main text of a news web page.

Pages are checked before they are parsed: the parser's time grows with the square of how deeply
elements nest (100,000 nested ``<div>``\\ s in 1.1 MB took 185 s), so a page whose elements nest
deeper than :data:`MAX_NESTING` is refused at once (:class:`HtmlTooComplex`), which keeps the
parse linear in the page's size (docs/reliability.md has the measured figures).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser

# Page chrome, not article text.
DROPPED_TAGS = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside")

# Article field <- meta tags (property, name or itemprop; lower case), first present wins.
META_FIELDS: dict[str, tuple[str, ...]] = {
    "source": ("og:site_name",),
    "author": ("author", "article:author", "byl"),
    "published_at": ("article:published_time", "datepublished", "pubdate", "date", "dc.date"),
    "url": ("og:url",),
    "category": ("article:section",),
}

# Deepest element nesting accepted (news pages nest 10-40 deep). At this depth a 10 MB page of
# nothing but nested chains parses in about a second on one core.
MAX_NESTING = 512

# Elements that never hold others, and those a parser closes when a sibling of the same kind (or a
# block) starts, so that they do not nest: neither adds to the estimated depth.
_VOID = frozenset("area base basefont bgsound br col embed frame hr img input keygen link meta param source track "
                  "wbr".split())
_NOT_NESTING = frozenset("a button caption colgroup dd dt form li nobr optgroup option p rb rp rt rtc tbody td tfoot "
                         "th thead tr".split())
# Whose content is text, not elements, up to their end tag.
_RAW_TEXT = frozenset("iframe noembed noframes plaintext script style textarea title xmp".split())
_FOREIGN = frozenset({"svg", "math"})  # inside these "<x/>" closes itself; in HTML it opens x
# Start or end tags of elements that may nest (the others are skipped by the regex, not in Python);
# names and attributes stop at "<" so that unclosed tags cannot make the search quadratic.
_TAG = re.compile(r"<(/?)(?!(?:%s)[\s/>])([A-Za-z][^\s/<>]*)[^<>]*?(/?)>" % "|".join(sorted(_VOID | _NOT_NESTING)),
                  re.IGNORECASE)
_BR = re.compile(r"<br\b[^<>]*>", re.IGNORECASE)


class HtmlTooComplex(ValueError):
    """The page nests elements too deeply to be parsed in reasonable time."""

    def __init__(self, depth: int, line: int):
        self.depth, self.line = depth, line
        super().__init__(f"elements nest more than {MAX_NESTING} deep (line {line}); "
                         "no news page does, and parsing it would take minutes")


@dataclass
class HtmlArticle:
    """What a page says about itself. ``fields_from`` names the tag each metadata value came from."""

    title: str | None
    body: str
    meta: dict[str, str] = field(default_factory=dict)
    fields_from: dict[str, str] = field(default_factory=dict)


def nesting_depth(html: str, limit: int = MAX_NESTING) -> tuple[int, int]:
    """(Estimated deepest element nesting, at which character offset); stops once past ``limit``.

    An upper bound of what an HTML parser builds, read from the tags alone in one linear pass:
    start tags open an element, end tags close one; void elements, elements closed by their
    siblings (``<p>``, ``<li>``, ``<a>``…) and the content of ``<script>``/``<style>``… add nothing.
    """
    depth = deepest = where = 0
    raw: str | None = None
    foreign = 0
    for match in _TAG.finditer(html):
        closing, name, self_closing = match.groups()
        name = name.lower()
        if raw is not None:
            if closing and name == raw:
                raw = None
            continue
        if closing:
            if depth:
                depth -= 1
            if foreign and name in _FOREIGN:
                foreign -= 1
            continue
        if self_closing and (foreign or name in _FOREIGN):
            continue
        if name in _RAW_TEXT:
            raw = name
            continue
        foreign += name in _FOREIGN
        depth += 1
        if depth > deepest:
            deepest, where = depth, match.start()
            if deepest > limit:
                break
    return deepest, where


def check_nesting(html: str) -> None:
    """Raise :class:`HtmlTooComplex` when elements nest deeper than :data:`MAX_NESTING`."""
    depth, where = nesting_depth(html)
    if depth > MAX_NESTING:
        raise HtmlTooComplex(depth, html.count("\n", 0, where) + 1)


def web_url(value: str | None) -> str | None:
    """``value`` when it is an absolute http(s) link with a host, else None."""
    if not value or any(ord(c) < 32 or c == "\x7f" for c in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def parse_html(html: str) -> HtmlArticle:
    """Title (og:title, else first ``<h1>``, else ``<title>``), metadata and body of a page.

    The body is the paragraphs of ``<article>`` (else ``<main>``, else ``<body>``) without page
    chrome, whitespace collapsed within each paragraph and paragraphs separated by a blank line.
    The url (og:url, else the canonical link) is taken only when it is an absolute http(s) link.
    Raises :class:`HtmlTooComplex` (before parsing) for pages that nest too deeply.
    """
    check_nesting(html)
    # Line breaks become spaces before parsing: one regex pass, not a node operation per <br>.
    tree = LexborHTMLParser(_BR.sub(" ", html))
    tags = _meta_tags(tree)
    meta, fields_from = {}, {}
    for name, keys in META_FIELDS.items():
        for key in keys:
            value = tags.get(key)
            if name == "url":
                value = web_url(value)
            if value and not (name == "author" and value.startswith(("http://", "https://"))):  # profile links
                meta[name], fields_from[name] = value, f"meta {key}"
                break
    if "url" not in meta:
        canonical = tree.css_first('link[rel="canonical"]')
        href = web_url(_squash(canonical.attributes.get("href") or "")) if canonical else None
        if href:
            meta["url"], fields_from["url"] = href, "link rel=canonical"
    return HtmlArticle(title=_title(tree, tags), body=_main_text(tree), meta=meta, fields_from=fields_from)


def _meta_tags(tree: LexborHTMLParser) -> dict[str, str]:
    tags: dict[str, str] = {}
    for node in tree.css("meta"):
        attrs = node.attributes
        key = attrs.get("property") or attrs.get("name") or attrs.get("itemprop")
        content = _squash(attrs.get("content") or "")
        if key and content:
            tags.setdefault(key.strip().lower(), content)
    return tags


def _title(tree: LexborHTMLParser, tags: dict[str, str]) -> str | None:
    # og:title and the headline carry no " | Site name" suffix, which <title> often does.
    if tags.get("og:title"):
        return tags["og:title"]
    for selector in ("h1", "title"):
        node = tree.css_first(selector)
        text = _squash(node.text(deep=True)) if node else ""
        if text:
            return text
    return None


def _main_text(tree: LexborHTMLParser) -> str:
    root = tree.css_first("article") or tree.css_first("main") or tree.body or tree.root
    if root is None:
        return ""
    for tag in DROPPED_TAGS:
        for node in root.css(tag):
            node.decompose()
    paragraphs = [_squash(p.text(deep=True)) for p in root.css("p")]
    if not any(paragraphs):
        # No <p> markup: take the text's lines as paragraphs.
        paragraphs = [_squash(line) for line in root.text(deep=True, separator="\n").split("\n")]
    return "\n\n".join(p for p in paragraphs if p)


def _squash(text: str) -> str:
    return " ".join(text.split())
