"""The three outcomes of issue 31 in the web chat, in a real headless Chromium: a sure answer as
before, the closest passages under a visible "Low confidence" caveat (escaped: caveats quote the
question's words), a decline that says so and why; and the chat's own copy button giving the
answer's text with its citations, not its HTML. Real questions on the bundled article."""

from __future__ import annotations

import pytest

from browser.chat_page import ask, open_app
from browser.chromium import screenshot
from browser.live_server import LiveServer
from conftest import CORPUS

pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs playwright")
from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]
ANSWERED = "What did the expert say about China?"
BARE_DECLINE = "What is the boiling point of water?"
NAMED_DECLINE = "What did Zhelikhovsky say about Graceland?"  # he is quoted, never on Graceland
UNRELATED = "Who won the Rugby World Cup semi-final between New Zealand and Argentina?"
LOW = "How many soldiers has Russia lost?"  # the article speaks of Russia's losses, and of no figure
HOSTILE = "How many soldiers has Russia lost <b>now</b>?"


@pytest.fixture(scope="module")
def live(tmp_path_factory, embedder):
    from assistant import Settings, build_assistant
    from assistant.apps.server import create_app

    settings = Settings(data_dir=tmp_path_factory.mktemp("confidence-browser-index"))
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


def copy_own(page, side: str = "left") -> str:
    """Press the chat's own copy button of the last answer (``side`` "right": of the last question);
    what reached the clipboard."""
    page.evaluate("() => navigator.clipboard.writeText('(nothing copied yet)')")
    page.locator(f"#chat .message-buttons-{side} button[aria-label='Copy message']").last.click()
    page.wait_for_function("async () => (await navigator.clipboard.readText()) !== '(nothing copied yet)'")
    return page.evaluate("() => navigator.clipboard.readText()")


def test_a_sure_answer_has_no_caveat_and_copies_as_text(page, live):
    expected = live[1].ask(ANSWERED)
    assert expected.confidence == "high"
    answer = ask(page, ANSWERED)
    expect(answer).to_have_class("answer")
    expect(answer.locator(".confidence")).to_have_count(0)
    copied = copy_own(page)
    assert "<" not in copied and "class=" not in copied, copied
    text, sources = copied.split("\n\nSources:\n")
    assert " ".join(text.split()) == " ".join(expected.answer.split())
    numbers = " ".join(f"[{c.n}]" for c in expected.citations)
    assert sources == f"{numbers} {expected.citations[0].title}", sources


def test_the_closest_passages_show_a_low_confidence_caveat(page, live):
    expected = live[1].ask(LOW)
    assert expected.confidence == "low" and expected.confidence_reason and expected.citations
    answer = ask(page, LOW)
    expect(answer).to_have_class("answer low-confidence")
    caveat = answer.locator(".confidence")
    expect(caveat).to_be_visible()
    expect(caveat).to_have_text("Low confidence.")
    expect(answer.locator(".answer-text")).to_contain_text(expected.confidence_reason)
    expect(answer.locator("a.cite").first).to_be_visible()
    expect(page.locator("#sources-panel .source-card")).to_have_count(1)
    expect(page.locator("#sources-panel .hint")).to_contain_text("The closest passages found, not a sure answer")
    screenshot(page, "chat-low-confidence")

    copied = copy_own(page)
    assert copied.startswith("Low confidence.\n\n" + expected.answer.splitlines()[0]), copied
    assert "[1]" in copied and "<" not in copied
    page.locator("#sources-panel button.copy-markdown").click()
    expect(page.locator("#sources-panel button.copy-markdown")).to_have_text("Copied ✓")
    markdown = page.evaluate("() => navigator.clipboard.readText()")
    assert markdown.startswith("**Low confidence**.\n\n" + expected.answer.splitlines()[0]) and "\n[1] “" in markdown


def test_a_caveat_quoting_markup_is_shown_as_text(page, live):
    expected = live[1].ask(HOSTILE)
    assert expected.confidence == "low" and "<b>now</b>" in expected.confidence_reason
    answer = ask(page, HOSTILE)
    expect(answer.locator(".answer-text")).to_contain_text("Russia lost <b>now</b>")
    expect(answer.locator("img, b")).to_have_count(0)
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.pwned === undefined")
    assert copy_own(page, "right") == HOSTILE, "the question is copied as typed, not as escaped HTML"


def test_a_decline_says_not_answered_and_why(page, live):
    expected = live[1].ask(BARE_DECLINE)
    assert expected.confidence == "none" and not expected.citations
    why = expected.confidence_reason or expected.trace["abstain_reason"]
    answer = ask(page, BARE_DECLINE)
    expect(answer).to_have_class("answer abstained")
    expect(answer.locator(".confidence-label")).to_have_text("Not answered:")
    expect(answer.locator(".confidence-reason")).to_have_text(why.rstrip(".") + ".")
    expect(answer.locator(".answer-text")).to_have_text(expected.answer)
    expect(page.locator("#sources-panel")).to_contain_text("No article cited")
    assert copy_own(page) == f"Not answered: {why.rstrip('.')}.\n\n{expected.answer}"

    named = ask(page, NAMED_DECLINE)  # the decline's own text names what is missing: said once
    expect(named).to_have_class("answer abstained")
    expect(named.locator(".answer-text")).to_contain_text("Graceland")
    expect(named.locator(".confidence")).to_have_text("Not answered.")
    expect(named.locator(".confidence-label")).to_contain_text("Not answered")
    for reason in named.locator(".confidence-reason").all_text_contents():  # only a reason the text lacks
        assert reason.rstrip(".") not in named.locator(".answer-text").text_content()
