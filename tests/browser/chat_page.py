"""The web chat page as the browser tests drive it: open it, ask, read the answer and the sources."""

from __future__ import annotations

QUESTION_BOX = "#question textarea"
# The last answer in the chat once it is finished (a streamed one carries the class "pending").
FINISHED = ("n => { const a = document.querySelectorAll('#chat .answer');"
            " return a.length > n && !a[a.length - 1].classList.contains('pending'); }")


def open_app(browser, url: str, **context_options):
    """A fresh tab on the app, ready for a question; JavaScript dialogs are recorded in ``tab.dialogs``."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1400, "height": 1000}, **context_options)
    tab = context.new_page()
    tab.dialogs = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.goto(url.rstrip("/") + "/")
    expect(tab.locator(QUESTION_BOX)).to_be_visible(timeout=30_000)
    return tab


def send(page, question: str) -> int:
    """Type ``question`` and press Ask; return how many answers the chat held before."""
    before = page.locator("#chat .answer").count()
    page.locator(QUESTION_BOX).fill(question)
    page.locator("#ask").click()
    return before


def wait_finished(page, before: int, timeout: float = 60_000):
    page.wait_for_function(FINISHED, arg=before, timeout=timeout)
    return page.locator("#chat .answer").last


def ask(page, question: str):
    """Ask in the chat and wait for the finished answer; return its locator."""
    return wait_finished(page, send(page, question))


def set_filter(page, elem_id: str, value: str) -> None:
    """Fill a filter textbox (e.g. "filter-since"), opening the filters first if they are closed."""
    box = page.locator(f"#{elem_id} textarea, #{elem_id} input").first
    if not box.is_visible():
        page.get_by_text("Filters and settings").click()
    box.fill(value)
