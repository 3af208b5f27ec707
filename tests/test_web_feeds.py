"""The Feeds tab without a browser: its handlers over a real SharedAssistant (real Chroma, the bundled
model) reading feeds and article pages from a local HTTP site, and the HTML they render."""

from __future__ import annotations

import pytest

from assistant.apps.web import render
from assistant.apps.web.feeds import add_feed, feed_choices, feed_rows, refresh_all, remove_feed
from assistant.models import Answer, Citation, PublishedCopy
from live_fixtures import page, rss
from live_http import LocalSite

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
HOSTILE = "<img src=x onerror=alert(1)>"
COUNCIL = (
    "The city council of Riverton voted 7 to 2 on Tuesday to build a desalination plant on the northern shore. "
    "Mayor Elena Brooks said the plant would produce twelve million litres of drinking water a day by 2027. "
    "Opponents argued that the brine discharged by the plant would harm the oyster beds in Harlow Bay. "
    "The plant is expected to cost 410 million dollars, paid for by a bond approved by voters last spring. "
    "Construction will begin in March, and the contractor, Bluewave Engineering, has promised to hire locally."
)
SNOW = (
    "Heavy snow closed the mountain pass between Alder and Pine Ridge for the third time this winter. "
    "Road crews worked through the night to clear drifts more than two metres high. "
    "The transport department said the pass would reopen on Friday if the weather held. "
    "A new tunnel under the pass has been proposed, but its funding has not been secured."
)
BRIDGE = (
    "The old iron bridge over the Riverton canal will be replaced next year, the public works office said. "
    "Inspectors found rust in every one of its eleven supporting beams during the autumn survey. "
    "A temporary footbridge will carry pedestrians while the new bridge is built."
)


ITEMS = [("Riverton approves desalination plant", "/a/council", "Tue, 05 Nov 2024 10:00:00 GMT"),
         ("Snow closes mountain pass again", "/a/snow", "Wed, 06 Nov 2024 08:30:00 GMT")]


def serve_feed(site: LocalSite, title: str = "Riverton Post", items=ITEMS) -> str:
    site.add("/a/council", page("Riverton approves desalination plant", COUNCIL, "Riverton Post"), etag='"c1"')
    site.add("/a/snow", page("Snow closes mountain pass again", SNOW, "Riverton Post"), etag='"s1"')
    return site.add("/feed.xml", rss(title, items), content_type="application/rss+xml")


class Progress:
    """Records what a handler reports to Gradio's progress bar."""

    def __init__(self):
        self.calls = []

    def __call__(self, value, desc=None, **options):
        self.calls.append((value, desc))


@pytest.fixture
def shared(make_assistant):
    from assistant.service.shared import SharedAssistant

    return SharedAssistant(make_assistant(fetch_host_delay=0, fetch_timeout=2, fetch_allow="127.0.0.1"))


def test_adding_a_feed_lists_it_with_its_items_and_the_chat_answers_from_them(site, shared):
    feed = serve_feed(site)
    progress = Progress()
    html = add_feed(shared, f"  {feed} ", progress)
    assert "Riverton Post" in html and "2 items: 2 new or changed, 0 unchanged" in html and "0 failed" in html
    assert 'class="errors"' not in html
    assert progress.calls and feed in progress.calls[0][1]

    rows = feed_rows(shared)
    assert len(rows) == 1
    row = rows[0]
    assert (row["url"], row["title"], row["last_status"]) == (feed, "Riverton Post", "ok")
    assert (row["items"], row["new_items"], row["failed_items"]) == (2, 2, 0) and row["last_fetch_at"]
    table = render.feeds_html(rows)
    assert f'href="{feed}"' in table and ">Riverton Post<" in table and "<td class='status'>ok</td>" in table
    assert "<td class='num items'>2</td>" in table and "<td class='num new'>2</td>" in table
    assert feed_choices(rows) == [(f"Riverton Post — {feed}", feed)]

    assert {a["title"] for a in shared.articles()} == {t for t, _, _ in ITEMS}
    answer = shared.ask("How much will the Riverton desalination plant cost?")
    assert not answer.abstained and any(c.source == "Riverton Post" for c in answer.citations), answer.answer

    again = add_feed(shared, feed)  # adding it twice fetches it again; nothing new
    assert "Already subscribed" in again and "0 new or changed" in again and len(feed_rows(shared)) == 1


@pytest.mark.parametrize("url", ["ftp://example.com/feed.xml", "example.com/rss", "javascript:alert(1)"])
def test_a_bad_address_says_why_and_subscribes_nothing(shared, url):
    html = add_feed(shared, url)
    assert 'class="answer error"' in html and "not an http(s) URL of a feed" in html
    assert "https://example.com/rss.xml" in html  # how to fix it
    assert "Traceback" not in html and "<script" not in html
    assert feed_rows(shared) == []
    assert "Type a feed" in add_feed(shared, "   ")


def test_refresh_all_reports_new_unchanged_and_each_failed_item_then_a_feed_that_is_gone(site, shared):
    feed = serve_feed(site)
    add_feed(shared, feed)
    site.add("/a/bridge", page("Old bridge to be replaced", BRIDGE, "Riverton Post"))
    site.add("/a/missing", b"gone", status=404, content_type="text/plain")
    serve_feed(site, items=[("Old bridge to be replaced", "/a/bridge", "Thu, 07 Nov 2024 10:00:00 GMT"),
                            ("Missing", "/a/missing", "Thu, 07 Nov 2024 11:00:00 GMT"), *ITEMS])
    progress = Progress()
    html = refresh_all(shared, progress)
    assert "4 items: 1 new or changed, 2 unchanged" in html and "1 failed" in html
    assert f'<ul class="errors"><li><a class="source-link" href="{site.url("/a/missing")}"' in html
    assert "404" in html.split('class="errors"')[1]
    assert progress.calls[0][0] == (0, 1) and "Riverton Post" in progress.calls[0][1]
    row = feed_rows(shared)[0]
    assert (row["items"], row["new_items"], row["failed_items"]) == (4, 1, 1)
    assert "Old bridge to be replaced" in {a["title"] for a in shared.articles()}

    site.add("/feed.xml", b"gone", status=404, content_type="text/plain")
    gone = refresh_all(shared)
    assert "✗" in gone and "404" in gone and "stays indexed" in gone
    row = feed_rows(shared)[0]
    assert row["last_status"] == "failed" and "404" in row["last_error"]
    table = render.feeds_html([row])
    assert "<td class='status'>failed</td>" in table and render.esc(row["last_error"]) in table
    assert len(shared.articles()) == 3  # what it brought stays


def test_refresh_all_without_feeds_and_remove(site, shared):
    assert "No feeds to refresh" in refresh_all(shared)
    assert "No feeds yet" in render.feeds_html(feed_rows(shared))
    feed = serve_feed(site)
    add_feed(shared, feed)
    assert "Pick a feed" in remove_feed(shared, None)
    removed = remove_feed(shared, feed)
    assert "Unsubscribed from" in removed and "stay indexed" in removed
    assert feed_rows(shared) == [] and len(shared.articles()) == 2
    missing = remove_feed(shared, feed)
    assert 'class="answer error"' in missing and "not a subscribed feed" in missing


def test_a_hostile_feed_is_shown_as_text(site, shared):
    site.add("/a/council", page("Riverton approves desalination plant", COUNCIL, "Riverton Post"))
    feed = site.add("/feed.xml", rss(f"<![CDATA[{HOSTILE} Post]]>", [
        (f"<![CDATA[{HOSTILE}]]>", "/a/council", "Tue, 05 Nov 2024 10:00:00 GMT"),
        ("Missing", "/a/missing", "Tue, 05 Nov 2024 11:00:00 GMT")]), content_type="application/rss+xml")
    shown = add_feed(shared, feed) + render.feeds_html(feed_rows(shared))
    assert feed_rows(shared)[0]["title"] == f"{HOSTILE} Post"  # the feed's words reach the page unchanged
    assert "<img" not in shown and shown.count("&lt;img src=x onerror=alert(1)&gt; Post") == 2
    assert feed_rows(shared)[0]["failed_items"] == 1

    hostile = {"url": 'https://feed.example/"><img src=x onerror=alert(1)>', "title": HOSTILE,
               "last_fetch_at": HOSTILE, "last_status": "failed", "last_error": HOSTILE, "items": 0,
               "new_items": 0, "failed_items": 1}
    report = {**hostile, "report": {"items": [{"url": "javascript:alert(1)", "status": "failed", "reason": HOSTILE}]}}
    ok_report = {**report, "last_status": "ok"}
    for html in (render.feeds_html([hostile]), render.feed_refresh_html([report]),
                 render.feed_refresh_html([ok_report])):
        assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
        assert 'href="javascript' not in html


def test_each_citation_card_says_who_else_published_the_story():
    citation = Citation(
        n=1, article_id="a", title="Riverton approves desalination plant", source="Riverton Post",
        published_at="2024-11-05T10:00:00Z", url="https://post.example/council", chunk_id="a:0",
        quote="The plant is expected to cost 410 million dollars.", start=0, end=49, score=0.9,
        also_published_by=[
            PublishedCopy(source="Coastal Herald", url="https://herald.example/council",
                          published_at="2024-11-05T12:15:00Z"),
            PublishedCopy(source=HOSTILE, url="javascript:alert(1)", published_at=None),
            PublishedCopy(source=None, url="https://wire.example/x", published_at="2024-11-05T09:40:00Z")])
    answer = Answer(question="q", answer="It costs 410 million dollars. [1]", abstained=False, citations=[citation])
    line = ('<p class="also-published">Also published by: <a class="copy-link" href="https://herald.example/council"'
            ' target="_blank" rel="noopener noreferrer nofollow">Coastal Herald</a> (2024-11-05), '
            "&lt;img src=x onerror=alert(1)&gt;, "
            '<a class="copy-link" href="https://wire.example/x" target="_blank" rel="noopener noreferrer nofollow">'
            "wire.example</a> (2024-11-05)</p>")
    for html in (render.sources_overview_html(answer, 0), render.citation_html(answer, 1, 0)):
        assert line in html and "<img" not in html and 'href="javascript' not in html
    citation.also_published_by = []
    assert "Also published by" not in render.sources_overview_html(answer, 0)


def test_a_story_from_two_outlets_is_cited_once_naming_the_other(site, shared):
    from assistant.apps.web.chat import sources_panel

    outlets = (("Riverton Post", "/post/council", "/post.xml", "Tue, 05 Nov 2024 10:00:00 GMT", ""),
               ("Coastal Herald", "/herald/council", "/herald.xml", "Tue, 05 Nov 2024 12:15:00 GMT",
                "<p>This story was first published by the Riverton Post.</p>"))
    for outlet, path, feed_path, date, extra in outlets:
        site.add(path, page("Riverton approves desalination plant", COUNCIL, outlet, extra))
        site.add(feed_path, rss(outlet, [("Riverton approves desalination plant", path, date)]),
                 content_type="application/rss+xml")
        add_feed(shared, site.url(feed_path))
    answer = shared.ask("How much will the Riverton desalination plant cost?")
    assert answer.citations and all(len(c.also_published_by) == 1 for c in answer.citations), answer.answer
    other = answer.citations[0].also_published_by[0]
    panel = sources_panel(answer, 0)
    assert panel.count('class="source-card"') == 1
    assert f'Also published by: <a class="copy-link" href="{other.url}"' in panel
    assert f">{other.source}</a> ({other.published_at[:10]})" in panel


def test_the_feeds_tab_is_wired_with_deliberate_limits(shared):
    from assistant.apps.web.ui import build_ui

    demo = build_ui(shared, shared.settings)
    fns = {fn.api_name: fn for fn in demo.fns.values() if fn.api_name}
    assert fns["add_feed"].concurrency_limit == 1 and fns["refresh_feeds"].concurrency_limit == 1
    assert fns["add_feed"].concurrency_id == fns["refresh_feeds"].concurrency_id == "feeds"
    assert fns["remove_feed"].concurrency_limit is None, "unsubscribing is one SQLite row"
    assert fns["upload"].concurrency_id != "feeds", "fetching feeds does not hold up uploads"
    config = demo.get_config_file()
    ids = {c.get("props", {}).get("elem_id") for c in config["components"]}
    assert {"feed-url", "feed-add", "feeds-table", "feed-pick", "feed-remove", "feeds-refresh"} <= ids
    assert "Feeds" in {c.get("props", {}).get("label") for c in config["components"] if c.get("type") == "tabitem"}
