"""A Gradio chat over an Assistant: answers with citations, cited passages beside them."""

from __future__ import annotations

from ..errors import AssistantError
from .render import answer_markdown, passages_markdown

EXAMPLES = [
    "What did the expert say about China?",
    "Why would Putin benefit from stopping military operations?",
    "What does Russia need to reboot?",
]


def build_ui(assistant):
    import gradio as gr

    def respond(message: str, history: list):
        history = list(history or [])
        question = (message or "").strip()
        if not question:
            return history, gr.update(), ""
        history.append({"role": "user", "content": question})
        try:
            answer = assistant.ask(question)
        except AssistantError as exc:
            history.append({"role": "assistant", "content": f"Sorry, that failed: {exc}"})
            return history, gr.update(), ""
        history.append({"role": "assistant", "content": answer_markdown(answer)})
        return history, passages_markdown(answer), ""

    with gr.Blocks(title="News assistant") as demo:
        gr.Markdown("## News assistant\nAnswers come from the indexed articles, each sentence cited.")
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Chat", height=480)
                question = gr.Textbox(label="Question", placeholder="Ask about the news…", lines=1)
                gr.Examples(EXAMPLES, inputs=question)
            with gr.Column(scale=2):
                gr.Markdown("### Cited passages")
                sources = gr.Markdown("_Ask a question to see its sources._")
        question.submit(respond, [question, chatbot], [chatbot, sources, question], concurrency_limit=4)
    return demo
