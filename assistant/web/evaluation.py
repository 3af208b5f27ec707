"""The evaluation tab (filled in once ``assistant.evaluation`` lands)."""

from __future__ import annotations


def build_evaluation_tab(shared, settings) -> None:
    import gradio as gr

    gr.Markdown("Evaluation is not available yet.")
