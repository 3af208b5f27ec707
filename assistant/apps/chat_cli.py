"""``assistant chat``: an interactive conversation, answers streamed, follow-ups understood.

Each answer is printed as it is written, then its sources. The conversation so far is passed
as history, so "What else did he say?" refers back. Commands (see ``COMMANDS``): ``/help``,
``/new`` (or ``/reset``) forgets the conversation, ``/quit`` (or ``/exit``, Ctrl-D) leaves; any other
``/word`` is answered as an unknown command, never sent as a question.
"""

from __future__ import annotations

import re
import sys

import click

from assistant.apps.cli_context import command_assistant

from assistant.apps.cli_errors import EXIT_ERROR, handle_errors
from assistant.errors import AssistantError


COMMANDS = {
    "/help": "show these commands",
    "/new": "start a new conversation (earlier questions are forgotten; also /reset)",
    "/quit": "leave (also /exit or Ctrl-D)",
}
ALIASES = {"/reset": "/new", "/exit": "/quit", "/?": "/help"}
_COMMAND = re.compile(r"/[A-Za-z?][\w-]*")  # "/help"; not "/usr/bin …" nor "/ 2"


def help_text() -> str:
    rows = [f"  {name:<6} {what}" for name, what in COMMANDS.items()]
    return "\n".join(["Type a question about the indexed news; follow-ups refer back to earlier answers.", *rows])


def command_of(line: str) -> str | None:
    """The chat command ``line`` is (``/new`` for ``/reset``), or None when it is a question."""
    word = line.split(maxsplit=1)[0] if line else ""
    if not _COMMAND.fullmatch(word):
        return None
    word = word.lower()
    return ALIASES.get(word, word)


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
    """Talk with the assistant about the indexed articles (follow-up questions welcome).

    Commands: /help, /new (start over), /quit.
    """
    from assistant.apps.outcome import outcome_note

    assistant = command_assistant()
    if assistant.is_empty():
        click.echo("The index is empty: run `assistant ingest` first.", err=True)
        sys.exit(EXIT_ERROR)
    limit = assistant.settings.max_question_chars
    history = []
    click.echo("Ask about the indexed news (/help for commands, /new to start over, /quit to leave).")
    while True:
        try:
            question = click.prompt("\nyou", prompt_suffix="> ", default="", show_default=False).strip()
        except (EOFError, click.Abort):
            click.echo()
            return
        if not question:
            continue
        command = command_of(question)
        if command == "/quit":
            return
        if command == "/help":
            click.echo(help_text())
            continue
        if command == "/new":
            history.clear()
            click.echo("(new conversation: earlier questions forgotten)")
            continue
        if command is not None:
            click.echo(f"Unknown command {question.split()[0]}; commands: {', '.join(COMMANDS)} "
                       "(a question is sent as typed, without a leading /).")
            continue
        if len(question) > limit:
            click.echo(f"That question is {len(question)} characters, over the limit of {limit} "
                       "(ASSISTANT_MAX_QUESTION_CHARS); shorten it.")
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
        note = outcome_note(answer)
        if note:
            click.echo(f"  ({note})")
        standalone = answer.trace.get("standalone_question")
        if standalone and standalone != question:
            click.echo(f"  (understood as: {standalone})")
        if show_sources and answer.citations:
            print_sources(answer)
        history.append(answer)
