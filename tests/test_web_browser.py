"""The web chat in a real headless Chromium: ask, open a citation, upload, and no injection."""

from __future__ import annotations

import json

import pytest

from browser.chromium import screenshot
from browser.live_server import LiveServer
from conftest import CORPUS

pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs playwright")
from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]
SEED_QUESTION = "What did the expert say about China?"
PAYLOADS = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")
# Ingestion refuses non-http(s) urls (javascript: is covered by test_web_ui); this one tries to
# break out of the href attribute instead.
HOSTILE_URL = 'https://bridge.example/"><img src=x onerror=alert(1)>'



@pytest.fixture(scope="module")
def live(tmp_path_factory, embedder):
    from assistant import Settings, build_assistant
    from assistant.apps.server import create_app

    settings = Settings(data_dir=tmp_path_factory.mktemp("browser-index"))
    assistant = build_assistant(settings, embedder=embedder)
    assistant.ingest([CORPUS])
    with LiveServer(create_app(assistant, settings)) as server:
        yield server, assistant


@pytest.fixture
def page(browser, live):
    """A fresh tab on the app; every JavaScript dialog is recorded (and dismissed)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.dialogs = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.goto(live[0].url + "/")
    expect(tab.locator("#question textarea")).to_be_visible(timeout=30_000)
    yield tab
    context.close()


def ask(page, question: str):
    """Ask in the chat and wait for the finished answer; return its locator."""
    before = page.locator("#chat .answer").count()
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()
    page.wait_for_function(
        "n => { const a = document.querySelectorAll('#chat .answer');"
        " return a.length > n && !a[a.length - 1].classList.contains('pending'); }", arg=before, timeout=60_000)
    return page.locator("#chat .answer").last


def test_ask_then_click_a_citation_highlights_the_quote(page, live):
    expected = live[1].ask(SEED_QUESTION)
    second = expected.citations[1]
    answer = ask(page, SEED_QUESTION)
    expect(answer.locator("a.cite")).to_have_count(len(expected.citations))
    expect(page.locator("#sources-panel mark")).to_have_count(0)

    answer.locator("a.cite", has_text="[2]").click()
    mark = page.locator("#sources-panel mark")
    expect(mark).to_have_text(second.quote)
    expect(page.locator("#sources-panel h3")).to_contain_text(second.title)
    passage = page.locator("#sources-panel blockquote.passage").inner_text()
    assert len(passage) > len(second.quote), "the quote is shown inside its passage"
    screenshot(page, "chat-citation")

    follow_up = live[1].ask("What else did he say?", history=[expected])
    second_answer = ask(page, "What else did he say?")  # refers back to the first answer
    second_answer.locator("a.cite", has_text="[1]").click()
    expect(mark).to_have_text(follow_up.citations[0].quote)
    assert page.locator("#chat a.cite[href^='#cite-1-']").count() >= 1, "markers name their turn"
    page.locator("#clear").click()
    expect(page.locator("#chat .answer")).to_have_count(0)
    assert page.dialogs == []


def test_upload_an_article_then_ask_about_it(page, live, tmp_path):
    story = tmp_path / "tram.json"
    story.write_text(json.dumps({
        "title": "Night trams return to Lindenberg", "source": "Lindenberg Courier", "author": "Ada Weiss",
        "published_at": "2024-06-02", "url": "https://courier.example/trams",
        "body": "Night trams return to Lindenberg from the first of July. The service runs every twenty minutes "
                "between midnight and five in the morning. The city council approved the budget in May.",
    }), encoding="utf-8")
    page.get_by_role("tab", name="Corpus").click()
    page.locator("#upload-files input[type=file]").set_input_files(str(story))
    expect(page.locator("#upload-files")).to_contain_text("tram.json", timeout=30_000)
    page.locator("#upload-index").click()
    expect(page.locator("#upload-report")).to_contain_text("1 new", timeout=60_000)
    expect(page.locator("#articles-table")).to_contain_text("Night trams return to Lindenberg")
    screenshot(page, "corpus-upload")

    page.get_by_role("tab", name="Chat").click()
    question = "How often do the night trams run?"
    answer = ask(page, question)
    n = next(c.n for c in live[1].ask(question).citations if "every twenty minutes" in c.quote)
    expect(answer).to_contain_text("Night trams return to Lindenberg")  # the list of sources
    answer.locator("a.cite", has_text=f"[{n}]").first.click()
    panel = page.locator("#sources-panel")
    expect(panel.locator("h3")).to_contain_text("Night trams return to Lindenberg")
    expect(panel.locator(".meta")).to_contain_text("Lindenberg Courier · Ada Weiss · 2024-06-02")
    expect(panel.locator("a.source-link")).to_have_attribute("href", "https://courier.example/trams")
    expect(panel.locator("mark")).to_contain_text("every twenty minutes")
    screenshot(page, "chat-uploaded-article")


def test_article_html_and_scripts_are_shown_as_text_never_run(page, live, tmp_path):
    hostile = tmp_path / "hostile.json"
    hostile.write_text(json.dumps({
        "title": f"Bridge {PAYLOADS[0]} opening {PAYLOADS[1]}",
        "source": "<img src=x onerror=\"window.__pwned=1\">Gazette",
        "author": "<b onmouseover=alert(1)>Eve</b>", "published_at": "2024-02-01", "category": "<i>city</i>",
        "url": HOSTILE_URL,
        "body": f"The new river bridge opens on Monday {PAYLOADS[0]} said the mayor. "
                f"Crowds wrote {PAYLOADS[1]} on banners <svg onload=alert(1)> near the bridge.",
    }), encoding="utf-8")
    report = live[1].ingest([hostile])
    assert report.added == 1
    page.reload()
    expect(page.locator("#question textarea")).to_be_visible(timeout=30_000)

    answer = ask(page, "When does the new river bridge open?")
    expect(page.locator("#chat .sources-list").last).to_contain_text(PAYLOADS[1])  # the title, as text
    answer.locator("a.cite", has_text="[1]").first.click()
    panel = page.locator("#sources-panel")
    expect(panel.locator("mark")).to_be_visible()
    expect(panel.locator("h3")).to_contain_text(PAYLOADS[1])
    expect(panel.locator("a.source-link")).to_have_attribute("href", HOSTILE_URL)  # one attribute, escaped
    page.get_by_text("Filters and settings").click()
    page.locator("#filter-outlets input").click()  # list the outlets
    page.wait_for_timeout(300)
    screenshot(page, "xss-chat")
    page.get_by_role("tab", name="Corpus").click()
    expect(page.locator("#articles-table")).to_contain_text(PAYLOADS[0])
    page.locator("#delete-pick input").click()  # list the article titles
    page.wait_for_timeout(500)  # let any injected image fail to load and fire its handler
    screenshot(page, "xss-corpus")

    assert page.dialogs == [], f"a dialog opened: {page.dialogs}"
    injected = page.evaluate("""() => ({
        pwned: window.__pwned === 1,
        images: document.querySelectorAll('img[src="x"]').length,
        handlers: document.querySelectorAll('[onerror], [onload], [onmouseover]').length,
        svg: document.querySelectorAll('svg[onload]').length,
        scripts: [...document.querySelectorAll('script')].filter(s => s.textContent.includes('alert(1)')).length,
        jsLinks: [...document.querySelectorAll('a[href]')].filter(a => /^\\s*javascript:/i.test(a.getAttribute('href'))).length,
        bold: [...document.querySelectorAll('b, i')].filter(e => /Eve|city/.test(e.textContent)).length,
    })""")
    assert injected == {"pwned": False, "images": 0, "handlers": 0, "svg": 0, "scripts": 0, "jsLinks": 0,
                        "bold": 0}, injected


def test_evaluation_tab_runs_the_bundled_question_set(page):
    page.get_by_role("tab", name="Evaluation").click()
    expect(page.locator("#eval-run")).to_be_visible()  # the tab is rendered before its inputs are filled
    limit = page.locator("#eval-limit input")
    expect(limit).not_to_have_value("")  # the tab's inputs get their values after it first renders
    for _ in range(10):  # a fill racing that render is overwritten by the default (seen twice in CI)
        limit.fill("3")
        limit.press("Tab")  # commit the value
        page.wait_for_timeout(300)
        if limit.input_value() == "3":
            break
    expect(limit).to_have_value("3")
    page.locator("#eval-run").click()
    expect(page.locator("#eval-status")).to_contain_text("Evaluated corpus_questions.jsonl", timeout=60_000)
    expect(page.locator("#eval-metrics")).to_contain_text("Evaluated 3 questions")
    expect(page.locator("#eval-charts img").first).to_be_visible()
    assert page.locator("#eval-charts img").count() >= 2
    screenshot(page, "evaluation", docs=True)


def test_a_very_long_line_wraps_inside_its_source_card(page, live, tmp_path):
    """A 100,000-character 'word' (hostile or broken page text) stays inside the panel and its card."""
    endless = "x" * 100_000
    story = tmp_path / "endless.json"
    story.write_text(json.dumps({
        "title": "Lighthouse keeper retires " + "y" * 900, "source": "Coastal Herald", "published_at": "2024-03-01",
        "body": f"The lighthouse keeper retired on Friday after forty years. Readers sent {endless} in letters."}),
        encoding="utf-8")
    assert live[1].ingest([story]).added == 1
    page.reload()
    expect(page.locator("#question textarea")).to_be_visible(timeout=30_000)
    answer = ask(page, "When did the lighthouse keeper retire?")
    answer.locator("a.cite", has_text="[1]").first.click()
    expect(page.locator("#sources-panel mark")).to_be_visible()
    overflow = page.evaluate("""() => [...document.querySelectorAll(
            '#sources-panel, #sources-panel .source-card, #sources-panel blockquote, #chat .answer')]
        .filter(e => e.offsetParent !== null)
        .map(e => ({cls: e.className || e.id, over: e.scrollWidth - e.clientWidth}))""")
    assert overflow and all(box["over"] <= 1 for box in overflow), overflow
    screenshot(page, "long-line-wrapped")
