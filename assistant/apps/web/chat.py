"""The chat tab: answers streamed in sentence by sentence, source cards, filters and settings."""

from __future__ import annotations

import html
import logging
import re
import time
from contextlib import closing
from functools import lru_cache

from pydantic import ValidationError

from assistant.errors import AssistantError
from assistant.filters import SearchFilters
from assistant.ingest.readers import SUPPORTED_SUFFIXES
from assistant.models import Answer
from assistant.settings import PROJECT_ROOT
from assistant.apps.web import render

log = logging.getLogger(__name__)

BUNDLED_CORPUS = PROJECT_ROOT / "corpus"  # the sample article shipped with the project
MAX_EXAMPLES = 4
HISTORY_TURNS = 6  # earlier answers passed along so follow-up questions can refer back
SOURCES_HINT = "Ask a question; the articles its answer cites appear here, one card each."
# An extractive answer is composed at once; it is shown a sentence (up to its citation) at a time,
# this many seconds apart, so that it visibly streams in (the index is no longer held meanwhile).
STREAM_PACE_S = 0.08
# Where an answer may be cut into the steps it streams in: after a run of citation markers, or
# after a sentence's end that no marker follows.
_STEP_END = re.compile(r"(?:\s*\[\d{1,3}\])+[ \t]*\n*|[.!?…][\"”’»)]*\s+(?!\s|\[)")
_MARKER = re.compile(r"\[(\d{1,3})\]")
_TAGS = re.compile(r"<[^>]+>")
_BREAKS = re.compile(r"<br\s*/?>|</p>|</li>", re.IGNORECASE)


def user_message(question: str) -> dict:
    return {"role": "user", "content": render.text_html(question)}


def bot_message(html_text: str) -> dict:
    return {"role": "assistant", "content": html_text}


def make_filters(outlets, since, until, categories) -> SearchFilters:
    """Filters from the form; a bad date raises ValueError naming it."""
    try:
        return SearchFilters(sources=list(outlets or []), since=(since or "").strip() or None,
                             until=(until or "").strip() or None, categories=list(categories or []))
    except ValidationError as exc:
        problems = "; ".join(f"{'/'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"Check the filters — {problems}") from None


def stream_steps(text: str) -> list[str]:
    """``text`` cut into the pieces it streams in: each ends with its citation markers (or, without
    any, at a sentence's end); joined they give ``text`` back."""
    steps, last = [], 0
    for match in _STEP_END.finditer(text):
        if match.end() > last:
            steps.append(text[last:match.end()])
            last = match.end()
    if last < len(text):
        steps.append(text[last:])
    return steps


def cited_numbers(text: str) -> set[int]:
    return {int(n) for n in _MARKER.findall(text)}


def composed(stream, live: bool, pace: float | None = None):
    """(text so far, the Answer once known) as the answer should appear in the chat.

    ``live`` (an LLM writing): each piece is shown as it arrives and the Answer comes last. Otherwise
    (extractive: the answer is composed before its first piece) the stream is read to its end —
    so the index's read lock is released at once — and the text is replayed a sentence at a time
    with its citations known, for the sources panel to fill as they appear.
    """
    with closing(stream):  # a user who leaves or stops mid-answer releases the read lock at once
        if live:
            text = ""
            for piece in stream:
                if isinstance(piece, Answer):
                    yield text, piece
                    return
                text += piece
                yield text, None
            return
        pieces, answer = [], None
        for piece in stream:
            if isinstance(piece, Answer):
                answer = piece
            else:
                pieces.append(piece)
    if answer is None:
        return
    pace = STREAM_PACE_S if pace is None else pace
    text = ""
    for i, step in enumerate(stream_steps("".join(pieces) or answer.answer)):
        if i and pace:
            time.sleep(pace)
        text += step
        yield text, answer


def answer_turns(shared, question, history, answers, outlets, since, until, categories, k, mode):
    """Stream one question's answer into the chat: (history, answers, sources panel, question box)."""
    history, answers = list(history or []), list(answers or [])
    question = (question or "").strip()
    if not question:
        yield list(history), answers, render.placeholder_html(SOURCES_HINT), ""
        return
    limit = shared.settings.max_question_chars
    history.append(user_message(question[:limit]))
    if len(question) > limit:
        history.append(bot_message(render.error_html(
            f"That question has {len(question)} characters; the limit is {limit}. Please shorten it.")))
        yield list(history), answers, render.placeholder_html(SOURCES_HINT), ""
        return
    turn = len(answers)
    history.append(bot_message(render.pending_html("Searching the articles…")))
    yield list(history), answers, render.placeholder_html("Looking for sources…"), ""
    try:
        filters = make_filters(outlets, since, until, categories)
        answer = None
        earlier = answers[-HISTORY_TURNS:]
        live = (mode or shared.settings.answer_mode) in ("llm", "local")
        stream = shared.ask_stream(question, int(k) if k else None, filters, mode=mode, history=earlier)
        for text, known in composed(stream, live):
            if known is not None and known.answer.strip() == text.strip():
                answer = known  # the whole answer is shown: render it finished below
                break
            history[-1] = bot_message(render.pending_html(text, known, turn))
            panel = (render.sources_overview_html(known, turn, shown=cited_numbers(text))
                     if known is not None and known.citations else render.placeholder_html("Writing the answer…"))
            yield list(history), answers, panel, ""
            answer = known
    except (AssistantError, ValueError) as exc:  # our messages say how to fix the problem
        history[-1] = bot_message(render.error_html(f"Sorry — {exc}"))
        yield list(history), answers, render.placeholder_html(SOURCES_HINT), ""
        return
    except Exception:
        log.exception("answering %r failed", question)
        history[-1] = bot_message(render.error_html("Sorry — something went wrong; the server log has details."))
        yield list(history), answers, render.placeholder_html(SOURCES_HINT), ""
        return
    if answer is None:
        history[-1] = bot_message(render.error_html("Sorry — no answer came back; please ask again."))
        yield list(history), answers, render.placeholder_html(SOURCES_HINT), ""
        return
    answers.append(answer)
    history[-1] = bot_message(render.answer_html(answer, turn))
    yield list(history), answers, sources_panel(answer, turn), ""


def sources_panel(answer: Answer, turn: int) -> str:
    """The sources panel after an answer: its cards, or for a decline the next step it suggests."""
    if answer.citations:
        return render.sources_overview_html(answer, turn)
    step = (answer.trace.get("decline") or {}).get("next_step")
    return render.placeholder_html(f"No article cited. Next step: {step}." if step else "No article cited.")


def open_citation(target: str, answers: list) -> str:
    """The sources panel for a clicked marker; ``target`` is 'TURN:N' (N 0: all the answer's sources)."""
    try:
        turn, n = (int(part) for part in (target or "").split(":"))
        answer = answers[turn]
    except (ValueError, IndexError, TypeError):
        return render.placeholder_html("That source is no longer available; ask the question again.")
    return sources_panel(answer, turn) if n == 0 else render.citation_html(answer, n, turn)


def message_text(message: dict) -> str:
    """The HTML of a chat message, whether its content is a string or a list of parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
    return ""


def stop_answer(history: list) -> list:
    """After Stop: the answer being written keeps what was shown and says it was stopped."""
    history = list(history or [])
    if history and history[-1].get("role") == "assistant":
        shown = message_text(history[-1])
        if 'class="answer pending"' in shown:
            marked = shown.split('<div class="answer-text">', 1)[-1]
            text = html.unescape(_TAGS.sub("", _BREAKS.sub("\n", marked))).strip()
            history[-1] = bot_message(render.stopped_html("" if text == "Searching the articles…" else text))
    return history


# --- what is indexed: the first-run notice and the example questions -------------------------------


@lru_cache(maxsize=1)
def bundled_article_ids() -> frozenset[str]:
    """Ids of the sample article(s) shipped in corpus/ (read once)."""
    from assistant.ingest.readers import read_paths

    if not BUNDLED_CORPUS.is_dir():
        return frozenset()
    try:
        return frozenset(article.id for article in read_paths([BUNDLED_CORPUS]).articles)
    except Exception:  # noqa: BLE001 - without them the notice just does not say "sample"
        log.exception("reading the bundled corpus failed")
        return frozenset()


def only_bundled(rows: list[dict]) -> bool:
    return bool(rows) and {r["id"] for r in rows} <= bundled_article_ids()


def headline(title: str, limit: int = 90) -> str:
    """The telling part of a title (the longest of its parts around dashes, bars and colons)."""
    title = "".join(ch for ch in " ".join((title or "").split()) if ch.isprintable())
    parts = [p.strip(" .\"“”'") for p in re.split(r"\s+[–—|]\s+|:\s+|\s+-\s+", title)]
    best = max(parts, key=len, default="")
    if len(best) > limit:
        best = best[:limit].rsplit(" ", 1)[0] + "…"
    return best


def example_questions(rows: list[dict], n: int = MAX_EXAMPLES) -> list[str]:
    """Questions about the newest indexed articles, built from their titles."""
    questions: list[str] = []
    for row in rows:
        head = headline(row.get("title") or "")
        question = f"What is known about “{head}”?"
        if len(head) >= 8 and question not in questions:
            questions.append(question)
        if len(questions) == n:
            break
    return questions


def index_view(shared, rows: list[dict]) -> tuple[str, list[list[str]]]:
    """(the notice above the chat, the example questions as dataset samples) for these rows."""
    notice = render.index_notice_html(rows, only_bundled(rows), str(shared.settings.data_dir), SUPPORTED_SUFFIXES)
    return notice, [[q] for q in example_questions(rows)]


MODE_LABELS = {"extractive": "Extractive (quotes the articles)", "llm": "LLM (writes from the passages)",
               "local": "LLM — local SmolLM2-135M (this machine)"}


def build_chat_tab(shared, settings):
    """Lay out the chat tab inside the current Blocks; return the components other tabs refresh."""
    import gradio as gr

    modes = shared.answer_modes()
    llm_ready = len(modes) > 1
    # The page's load event lists the articles (notice, examples, filters: ui.build_ui); laying
    # the page out only counts them, so the server's start does not read every article record
    # (0.5 s at 7,000 articles, docs/research/speed.md "Scale").
    notice_html = render.index_count_html(shared.counts()[0])
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            notice = gr.HTML(notice_html, elem_id="index-notice", js_on_load=None)
            chatbot = gr.Chatbot(
                label="Conversation", elem_id="chat", height=520, render_markdown=False, sanitize_html=True,
                latex_delimiters=[], allow_tags=False, buttons=["copy"], feedback_options=None,
                placeholder="Answers quote the articles; click a marker like [1] to read the passage.",
            )
            with gr.Row():
                question = gr.Textbox(label="Question", elem_id="question", scale=5, lines=1,
                                      max_length=settings.max_question_chars,
                                      placeholder="Ask about the news…")
                ask = gr.Button("Ask", variant="primary", elem_id="ask", scale=1, min_width=80)
                stop = gr.Button("Stop", variant="secondary", elem_id="stop", scale=0, min_width=70)
            with gr.Row():
                examples = gr.Dataset(components=[question], samples=[], type="values",
                                      label="Examples from the indexed articles", elem_id="examples")
                clear = gr.Button("New conversation", elem_id="clear", size="sm", scale=0)
        with gr.Column(scale=2):
            gr.Markdown("### Sources")
            sources = gr.HTML(render.placeholder_html(SOURCES_HINT), label="sources", elem_id="sources-panel",
                              js_on_load=None)
            with gr.Accordion("Filters and settings", open=False):
                outlets = gr.Dropdown([], value=[],
                                      multiselect=True, label="Outlets", allow_custom_value=True,
                                      elem_id="filter-outlets")
                with gr.Row():
                    since = gr.Textbox(label="From", placeholder="YYYY-MM-DD", elem_id="filter-since")
                    until = gr.Textbox(label="To", placeholder="YYYY-MM-DD", elem_id="filter-until")
                categories = gr.Dropdown([], value=[],
                                         multiselect=True, label="Categories", allow_custom_value=True,
                                         elem_id="filter-categories")
                k = gr.Slider(1, 30, value=min(settings.retrieval_k, 30), step=1, label="Passages retrieved",
                              elem_id="setting-k")
                mode = gr.Radio(
                    [(MODE_LABELS[m], m) for m in (modes if llm_ready else ["extractive", "llm"])],  # only usable ones
                    value=settings.answer_mode, label="Answer mode", interactive=llm_ready, elem_id="setting-mode",
                    info=None if llm_ready else "LLM answers are disabled: not configured "
                                                "(set ASSISTANT_ANSWER_MODE=llm and a chat model).",
                )
    answers = gr.State([])
    # Filled and clicked by the page's citation handler (see ui.CITATION_JS); invisible.
    cite_target = gr.Textbox(visible="hidden", elem_id="cite-target")
    cite_open = gr.Button("open citation", visible="hidden", elem_id="cite-open")

    def respond(question, history, answers, outlets, since, until, categories, k, mode):
        yield from answer_turns(shared, question, history, answers, outlets, since, until, categories, k, mode)

    inputs = [question, chatbot, answers, outlets, since, until, categories, k, mode]
    outputs = [chatbot, answers, sources, question]
    # Answering is CPU-bound: web_concurrency at once, the rest wait their turn in the queue.
    answer_event = dict(concurrency_limit=settings.web_concurrency, concurrency_id="answer", show_progress="minimal")
    asked = ask.click(respond, inputs, outputs, api_name="ask", **answer_event)
    submitted = question.submit(respond, inputs, outputs, api_visibility="undocumented", **answer_event)
    # Stop cancels the answer being written (Gradio closes its generator, which releases the index).
    stop.click(stop_answer, chatbot, chatbot, cancels=[asked, submitted], api_visibility="private",
               concurrency_limit=None, show_progress="hidden")
    examples.click(lambda sample: (sample or [""])[0], examples, question, api_visibility="private",
                   concurrency_limit=None, show_progress="hidden")
    # The page's handler leaves the clicked marker in window.newsAssistantCite; copy it into the
    # hidden textbox in the browser, then render that citation on the server.
    cite_open.click(None, None, cite_target, js="() => window.newsAssistantCite || ''", queue=False).then(
        open_citation, [cite_target, answers], sources, api_name="open_citation", concurrency_limit=None,
        show_progress="hidden")
    clear.click(lambda: ([], [], render.placeholder_html(SOURCES_HINT)), None, [chatbot, answers, sources],
                api_visibility="private", concurrency_limit=None, show_progress="hidden")
    # The chat's own bin icon empties the chat; forget its answers too, so follow-ups start afresh.
    chatbot.clear(lambda: ([], render.placeholder_html(SOURCES_HINT)), None, [answers, sources],
                  api_visibility="private", concurrency_limit=None, show_progress="hidden")

    def refresh(rows: list[dict]) -> tuple:
        """Updates of the notice and the examples after the index changed."""
        notice_html, samples = index_view(shared, rows)
        return notice_html, gr.Dataset(samples=samples)

    return {"outlets": outlets, "categories": categories, "notice": notice, "examples": examples,
            "refresh": refresh}
