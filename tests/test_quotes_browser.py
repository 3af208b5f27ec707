"""The Quotes view (issue 16, "who said what") in a real headless Chromium: the bundled article's
expert, every statement verbatim with its span, date, outlet and link; a topic; a person picked from
the names offered; article text shown as text. Screenshot: docs/screenshots/quotes.png."""

from __future__ import annotations

import json

import pytest

from browser.chat_page import open_app
from browser.chromium import screenshot
from browser.live_server import LiveServer
from conftest import CORPUS, SEED

pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs playwright")
from playwright.sync_api import expect  # noqa: E402
from assistant.ingest.readers import read_file

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]
BODY = read_file(SEED).articles[0].body  # as indexed: page furniture (a caption, a "Read also" link) left out
EXPERT = "Stanislav Zhelikhovsky"
HOSTILE = {"title": "Harbour <b>reopens</b>", "source": "Gazette <i>", "published_at": "2023-10-02",
           "url": "https://gazette.example/harbour?q=\"><b>x</b>",
           "body": "The harbour reopened. “The <img src=x onerror=alert(2)> harbour is safe again,” said harbour "
                   "master Ana Lopez. She said the <script>alert(3)</script> repairs cost less than planned."}


@pytest.fixture(scope="module")
def live(tmp_path_factory, embedder):
    from assistant import Settings, build_assistant
    from assistant.apps.server import create_app

    settings = Settings(data_dir=tmp_path_factory.mktemp("quotes-browser-index"))
    assistant = build_assistant(settings, embedder=embedder)
    assistant.ingest([CORPUS])
    with LiveServer(create_app(assistant, settings)) as server:
        yield server, assistant


@pytest.fixture
def page(browser, live):
    tab = open_app(browser, live[0].url)
    tab.get_by_role("tab", name="Quotes").click()
    expect(tab.locator("#quotes-person textarea, #quotes-person input").first).to_be_visible()
    yield tab
    assert tab.dialogs == [], f"a dialog opened: {tab.dialogs}"
    tab.context.close()


def find(page, person: str, about: str = ""):
    page.locator("#quotes-person textarea, #quotes-person input").first.fill(person)
    page.locator("#quotes-about textarea, #quotes-about input").first.fill(about)
    page.locator("#quotes-find").click()


def statements(page) -> list[tuple[int, int, str]]:
    rows = page.locator("#quotes-result tr.quote-row")
    return [(int(rows.nth(i).get_attribute("data-start")), int(rows.nth(i).get_attribute("data-end")),
             rows.nth(i).locator(".statement").text_content()) for i in range(rows.count())]


def test_quotes_view_lists_the_experts_statements_verbatim(page, live):
    expected = live[1].quotes("Zhelikhovsky")
    find(page, "Zhelikhovsky")
    result = page.locator("#quotes-result")
    expect(result.locator("tr.quote-row")).to_have_count(len(expected))
    expect(result.locator(".quotes-summary")).to_contain_text(f"{EXPERT}: {len(expected)} statements in 1 article")
    expect(result).to_contain_text("95.4% of 175 labelled sentences")  # the measured accuracy, on the page
    header = [result.locator("th").nth(i).text_content() for i in range(result.locator("th").count())]
    assert header == ["Date", "Outlet", "Statement (verbatim)", "Characters"]
    article = result.locator("tr.article-row")
    expect(article).to_have_count(1)  # one heading per article, not its title on every row
    expect(article).to_contain_text("It would be beneficial for Putin")
    expect(article).to_contain_text("undated · outlet unknown")
    first = result.locator("tr.quote-row").first
    expect(first.locator("td.date")).to_have_text("undated")
    expect(first.locator("td.outlet")).to_have_text("outlet unknown")
    shown = statements(page)
    assert [(s, e) for s, e, _ in shown] == [(q.start, q.end) for q in expected]
    for start, end, text in shown:
        assert BODY[start:end] in text, "the sentence is shown character for character"
        assert text.count("“") == text.count("”"), text
    screenshot(page, "quotes", docs=True)


def test_a_topic_keeps_the_statements_about_it(page, live):
    expected = live[1].quotes("Zhelikhovsky", about="China")
    find(page, "Zhelikhovsky", "China")
    expect(page.locator("#quotes-result tr.quote-row")).to_have_count(len(expected))
    expect(page.locator("#quotes-result .quotes-summary")).to_contain_text("about “China”")
    assert 3 <= len(expected) < 20


def test_a_person_picked_from_the_offered_names(page):
    offered = page.locator("#quotes-speakers")
    expect(offered).to_contain_text(EXPERT)
    offered.get_by_text("Vladimir Putin").click()
    expect(page.locator("#quotes-person textarea, #quotes-person input").first).to_have_value("Vladimir Putin")
    expect(page.locator("#quotes-result tr.quote-row")).to_have_count(3)


def test_an_unknown_person_is_answered_plainly(page):
    find(page, "Angela Merkel")
    expect(page.locator("#quotes-result")).to_contain_text("No statements attributed to “Angela Merkel”")
    expect(page.locator("#quotes-result tr.quote-row")).to_have_count(0)


def test_article_text_is_shown_as_text(page, live, tmp_path):
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps([HOSTILE]), encoding="utf-8")
    assert live[1].ingest([path]).failed == 0
    try:
        find(page, "Lopez")
        rows = page.locator("#quotes-result tr.quote-row")
        expect(rows).to_have_count(2)
        expect(rows.first.locator(".statement")).to_contain_text("<img src=x onerror=alert(2)>")
        expect(rows.first.locator("td.outlet")).to_have_text("Gazette <i>")
        expect(page.locator("#quotes-result .article-title")).to_have_text("Harbour <b>reopens</b>")
        assert page.locator("#quotes-result img, #quotes-result script, #quotes-result b").count() == 0
        links = page.locator("#quotes-result a.quote-article")
        expect(links).to_have_count(1)
        assert links.first.get_attribute("href") == HOSTILE["url"] and links.first.get_attribute("target") == "_blank"
    finally:
        for row in live[1].articles():
            if row["title"] == HOSTILE["title"]:
                live[1].delete_article(row["id"])
