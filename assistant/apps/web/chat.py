"""The chat tab: streamed answers, clickable citations, filters and answer settings."""

from __future__ import annotations

import logging
from contextlib import closing

from pydantic import ValidationError

from assistant.errors import AssistantError
from assistant.filters import SearchFilters
from assistant.models import Answer
from assistant.apps.web import render

log = logging.getLogger(__name__)

EXAMPLES = [
    "What did the expert say about China?",
    "Why would Putin benefit from stopping military operations?",
    "What does Russia need to reboot?",
]
HISTORY_TURNS = 6  # earlier answers passed along so follow-up questions can refer back
SOURCES_HINT = "Ask a question; the passages its answer cites appear here."


def user_message(question: str) -> dict:
    return {"role": "user", "content": render.text_html(question)}


def bot_message(html: str) -> dict:
    return {"role": "assistant", "content": html}


def make_filters(outlets, since, until, categories) -> SearchFilters:
    """Filters from the form; a bad date raises ValueError naming it."""
    try:
        return SearchFilters(sources=list(outlets or []), since=(since or "").strip() or None,
                             until=(until or "").strip() or None, categories=list(categories or []))
    except ValidationError as exc:
        problems = "; ".join(f"{'/'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"Check the filters — {problems}") from None


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
        text, answer = "", None
        earlier = answers[-HISTORY_TURNS:]
        # closing(): a user who leaves mid-answer releases the index's read lock at once.
        with closing(shared.ask_stream(question, int(k) if k else None, filters, mode=mode,
                                       history=earlier)) as stream:
            for piece in stream:
                if isinstance(piece, Answer):
                    answer = piece
                else:
                    text += piece
                    history[-1] = bot_message(render.pending_html(text))
                    yield list(history), answers, render.placeholder_html("Writing the answer…"), ""
    except (AssistantError, ValueError) as exc:  # our messages say how to fix the problem
        history[-1] = bot_message(render.error_html(f"Sorry — {exc}"))
        yield list(history), answers, render.placeholder_html(SOURCES_HINT), ""
        return
    except Exception:
        log.exception("answering %r failed", question)
        history[-1] = bot_message(render.error_html("Sorry — something went wrong; the server log has details."))
        yield list(history), answers, render.placeholder_html(SOURCES_HINT), ""
        return
    answers.append(answer)
    history[-1] = bot_message(render.answer_html(answer, turn))
    yield list(history), answers, render.sources_overview_html(answer, turn), ""


def open_citation(target: str, answers: list) -> str:
    """The sources panel for a clicked marker; ``target`` is 'TURN:N'."""
    try:
        turn, n = (int(part) for part in (target or "").split(":"))
        answer = answers[turn]
    except (ValueError, IndexError, TypeError):
        return render.placeholder_html("That source is no longer available; ask the question again.")
    return render.citation_html(answer, n, turn)


def build_chat_tab(shared, settings):
    """Lay out the chat tab inside the current Blocks; return the components other tabs refresh."""
    import gradio as gr

    modes = shared.answer_modes()
    llm_ready = "llm" in modes
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
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
            with gr.Row():
                gr.Examples(EXAMPLES, inputs=question, label="Examples for the bundled article")
                clear = gr.Button("New conversation", elem_id="clear", size="sm", scale=0)
        with gr.Column(scale=2):
            gr.Markdown("### Sources")
            sources = gr.HTML(render.placeholder_html(SOURCES_HINT), label="sources", elem_id="sources-panel",
                              js_on_load=None)
            with gr.Accordion("Filters and settings", open=False):
                outlets = gr.Dropdown(shared.sources(), value=[], multiselect=True, label="Outlets",
                                      allow_custom_value=True, elem_id="filter-outlets")
                with gr.Row():
                    since = gr.Textbox(label="From", placeholder="YYYY-MM-DD", elem_id="filter-since")
                    until = gr.Textbox(label="To", placeholder="YYYY-MM-DD", elem_id="filter-until")
                categories = gr.Dropdown(shared.categories(), value=[], multiselect=True, label="Categories",
                                         allow_custom_value=True, elem_id="filter-categories")
                k = gr.Slider(1, 30, value=min(settings.retrieval_k, 30), step=1, label="Passages retrieved",
                              elem_id="setting-k")
                mode = gr.Radio(
                    [("Extractive (quotes the articles)", "extractive"), ("LLM (writes from the passages)", "llm")],
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
    ask.click(respond, inputs, outputs, api_name="ask", **answer_event)
    question.submit(respond, inputs, outputs, api_visibility="undocumented", **answer_event)
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
    return {"outlets": outlets, "categories": categories}
