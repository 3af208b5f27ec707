"""``assistant chat``: an interactive conversation, answers streamed, follow-ups understood.

Each answer is printed as it is written, then its sources. The conversation so far is passed
as history, so "What else did he say?" refers back. Commands: ``/reset`` forgets the
conversation, ``/quit`` (or Ctrl-D) leaves.
"""

from __future__ import annotations

import sys

import click

from assistant.apps.cli_errors import EXIT_ERROR, handle_errors
from assistant.errors import AssistantError


def print_sources(answer) -> None:
    for c in answer.citations:
        where = ", ".join(x for x in [c.source, (c.published_at or "")[:10], c.url] if x)
        who = f" — {c.speaker}" if c.speaker else ""
        click.echo(f"  [{c.n}] {c.title}" + (f" ({where})" if where else "") + who)
        click.echo(f"      {c.quote}  (characters {c.start}–{c.end})")


@click.command("chat")
@handle_errors
@click.option("--k", "k", type=click.IntRange(1, 100), default=None, help="Passages to retrieve per question.")
@click.option("--sources/--no-sources", "show_sources", default=True, help="Print the cited passages after each answer.")
def chat_command(k, show_sources):
    """Talk with the assistant about the indexed articles (follow-up questions welcome)."""
    from assistant.service.factory import build_assistant
    from assistant.settings import Settings

    assistant = build_assistant(Settings())
    if assistant.is_empty():
        click.echo("The index is empty: run `assistant ingest` first.", err=True)
        sys.exit(EXIT_ERROR)
    history = []
    click.echo("Ask about the indexed news (/reset to start over, /quit to leave).")
    while True:
        try:
            question = click.prompt("\nyou", prompt_suffix="> ", default="", show_default=False).strip()
        except (EOFError, click.Abort):
            click.echo()
            return
        if not question:
            continue
        if question in ("/quit", "/exit"):
            return
        if question == "/reset":
            history.clear()
            click.echo("(conversation forgotten)")
            continue
        click.echo("assistant> ", nl=False)
        answer = None
        try:
            for piece in assistant.ask_stream(question, k, None, history=history):
                if isinstance(piece, str):
                    click.echo(piece, nl=False)
                else:
                    answer = piece
        except AssistantError as exc:  # one failed question does not end the conversation
            click.echo(f"\nError: {exc}", err=True)
            continue
        click.echo()
        if answer is None:
            continue
        standalone = answer.trace.get("standalone_question")
        if standalone and standalone != question:
            click.echo(f"  (understood as: {standalone})")
        if show_sources and answer.citations:
            print_sources(answer)
        history.append(answer)
