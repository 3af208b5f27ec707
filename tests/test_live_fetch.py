"""Fetching over real HTTP (a local site on 127.0.0.1) and reading RSS / Atom feeds."""

from __future__ import annotations

import gzip
import threading
import time
from pathlib import Path

import pytest
from live_http import LocalSite

from assistant.errors import AssistantError
from assistant.live.feeds import FeedError, looks_like_feed, parse_feed
from assistant.live.fetch import Fetcher, FetchError, FetchPolicy

LOOPBACK = ("127.0.0.1",)  # the test site: fetches reach it only because it is allowed

FEEDS = Path(__file__).parent / "data" / "live" / "feeds"
FAST = FetchPolicy(allow=LOOPBACK, timeout=2.0, host_delay=0.0)


@pytest.fixture
def site():
    with LocalSite() as site:
        yield site


@pytest.fixture
def fetcher():
    with Fetcher(FAST) as fetcher:
        yield fetcher


def fetch_error(fetcher: Fetcher, url: str, **kwargs) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url, **kwargs)
    return caught.value


# --- fetching --------------------------------------------------------------------------------


def test_fetch_returns_body_type_charset_and_validators(site, fetcher):
    url = site.add("/feed.xml", "<rss>ü</rss>", content_type="application/RSS+XML; charset=UTF-8",
                   etag='"v1"', last_modified="Tue, 04 Mar 2025 07:30:00 GMT")
    fetched = fetcher.fetch(url)
    assert (fetched.status, fetched.body) == (200, "<rss>ü</rss>".encode())
    assert (fetched.content_type, fetched.charset) == ("application/rss+xml", "utf-8")
    assert (fetched.etag, fetched.last_modified) == ('"v1"', "Tue, 04 Mar 2025 07:30:00 GMT")
    assert fetched.url == fetched.final_url == url
    assert not fetched.not_modified


def test_missing_content_type_is_empty(site, fetcher):
    fetched = fetcher.fetch(site.add("/raw", b"abc", content_type=None))
    assert (fetched.content_type, fetched.charset, fetched.etag) == ("", None, None)


def test_user_agent_and_accept_are_sent(site):
    url = site.add("/page", "<p>hi</p>")
    with Fetcher(FetchPolicy(allow=LOOPBACK, host_delay=0, user_agent="test-agent/9 (+https://example.org)")) as fetcher:
        fetcher.fetch(url, accept="text/html")
    request = site.requests_for("/page")[0]
    assert request.headers["user-agent"] == "test-agent/9 (+https://example.org)"
    assert request.headers["accept"] == "text/html"
    assert "if-none-match" not in request.headers


def test_default_user_agent_names_the_assistant(site, fetcher):
    fetcher.fetch(site.add("/page", "x"))
    assert site.requests[0].headers["user-agent"].startswith("news-assistant/")


def test_conditional_request_with_etag_gives_not_modified(site, fetcher):
    url = site.add("/feed.xml", "<rss/>", content_type="application/rss+xml", etag='"abc123"')
    first = fetcher.fetch(url)
    second = fetcher.fetch(url, etag=first.etag)
    assert site.requests_for("/feed.xml")[1].headers["if-none-match"] == '"abc123"'
    assert second.not_modified and second.status == 304 and second.body == b""
    assert second.etag == '"abc123"'
    changed = fetcher.fetch(url, etag='"old"')
    assert changed.status == 200 and changed.body == b"<rss/>"


def test_conditional_request_with_last_modified(site, fetcher):
    stamp = "Wed, 05 Mar 2025 16:05:00 GMT"
    url = site.add("/feed.xml", "<rss/>", last_modified=stamp)
    second = fetcher.fetch(url, last_modified=stamp)
    assert site.requests[0].headers["if-modified-since"] == stamp
    assert second.not_modified and second.last_modified == stamp


def test_relative_and_absolute_redirects_are_followed(site, fetcher):
    site.add("/articles/final.html", "<p>here</p>")
    site.redirect("/articles/moved", "final.html", status=301)  # relative to /articles/
    start = site.redirect("/start", site.url("/articles/moved"), status=302)
    fetched = fetcher.fetch(start)
    assert fetched.body == b"<p>here</p>"
    assert fetched.url == start and fetched.final_url == site.url("/articles/final.html")
    assert [r.path for r in site.requests] == ["/start", "/articles/moved", "/articles/final.html"]


def test_redirect_loop_is_refused_after_max_redirects(site):
    site.redirect("/a", "/b")
    site.redirect("/b", "/a")
    with Fetcher(FetchPolicy(allow=LOOPBACK, host_delay=0, max_redirects=3)) as fetcher:
        error = fetch_error(fetcher, site.url("/a"))
    assert error.reason == "too many redirects (more than 3)"
    assert len(site.requests) == 4  # the first request and three redirects, then it stops


def test_redirect_to_another_scheme_is_refused(site, fetcher):
    error = fetch_error(fetcher, site.redirect("/ftp", "ftp://files.example/feed.xml"))
    assert error.reason == "redirect to 'ftp://files.example/feed.xml': not an http(s) URL"


def test_redirect_without_location_is_an_error(site, fetcher):
    url = site.add("/odd", b"", status=302, content_type=None)
    assert fetch_error(fetcher, url).reason == "HTTP 302 Found without a Location header"


@pytest.mark.parametrize(("status", "reason"), [(404, "HTTP 404 Not Found"), (500, "HTTP 500 Internal Server Error"),
                                                (403, "HTTP 403 Forbidden")])
def test_error_statuses_name_the_status(site, fetcher, status, reason):
    url = site.add(f"/status/{status}", b"nope", status=status)
    error = fetch_error(fetcher, url)
    assert error.reason == reason and error.url == url
    assert str(error) == f"{url}: {reason}"
    assert isinstance(error, AssistantError)


def test_unknown_path_is_404(site, fetcher):
    assert fetch_error(fetcher, site.url("/nowhere")).reason == "HTTP 404 Not Found"


def test_slow_response_times_out(site):
    url = site.add("/slow", "late", delay=5)
    with Fetcher(FetchPolicy(allow=LOOPBACK, timeout=0.5, host_delay=0)) as fetcher:
        start = time.monotonic()
        error = fetch_error(fetcher, url)
        took = time.monotonic() - start
    assert error.reason == "timed out after 0.5 s"
    assert took < 2.0


def test_trickling_body_cannot_stretch_the_deadline(site):
    """Each chunk arrives well within the timeout, but the whole response does not."""
    url = site.add("/drip", b"x" * 40, chunk_size=1, chunk_delay=0.1)
    with Fetcher(FetchPolicy(allow=LOOPBACK, timeout=0.5, host_delay=0)) as fetcher:
        start = time.monotonic()
        error = fetch_error(fetcher, url)
        took = time.monotonic() - start
    assert error.reason == "timed out after 0.5 s"
    assert took < 1.5


def test_body_over_the_limit_announced_by_content_length(site):
    url = site.add("/big", b"x" * 3000)
    with Fetcher(FetchPolicy(allow=LOOPBACK, max_bytes=1024, host_delay=0)) as fetcher:
        error = fetch_error(fetcher, url)
    assert error.reason == "larger than the 1 KB limit (2.93 KB announced)"


def test_body_over_the_limit_without_content_length_stops_reading(site):
    url = site.add("/big", b"x" * (6 * 2**20), content_length=False, chunk_size=64 * 1024)
    with Fetcher(FetchPolicy(allow=LOOPBACK, host_delay=0)) as fetcher:
        error = fetch_error(fetcher, url)
    assert error.reason == "larger than the 5 MB limit"


def test_gzip_body_is_decoded_and_a_compression_bomb_is_refused(site):
    small = site.add("/small.gz", b"<rss>" + b"a" * 500 + b"</rss>", gzip=True)
    bomb = site.add("/bomb.gz", b"\0" * (8 * 2**20), gzip=True)  # 8 MB that compresses to about 8 KB
    with Fetcher(FetchPolicy(allow=LOOPBACK, max_bytes=2**20, host_delay=0)) as fetcher:
        assert fetcher.fetch(small).body == b"<rss>" + b"a" * 500 + b"</rss>"
        assert len(gzip.compress(b"\0" * (8 * 2**20))) < 2**20
        assert fetch_error(fetcher, bomb).reason == "larger than the 1 MB limit"
    assert site.requests[0].headers["accept-encoding"] == "gzip, deflate"


def test_unsupported_content_encoding_is_an_error(site, fetcher):
    url = site.add("/br", b"\x0b\x02\x80", headers={"Content-Encoding": "br"})
    assert fetch_error(fetcher, url).reason == "unsupported content encoding 'br' (gzip and deflate are)"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/feed.xml", "javascript:alert(1)",
                                 "example.org/feed.xml", "http://", "http://exa mple.org/", ""])
def test_non_http_urls_are_refused_without_a_request(fetcher, url):
    assert fetch_error(fetcher, url).reason == "not an http(s) URL"


def test_connection_refused(fetcher):
    with LocalSite() as gone:
        url = gone.url("/feed.xml")
    assert fetch_error(fetcher, url).reason == "connection refused"


def test_requests_to_one_host_are_spaced_by_the_host_delay(site):
    urls = [site.add(f"/p{n}", "x") for n in range(3)]
    with Fetcher(FetchPolicy(allow=LOOPBACK, host_delay=0.2)) as fetcher:
        for url in urls:
            fetcher.fetch(url)
    arrivals = [r.at for r in site.requests]
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert len(gaps) == 2 and min(gaps) >= 0.15, gaps  # without the delay they are a few ms


def test_host_delay_holds_across_threads(site):
    urls = [site.add(f"/t{n}", "x") for n in range(4)]
    with Fetcher(FetchPolicy(allow=LOOPBACK, host_delay=0.2)) as fetcher:
        threads = [threading.Thread(target=fetcher.fetch, args=(url,)) for url in urls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    arrivals = sorted(r.at for r in site.requests)
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert len(arrivals) == 4 and min(gaps) >= 0.15, gaps


def test_other_hosts_do_not_wait(site):
    """127.0.0.1 and localhost are different hosts: the second request need not wait."""
    url = site.add("/p", "x")
    with Fetcher(FetchPolicy(allow=LOOPBACK, host_delay=5)) as fetcher:
        start = time.monotonic()
        fetcher.fetch(url)
        fetcher.fetch(url.replace("127.0.0.1", "localhost"))
        assert time.monotonic() - start < 2


@pytest.mark.parametrize(("field", "value", "problem"), [
    ("timeout", 0, "more than 0 seconds"), ("timeout", -1, "seconds >= 0"), ("max_bytes", -5, "whole number >= 0"),
    ("host_delay", float("nan"), "seconds >= 0"), ("max_redirects", 1.5, "whole number >= 0"),
    ("user_agent", "a\r\nX-Evil: 1", "one non-empty line")])
def test_policy_checks_its_values(field, value, problem):
    with pytest.raises(ValueError, match=problem) as caught:
        FetchPolicy(allow=LOOPBACK, **{field: value})
    assert field in str(caught.value)


# --- feeds -----------------------------------------------------------------------------------


def test_rss_feed_fetched_and_parsed(site, fetcher):
    url = site.add("/business/rss.xml", (FEEDS / "harbour_gazette_rss.xml").read_bytes(),
                   content_type="application/rss+xml")
    fetched = fetcher.fetch(url)
    assert looks_like_feed(fetched.body, fetched.content_type)
    feed = parse_feed(fetched.body, fetched.final_url)
    assert (feed.title, feed.link, feed.kind) == ("The Harbour Gazette - Business", site.url("/business"), "rss")
    # Two items have no http(s) link (none, and javascript:) and are skipped.
    assert [item.link for item in feed.items] == [
        site.url("/business/2025/03/04/ferry-operator-orders-electric-vessels"),
        site.url("/business/fish-market-prices-fall"),  # relative to the feed's URL
        "https://www.harbour-gazette.example/business/2025/03/02/distillery-expansion-approved",  # permalink guid
    ]
    first, second, third = feed.items
    assert first.title == "Ferry operator orders two battery-electric vessels for the island route"
    assert first.author == "Morag Lindsay"
    assert first.published_at == "2025-03-04T07:30:00Z"
    assert first.categories == ("Business", "Transport")  # "business" repeats "Business"
    assert first.summary == "The contract, worth £48m, is the largest the yard has signed in a decade."
    assert first.guid == "hg-2025-03-04-0192"
    assert second.author == "Callum Reid"  # from "desk@… (Callum Reid)"
    assert second.published_at == "2025-03-03T17:15:00Z"  # +0100 to UTC
    assert second.summary == "Prices for haddock & cod fell again at the Peterhead auction."
    assert third.published_at == "2025-03-02T14:00:00Z" and third.author is None and third.categories == ()


def test_atom_feed_parsed_with_xml_base():
    body = (FEEDS / "northern_review_atom.xml").read_bytes()
    assert looks_like_feed(body, "text/plain")
    feed = parse_feed(body, "https://www.northern-review.example/features/atom.xml")
    assert (feed.title, feed.link, feed.kind) == ("The Northern Review: Features",
                                                 "https://www.northern-review.example/", "atom")
    otter, roads = feed.items
    assert otter.link == "https://www.northern-review.example/features/the-quiet-return-of-the-river-otter"
    assert otter.title == "The quiet return of the river otter"  # type="html" title, tags stripped
    assert otter.published_at == "2025-06-14T08:00:00Z"  # published, not updated
    assert otter.categories == ("Nature", "rivers")  # label when there is one, else term
    assert otter.summary == "Thirty years after they all but vanished, otters are back."
    assert otter.guid == "tag:northern-review.example,2025:otter"
    assert roads.link == "https://www.northern-review.example/culture/drove-roads"  # the entry's own xml:base
    assert roads.author == "Ruth Okafor, Iain Farquhar"
    assert roads.published_at == "2025-05-31T03:30:00Z"  # only <updated>; -04:00 crosses midnight
    assert roads.summary == "From coast to coast on foot, following the cattle."


def test_malformed_feed_names_the_xml_error_and_line():
    with pytest.raises(FeedError) as caught:
        parse_feed((FEEDS / "broken_rss.xml").read_bytes(), "https://broken.example/feed.xml")
    assert str(caught.value) == "not a well-formed feed: mismatched tag at line 8, column 24"


def test_html_page_is_not_a_feed():
    page = b"<!doctype html><html><body><p>Hello</p></body></html>"
    assert not looks_like_feed(page, "text/html")
    with pytest.raises(FeedError, match="not an RSS or Atom feed"):
        parse_feed(page, "https://example.org/")


def test_empty_body_is_not_a_feed():
    with pytest.raises(FeedError, match="empty document"):
        parse_feed(b"  \n", "https://example.org/feed")


def test_max_items_and_field_bounds():
    items = "".join(f"<item><title>{'T' * 5000} {n}</title><link>/a/{n}</link>"
                    f"<description>{'word ' * 2000}</description></item>" for n in range(30))
    body = f'<rss version="2.0"><channel><title>x</title>{items}</channel></rss>'.encode()
    feed = parse_feed(body, "https://example.org/feed", max_items=10)
    assert [item.link for item in feed.items] == [f"https://example.org/a/{n}" for n in range(10)]
    assert all(len(item.title) <= 1000 and item.title.endswith("…") for item in feed.items)
    assert all(len(item.summary) <= 2000 for item in feed.items)


def test_control_characters_and_scripts_never_reach_the_items():
    body = (b'<rss version="2.0"><channel><item><title>Bad\x1b[31m title</title><link>https://e.org/a</link>'
            b'<description>&lt;script&gt;steal()&lt;/script&gt;&lt;p&gt;Fine text.&lt;/p&gt;</description>'
            b'</item></channel></rss>')
    item = parse_feed(body, "https://e.org/feed").items[0]
    assert item.title == "Bad [31m title"
    assert item.summary == "Fine text."


@pytest.mark.parametrize(("body", "content_type", "expected"), [
    (b"<html>", "application/atom+xml; charset=utf-8", True),
    (b"<html>", "text/xml", True),
    (b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- c --><?xml-stylesheet href="s.xsl"?>\n  <rss version="2.0">', "", True),
    (b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">', "text/plain", True),
    ('<?xml version="1.0" encoding="utf-16"?><feed xmlns="http://www.w3.org/2005/Atom">'.encode("utf-16"), "", True),
    (b"<!DOCTYPE html><html><head><title>rss</title>", "text/html", False),
    (b"<rssfeed>", "", False),
    (b"", "", False),
])
def test_looks_like_feed(body, content_type, expected):
    assert looks_like_feed(body, content_type) is expected
