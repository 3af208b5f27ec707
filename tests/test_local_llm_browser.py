"""The web chat's answer-mode switch offers the local model (issue 18) and one question is answered
with it in a real headless Chromium: the real SmolLM2-135M on this CPU, the bundled article indexed."""

from __future__ import annotations

import re

import pytest

from browser.chat_page import open_app, send, wait_finished
from browser.chromium import launch, screenshot
from browser.live_server import LiveServer
from conftest import CORPUS, SEED

pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs playwright")
from playwright.sync_api import expect  # noqa: E402


def _missing() -> str | None:
    from assistant.answer import local_llm

    return local_llm.installed()


pytestmark = [pytest.mark.browser, pytest.mark.llm,
              pytest.mark.skipif(bool(_missing()), reason=f"local model not installed: {_missing()}"),
              pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]
QUESTION = "What did the expert say about China?"
LOCAL_LABEL = "LLM — local SmolLM2-135M (this machine)"
FALLBACK = "Extractive answer instead"


@pytest.fixture(scope="module")
def live(tmp_path_factory, embedder):
    """The app in extractive mode (the default) on the bundled corpus; the local mode is offered beside it."""
    from assistant import Settings, build_assistant
    from assistant.apps.server import create_app

    settings = Settings(data_dir=tmp_path_factory.mktemp("local-llm-browser-index"))
    assistant = build_assistant(settings, embedder=embedder)
    assistant.ingest([CORPUS])
    with LiveServer(create_app(assistant, settings)) as server:
        yield server


@pytest.fixture
def page(live):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        tab = open_app(chromium, live.url)
        yield tab
        assert tab.dialogs == [], f"a dialog opened: {tab.dialogs}"
        tab.context.close()
        chromium.close()


def test_the_local_model_answers_a_question_in_the_chat(page):
    page.get_by_text("Filters and settings").click()
    switch = page.locator("#setting-mode")
    local = switch.get_by_label(LOCAL_LABEL)
    expect(local).to_be_enabled()
    local.check()
    expect(local).to_be_checked()

    answer = wait_finished(page, send(page, QUESTION), timeout=90_000)  # the model starts on first use (~2 s), then writes on 2 cores
    text = answer.text_content() or ""
    screenshot(page, "chat-local-llm")
    if FALLBACK in text:  # the model failed or kept nothing: the extractive answer, said so
        assert "LLM answer unavailable" in text
        return
    expect(answer).to_have_class("answer")  # not a decline
    markers = answer.locator("a.cite")
    assert markers.count() >= 1, text
    assert re.search(r"\[\d+\]", text), text
    article = SEED.read_text(encoding="utf-8")
    quotes = page.locator("#sources-panel .source-card .quote")
    assert quotes.count() >= 1
    for i in range(quotes.count()):
        quote = quotes.nth(i).text_content()
        assert quote and quote in article, f"not verbatim: {quote!r}"
