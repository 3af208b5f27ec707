"""The Feeds tab in a real headless Chromium: subscribe to a feed served on 127.0.0.1, see it listed
with its items, then ask the chat about one of them and get an answer citing the feed's outlet."""

from __future__ import annotations

import pytest

from browser.chat_page import ask, open_app
from browser.chromium import screenshot
from browser.live_server import LiveServer
from test_web_feeds import serve_feed

pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs playwright")
from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]


@pytest.fixture(scope="module")
def live(tmp_path_factory, embedder):
    """The real app (web chat and API) over an empty index; no delay between fetches from one host."""
    from assistant import Settings, build_assistant
    from assistant.apps.server import create_app

    settings = Settings(data_dir=tmp_path_factory.mktemp("feeds-browser-index"), fetch_host_delay=0,
                        fetch_timeout=5, fetch_allow="127.0.0.1")
    with LiveServer(create_app(build_assistant(settings, embedder=embedder), settings)) as server:
        yield server


def test_add_a_feed_see_its_items_then_ask_about_one(browser, live, site):
    feed = serve_feed(site)
    page = open_app(browser, live.url)
    try:
        page.get_by_role("tab", name="Feeds").click()
        expect(page.locator("#feeds-table")).to_contain_text("No feeds yet")
        address = page.locator("#feed-url textarea, #feed-url input").first

        address.fill("ftp://example.com/feed.xml")
        page.locator("#feed-add").click()
        expect(page.locator("#feed-report")).to_contain_text("not an http(s) URL of a feed", timeout=30_000)
        expect(page.locator("#feed-report")).not_to_contain_text("Traceback")

        address.fill(feed)
        page.locator("#feed-add").click()
        expect(page.locator("#feed-report")).to_contain_text("2 items: 2 new or changed", timeout=60_000)
        row = page.locator("#feeds-table tr.feed")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Riverton Post")
        expect(row.locator("td.items")).to_have_text("2")
        expect(row.locator("td.new")).to_have_text("2")
        expect(row.locator("td.status")).to_have_text("ok")
        expect(row.locator("a.source-link")).to_have_attribute("href", feed)
        screenshot(page, "feeds", docs=True)

        page.get_by_role("tab", name="Chat").click()
        expect(page.locator("#index-notice")).to_contain_text("2 articles indexed from 1 outlet")
        answer = ask(page, "How much will the Riverton desalination plant cost?")
        expect(answer.locator("a.cite").first).to_be_visible()
        card = page.locator("#sources-panel .source-card")
        expect(card.first.locator(".meta")).to_contain_text("Riverton Post")
        expect(card.first.locator("h4")).to_contain_text("Riverton approves desalination plant")
        assert page.dialogs == [], page.dialogs
    finally:
        page.context.close()
