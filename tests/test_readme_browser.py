"""The README's screenshot: the web chat answering the README's example question on the bundled
corpus, in a real headless Chromium. docs/screenshots/readme-chat.png is written when it is missing
or DOCS_SCREENSHOTS=1."""

from __future__ import annotations

import pytest

from browser.chat_page import ask, open_app
from browser.chromium import screenshot
from browser.live_server import LiveServer
from conftest import CORPUS, ROOT

pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs playwright")
from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]
QUESTION = "What did the expert say about China?"


def test_the_readme_question_is_answered_in_the_chat_with_cited_sentences(tmp_path, embedder, browser):
    from assistant import Settings, build_assistant
    from assistant.apps.server import create_app

    assert QUESTION in (ROOT / "README.md").read_text(encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "index")
    assistant = build_assistant(settings, embedder=embedder)
    assert assistant.ingest([CORPUS]).failed == 0
    expected = assistant.ask(QUESTION)
    assert expected.citations and "China" in expected.answer
    with LiveServer(create_app(assistant, settings)) as server:
        page = open_app(browser, server.url)
        answer = ask(page, QUESTION)
        expect(answer.locator("a.cite").first).to_be_visible()
        card = page.locator("#sources-panel .source-card")
        expect(card).to_have_count(1)  # one article, however many of its sentences are cited
        expect(card).to_contain_text(expected.citations[0].quote[:60])
        screenshot(page, "readme-chat", docs=True)
        page.context.close()
