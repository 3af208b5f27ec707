"""The chat of issue 16 in a real headless Chromium: honest declines that do not stick, "understood
as" for follow-ups, answers that visibly stream in (and stop), one source card per cited article,
quotes that are the article's own words, and a first run that says what is indexed."""

from __future__ import annotations

import json

import pytest

import assistant.apps.web.chat as web_chat
from browser.chat_page import ask, open_app, send, set_filter, wait_finished
from browser.chromium import screenshot
from browser.live_server import LiveServer
from conftest import CORPUS, SEED

pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs playwright")
from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]
SEED_QUESTION = "What did the expert say about China?"
SEED_TITLE = "It would be beneficial for Putin to stop military operations now"
TRAMS = [
    {"title": "Night trams return to Lindenberg", "source": "Lindenberg Courier", "author": "Ada Weiss",
     "published_at": "2024-06-02", "url": "https://courier.example/trams",
     "body": "Night trams return to Lindenberg from the first of July. The night trams run every twenty minutes "
             "between midnight and five in the morning. The city council approved the budget in May."},
    {"title": "Council funds a year of night trams", "source": "Lindenberg Post", "author": None,
     "published_at": "2024-06-05", "url": "https://post.example/night-trams",
     "body": "The council will fund the night trams for a year. Night trams will run on weekends every fifteen "
             "minutes, the transport office said. Tickets cost the same as by day."},
]
TRAM_QUESTION = "How often do the night trams run?"

# Records, in the page, every state the last answer of the chat and the sources panel go through.
RECORDER = r"""
() => {
  window.chatStates = [];
  const note = () => {
    const answers = document.querySelectorAll('#chat .answer');
    const last = answers[answers.length - 1];
    if (!last) return;
    const text = (last.querySelector('.answer-text') || last).textContent;
    const cited = document.querySelectorAll('#sources-panel .source-card ul.cited li').length;
    const previous = window.chatStates[window.chatStates.length - 1];
    const state = {text, pending: last.classList.contains('pending'), cited};
    if (!previous || previous.text !== state.text || previous.pending !== state.pending || previous.cited !== cited)
      window.chatStates.push(state);
  };
  window.chatRecorder = new MutationObserver(note);
  window.chatRecorder.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
}
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory, embedder):
    """(server, assistant) with the bundled article alone indexed, as on a first run."""
    from assistant import Settings, build_assistant
    from assistant.apps.server import create_app

    settings = Settings(data_dir=tmp_path_factory.mktemp("chat-browser-index"))
    assistant = build_assistant(settings, embedder=embedder)
    assistant.ingest([CORPUS])
    with LiveServer(create_app(assistant, settings)) as server:
        yield server, assistant


@pytest.fixture
def page(browser, live):
    tab = open_app(browser, live[0].url, permissions=["clipboard-read", "clipboard-write"])
    yield tab
    assert tab.dialogs == [], f"a dialog opened: {tab.dialogs}"
    tab.context.close()


@pytest.fixture
def trams(live, tmp_path):
    """Two dated articles from two outlets, with links, indexed next to the bundled one."""
    path = tmp_path / "trams.json"
    path.write_text(json.dumps(TRAMS), encoding="utf-8")
    report = live[1].ingest([path])
    assert report.failed == 0
    yield
    for row in live[1].articles():
        if row["title"] in {t["title"] for t in TRAMS}:
            live[1].delete_article(row["id"])


def test_first_run_says_only_the_sample_is_indexed_and_offers_questions_about_it(page):
    notice = page.locator("#index-notice")
    expect(notice).to_contain_text("Only the bundled sample article is indexed")
    expect(notice).to_contain_text("assistant ingest")
    expect(notice).to_contain_text("Corpus")
    example = page.locator("#examples").get_by_text(SEED_TITLE[:30])  # long samples are shortened
    expect(example).to_be_visible()
    screenshot(page, "chat-first-run", docs=True)
    example.click()
    expect(page.locator("#question textarea")).to_have_value(f"What is known about “{SEED_TITLE}”?")
    page.locator("#ask").click()
    answer = wait_finished(page, 0)
    expect(answer.locator("a.cite").first).to_be_visible()


def test_a_decline_names_the_filter_and_clearing_the_filter_answers_again(page):
    set_filter(page, "filter-since", "2030-01-01")
    declined = ask(page, SEED_QUESTION)
    expect(declined).to_have_class("answer abstained")
    expect(declined).to_contain_text("published from 2030-01-01")
    expect(declined).not_to_contain_text("no statements")
    expect(page.locator("#sources-panel")).to_contain_text("clear the filters")
    screenshot(page, "chat-filter-decline")

    set_filter(page, "filter-since", "")
    answered = ask(page, SEED_QUESTION)
    expect(answered).to_have_class("answer")
    expect(answered.locator("a.cite").first).to_be_visible()
    other = ask(page, "Why would Putin benefit from stopping military operations?")  # a different question too
    expect(other.locator("a.cite").first).to_be_visible()
    expect(page.locator("#chat .answer.abstained")).to_have_count(1)


def test_a_follow_up_shows_how_it_was_understood(page, live):
    first = live[1].ask(SEED_QUESTION)
    standalone = live[1].ask("What else did he say?", history=[first]).trace["standalone_question"]
    assert "Zhelikhovsky" in standalone
    answer = ask(page, SEED_QUESTION)
    expect(answer.locator(".understood")).to_have_count(0)
    follow = ask(page, "What else did he say?")
    expect(follow.locator(".understood")).to_have_text(f"Understood as: “{standalone}”")
    expect(follow.locator("a.cite").first).to_be_visible()
    screenshot(page, "chat-follow-up")


def test_the_answer_streams_in_sentence_by_sentence_with_sources_filling(page, live):
    expected = live[1].ask(SEED_QUESTION)
    assert len(expected.citations) >= 2
    page.evaluate(RECORDER)
    before = send(page, SEED_QUESTION)
    answer = wait_finished(page, before)
    final = answer.locator(".answer-text").text_content()
    states = page.evaluate("() => { window.chatRecorder.disconnect(); return window.chatStates; }")
    streamed = list(dict.fromkeys(s["text"] for s in states if s["pending"] and s["text"] != "Searching the articles…"))
    assert len(streamed) >= 2, f"the text appeared in {len(streamed) + 1} step(s): {states}"
    assert all(final.startswith(text) for text in streamed), states
    assert [len(t) for t in streamed] == sorted(len(t) for t in streamed) and final not in streamed, "it grows"
    cited = [s["cited"] for s in states if s["pending"]]
    assert 0 < min(c for c in cited if c) < len(expected.citations), f"the sources panel fills in: {states}"
    expect(page.locator("#sources-panel .source-card ul.cited li")).to_have_count(len(expected.citations))


def test_stop_ends_the_answer_being_written(page, monkeypatch):
    monkeypatch.setattr(web_chat, "STREAM_PACE_S", 1.5)  # slow enough to stop halfway
    before = send(page, SEED_QUESTION)
    page.wait_for_function(
        "() => { const a = document.querySelector('#chat .answer.pending .answer-text');"
        " return a && a.textContent.length > 0 && a.textContent !== 'Searching the articles…'; }", timeout=60_000)
    page.locator("#stop").click()
    stopped = wait_finished(page, before)
    expect(stopped).to_have_class("answer stopped")
    expect(stopped).to_contain_text("Stopped")
    written = stopped.locator(".answer-text").text_content()
    page.wait_for_timeout(3500)  # the rest would have appeared by now
    expect(page.locator("#chat .answer").last).to_have_class("answer stopped")
    assert page.locator("#chat .answer").last.locator(".answer-text").text_content() == written
    monkeypatch.undo()
    expect(ask(page, SEED_QUESTION).locator("a.cite").first).to_be_visible()  # the chat goes on


def test_one_source_card_per_cited_article_with_outlet_date_and_link(page, live, trams):
    expected = live[1].ask(TRAM_QUESTION)
    articles = {c.article_id for c in expected.citations}
    assert len(articles) == 2, [(c.n, c.title, c.quote) for c in expected.citations]
    page.reload()
    expect(page.locator("#index-notice")).to_contain_text("3 articles indexed from 2 outlets")
    ask(page, TRAM_QUESTION)
    cards = page.locator("#sources-panel .source-card")
    expect(cards).to_have_count(len(articles))
    for article in TRAMS:
        card = cards.filter(has_text=article["title"])
        expect(card).to_have_count(1)
        numbers = [c.n for c in expected.citations if c.title == article["title"]]
        expect(card.locator("ul.cited li")).to_have_count(len(numbers))
        for n in numbers:
            expect(card.locator("a.cite", has_text=f"[{n}]")).to_have_count(1)
        meta = " · ".join(part for part in (article["source"], article["author"], article["published_at"]) if part)
        expect(card.locator(".meta")).to_have_text(meta)
        expect(card.locator("a.source-link")).to_have_attribute("href", article["url"])
        expect(card.locator("h4 a")).to_have_attribute("href", article["url"])
    expect(page.locator("#sources-panel")).not_to_contain_text("unknown")
    screenshot(page, "source-card", element=cards.first, docs=True)
    screenshot(page, "chat-answer", docs=True)

    page.locator("#sources-panel button.copy-markdown").click()
    expect(page.locator("#sources-panel button.copy-markdown")).to_have_text("Copied ✓")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith(expected.answer.strip()) and "[1] “" in copied
    assert all(article["url"] in copied for article in TRAMS)


def test_cited_quotes_are_the_articles_own_words(page, live):
    article = SEED.read_text(encoding="utf-8")
    expected = live[1].ask(SEED_QUESTION)
    ask(page, SEED_QUESTION)
    quotes = page.locator("#sources-panel .source-card .quote")
    expect(quotes).to_have_count(len(expected.citations))
    shown = [quotes.nth(i).text_content() for i in range(quotes.count())]
    assert shown == [c.quote for c in expected.citations]
    for quote in shown:
        assert quote in article, f"not verbatim: {quote!r}"
    page.locator("#sources-panel a.cite", has_text="[1]").click()
    mark = page.locator("#sources-panel mark")
    expect(mark).to_have_text(shown[0])
    assert mark.text_content() in article
    page.locator("#sources-panel a.cite", has_text="All sources").click()
    expect(page.locator("#sources-panel .source-card")).to_have_count(1)
