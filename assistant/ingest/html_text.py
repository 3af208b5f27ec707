"""The title, metadata and main text of a news web page."""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass
class HtmlArticle:
    """What a page says about itself. ``fields_from`` names the tag each metadata value came from."""

    title: str | None
    body: str
    meta: dict[str, str] = field(default_factory=dict)
    fields_from: dict[str, str] = field(default_factory=dict)


def parse_html(html: str) -> HtmlArticle:
    """Title (og:title, else first ``<h1>``, else ``<title>``), metadata and body of a page.

    The body is the paragraphs of ``<article>`` (else ``<main>``, else ``<body>``) without page
    chrome, whitespace collapsed within each paragraph and paragraphs separated by a blank line.
    """
    tree = LexborHTMLParser(html)
    tags = _meta_tags(tree)
    meta, fields_from = {}, {}
    for name, keys in META_FIELDS.items():
        for key in keys:
            value = tags.get(key)
            if value and not (name == "author" and value.startswith(("http://", "https://"))):  # profile links
                meta[name], fields_from[name] = value, f"meta {key}"
                break
    if "url" not in meta:
        canonical = tree.css_first('link[rel="canonical"]')
        href = _squash(canonical.attributes.get("href") or "") if canonical else ""
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
    for br in root.css("br"):
        br.replace_with(" ")
    paragraphs = [_squash(p.text(deep=True)) for p in root.css("p")]
    if not any(paragraphs):
        # No <p> markup: take the text's lines as paragraphs.
        paragraphs = [_squash(line) for line in root.text(deep=True, separator="\n").split("\n")]
    return "\n\n".join(p for p in paragraphs if p)


def _squash(text: str) -> str:
    return " ".join(text.split())

