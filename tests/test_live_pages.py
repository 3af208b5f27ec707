"""Article pages to Articles: main text without boilerplate, metadata, bounds on hostile pages.

The fixture pages under tests/data/live/pages were written for these tests, shaped like real
outlets' templates; each NAME.json beside NAME.html lists the article's paragraphs, the
boilerplate on the page, and the metadata expected (benchmarks/studies/extraction.py uses them too).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from live_http import LocalSite

from assistant.ingest.readers import MAX_META_CHARS, MAX_TITLE_CHARS
from assistant.live.feeds import FeedItem
from assistant.live.fetch import Fetcher, FetchPolicy
from assistant.live.pages import PageError, extract_article

LOOPBACK = ("127.0.0.1",)  # the test site: fetches reach it only because it is allowed

PAGES = Path(__file__).parent / "data" / "live" / "pages"
# Pages with a modern template; the table-layout page has tests of its own (trafilatura keeps its chrome).
MODERN = ["harbour_gazette", "valley_courier_wordpress", "northern_review_longform", "metro_daily_amp",
          "capital_post_nextjs", "global_wire_dateline"]


def fixture(name: str) -> tuple[bytes, dict]:
    return (PAGES / f"{name}.html").read_bytes(), json.loads((PAGES / f"{name}.json").read_text(encoding="utf-8"))


def squash(text: str) -> str:
    return " ".join(text.split())


def article_page(paragraphs: int = 5, *, head: str = "", before: str = "", after: str = "") -> str:
    text = "".join(f"<p>Paragraph {n}: the harbour board said the new pier would open in spring, after two years "
                   "of delays caused by storms and a shortage of steel.</p>" for n in range(paragraphs))
    return (f"<!doctype html><html><head><title>Pier to open in spring</title>{head}</head><body>"
            f"{before}<article><h1>Pier to open in spring</h1>{text}</article>{after}</body></html>")


# --- fixture pages -------------------------------------------------------------------------


@pytest.mark.parametrize("name", MODERN)
def test_body_holds_every_article_paragraph_and_no_boilerplate(name):
    html, spec = fixture(name)
    article = extract_article(html, spec["url"], charset=spec["charset"])
    paragraphs = article.body.split("\n\n")
    for expected in spec["article"]:
        assert squash(expected) in paragraphs
    flat = squash(article.body)
    leaked = [b for b in spec["boilerplate"] if squash(b) in flat]
    assert leaked == []
    assert not article.body.startswith(spec["expect"]["title"])  # the headline is the title, not the body


@pytest.mark.parametrize("name", MODERN)
def test_metadata_from_the_page(name):
    html, spec = fixture(name)
    article = extract_article(html, spec["url"], charset=spec["charset"])
    expect = spec["expect"]
    got = {field: getattr(article, field) for field in expect}
    assert got == expect
    assert article.origin == spec["url"]


def test_amp_page_takes_the_canonical_url_of_its_own_site():
    html, spec = fixture("metro_daily_amp")
    assert spec["url"].startswith("https://amp.metrodaily.example/")
    article = extract_article(html, spec["url"])
    assert article.url == spec["expect"]["url"] == (
        "https://www.metrodaily.example/news/city-council-votes-to-pedestrianise-market-street-1234567")


def test_canonical_link_of_another_site_or_relative_is_ignored():
    for canonical in ("https://elsewhere.example/story", "/relative/story", "javascript:alert(1)"):
        html = article_page(head=f'<link rel="canonical" href="{canonical}">')
        assert extract_article(html, "https://news.example.org/pier").url == "https://news.example.org/pier"


def test_table_layout_page_in_latin_1_keeps_the_article_and_its_characters():
    html, spec = fixture("westmoor_advertiser_tables")
    article = extract_article(html, spec["url"])  # charset from <meta http-equiv>
    paragraphs = article.body.split("\n\n")
    assert all(squash(p) in paragraphs for p in spec["article"])
    assert article.author == "Beatrice Lefèvre"
    assert article.source == "westmoor-advertiser.example"  # no site name on the page: the host, without www.
    assert article.published_at == "2023-09-27T00:00:00Z"
    assert "Quarry plan withdrawn after village protest" in article.title


def test_section_front_with_only_headlines_is_refused():
    html = (PAGES / "harbour_gazette_section_front.html").read_bytes()
    with pytest.raises(PageError) as caught:
        extract_article(html, "https://www.harbour-gazette.example/business")
    assert str(caught.value).startswith("no article text found on the page")


def test_feed_item_takes_precedence_and_the_page_names_its_own_outlet():
    html, spec = fixture("harbour_gazette")
    item = FeedItem(link=spec["url"], title="Island ferries to go electric", author="Gazette reporters",
                    published_at="2025-03-04T06:00:00Z", categories=("Transport", "Business"), summary="",
                    guid="hg-1")
    article = extract_article(html, spec["url"], item=item, feed_title="Harbour Gazette: Business")
    assert (article.title, article.author, article.published_at, article.category, article.source) == (
        "Island ferries to go electric", "Gazette reporters", "2025-03-04T06:00:00Z", "Transport",
        "The Harbour Gazette")  # the page's og:site_name, not the feed's title
    assert squash(spec["article"][0]) in article.body


def test_a_feed_listing_another_outlets_page_does_not_rename_its_outlet():
    html, spec = fixture("harbour_gazette")
    article = extract_article(html, spec["url"], feed_title="Morning Digest: Top Stories",
                              feed_site="https://digest.example/")
    assert article.source == "The Harbour Gazette"


def test_without_a_site_name_the_feed_title_names_only_the_pages_of_its_own_site():
    html = article_page()
    own = extract_article(html, "https://www.harbour.example/news/pier", feed_title="Harbour News",
                          feed_site="https://harbour.example/")
    other = extract_article(html, "https://valley.example/news/pier", feed_title="Harbour News",
                            feed_site="https://harbour.example/")
    assert (own.source, other.source) == ("Harbour News", "valley.example")


def test_item_without_metadata_leaves_the_page_its_own():
    html, spec = fixture("northern_review_longform")
    item = FeedItem(link=spec["url"], title="", author=None, published_at=None, categories=(), summary="", guid=None)
    article = extract_article(html, spec["url"], item=item)
    assert (article.title, article.author, article.published_at) == (
        "The quiet return of the river otter", "Iain Farquhar", "2025-06-14T08:00:00Z")
    assert article.category is None


def test_text_marked_as_comments_is_read_by_the_fallback_extractor():
    """An opinion column whose template calls its text "comments": trafilatura drops it, html_text reads it."""
    paragraphs = "".join(f"<p>Point {n}: the city should build more homes near its railway stations, and it "
                         "should start this year.</p>" for n in range(5))
    html = (f"<html><head><title>Opinion: build homes</title></head>"
            f"<body><div id='comments'>{paragraphs}</div></body></html>")
    article = extract_article(html, "https://opinion.example/homes")
    assert article.body.split("\n\n") == [f"Point {n}: the city should build more homes near its railway stations, "
                                          "and it should start this year." for n in range(5)]
    assert article.title == "Opinion: build homes"


def test_page_without_any_date_has_none():
    article = extract_article(article_page(), "https://news.example.org/pier")
    assert article.published_at is None
    assert article.source == "news.example.org" and article.author is None


def test_fetched_page_end_to_end():
    html, spec = fixture("valley_courier_wordpress")
    with LocalSite() as site, Fetcher(FetchPolicy(allow=LOOPBACK, host_delay=0)) as fetcher:
        site.redirect("/p/18342", "/2024/11/18/library-reopens/")
        site.add("/2024/11/18/library-reopens/", html, content_type="text/html; charset=UTF-8")
        fetched = fetcher.fetch(site.url("/p/18342"))
    article = extract_article(fetched.body, fetched.final_url, content_type=fetched.content_type,
                              charset=fetched.charset)
    assert article.origin == site.url("/2024/11/18/library-reopens/")
    assert article.url == article.origin  # the canonical link names another site (valleycourier.example)
    assert article.title == "Library reopens after two-year refurbishment"
    assert "Tomás Ortega" in article.body


# --- refused content -------------------------------------------------------------------------


def test_image_link_is_not_an_html_page():
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    with LocalSite() as site, Fetcher(FetchPolicy(allow=LOOPBACK, host_delay=0)) as fetcher:
        fetched = fetcher.fetch(site.add("/photo.png", png, content_type="image/png"))
    with pytest.raises(PageError) as caught:
        extract_article(fetched.body, fetched.final_url, content_type=fetched.content_type)
    assert str(caught.value) == "not an HTML page (image/png)"


@pytest.mark.parametrize("content_type", ["application/pdf", "text/plain; charset=utf-8", "application/json"])
def test_other_media_types_are_refused(content_type):
    with pytest.raises(PageError, match=r"not an HTML page \(" + content_type.split(";")[0]):
        extract_article(article_page(), "https://e.org/a", content_type=content_type)


def test_xhtml_is_read():
    article = extract_article(article_page(), "https://e.org/a", content_type="application/xhtml+xml")
    assert len(article.body.split("\n\n")) == 5


def test_page_over_the_size_limit_is_refused_before_parsing():
    with pytest.raises(PageError, match=r"the page is 17\.0 MB, over the 16 MB limit"):
        extract_article(b" " * (17 * 2**20), "https://e.org/a")


# --- hostile pages ---------------------------------------------------------------------------


def test_scripts_styles_and_templates_never_become_text():
    hidden = "The hidden script sentence claims the harbour board resigned, which it did not."
    scripts = (f'<script>var s = "<p>{hidden}</p>"; document.write(s);</script>'
               f"<style>p::after {{ content: '{hidden}' }}</style>"
               f"<template><p>{hidden}</p></template>"
               f'<script type="application/ld+json">{{"articleBody": "{hidden}"}}</script>')
    article = extract_article(article_page(before=scripts, after=scripts), "https://e.org/a")
    assert hidden not in article.body
    assert len(article.body.split("\n\n")) == 5


def test_deeply_nested_page_is_refused_quickly():
    html = "<html><body>" + "<div>" * 100_000 + "<p>deep</p>" + "</div>" * 100_000 + "</body></html>"
    start = time.monotonic()
    with pytest.raises(PageError) as caught:
        extract_article(html, "https://e.org/a")
    assert "nest more than 512 deep" in str(caught.value)
    assert time.monotonic() - start < 5


def test_huge_attributes_and_title_stay_within_bounds():
    huge = "x" * (3 * 2**20)
    html = article_page(head=f'<meta property="og:title" content="{"Title " * 50_000}">'
                             f'<meta name="author" content="{"A" * 10_000}">',
                        before=f'<div data-blob="{huge}" class="{huge}">ad</div>')
    start = time.monotonic()
    article = extract_article(html, "https://e.org/a")
    assert time.monotonic() - start < 20
    assert len(article.title) <= MAX_TITLE_CHARS and article.title.startswith("Title Title")
    assert article.author is None or len(article.author) <= MAX_META_CHARS
    assert len(article.body.split("\n\n")) == 5 and huge not in article.body


def test_control_characters_are_dropped():
    html = (article_page().replace("Paragraph 0:", "Paragraph\x1b[2J\x00 0:").replace("<title>Pier", "<title>\x07Pier")
            .replace("Paragraph 1:", "Paragraph&#27;[31m&#x7f; 1:"))
    article = extract_article(html.encode(), "https://e.org/a")
    assert all(ord(c) >= 32 and c != "\x7f" or c == "\n" for c in article.body + article.title)
    assert article.body.startswith("Paragraph [2J 0:")
    assert "Paragraph [31m 1:" in article.body


def test_undecodable_bytes_do_not_break_extraction():
    html = article_page().encode("utf-8").replace(b"storms", b"st\xff\xfeorms")
    article = extract_article(html, "https://e.org/a", charset="no-such-charset")
    assert "shortage of steel" in article.body
