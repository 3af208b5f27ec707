"""Command line: ``assistant ingest | search | ask | config`` (+ eval, serve, chat, quotes from their modules).

Errors become messages and exit codes only at this edge (``cli_errors.handle_errors``).
"""

from __future__ import annotations

import json
import os
import sys

import click

from assistant.apps.cli_context import command_assistant

from assistant.apps.cli_errors import EXIT_FAILED_RECORDS, handle_errors

DISTRIBUTION = "news-assistant"


def quiet_model_loading() -> None:
    """Keep the libraries' own progress bars ("Loading weights") and advice out of every command's
    output (and out of the chat's prompt line); the project's progress bars (ingest) are plain tqdm
    and stay. An explicit HF_HUB_DISABLE_PROGRESS_BARS / TRANSFORMERS_VERBOSITY is respected."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # The variables are read when the libraries are imported; when they already are (python -c, tests),
    # switch them off directly. Not imported otherwise: importing transformers here would cost a second.
    quiet = os.environ["HF_HUB_DISABLE_PROGRESS_BARS"].strip().lower() in ("1", "true", "yes", "on")
    hf_logging = sys.modules.get("transformers.utils.logging")
    if hf_logging is not None:
        if quiet:
            hf_logging.disable_progress_bar()
        if os.environ["TRANSFORMERS_VERBOSITY"] == "error":
            hf_logging.set_verbosity_error()
    hub = sys.modules.get("huggingface_hub.utils")
    if hub is not None and quiet:
        hub.disable_progress_bars()


def _version(ctx, _param, value):
    if not value or ctx.resilient_parsing:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version(DISTRIBUTION)
    except PackageNotFoundError:
        number = "unknown (not installed: pip install -e .)"
    click.echo(f"assistant ({DISTRIBUTION}) {number}")
    ctx.exit()


def _not_blank(what: str, example: str):
    """A click callback refusing an empty or whitespace-only argument, as the API does (422)."""
    def check(_ctx, _param, value: str) -> str:
        if not value.strip():
            raise click.BadParameter(f"the {what} is blank; write one, e.g. {example}")
        return value.strip()
    return check


def _filters(sources, since, until, categories):
    from assistant.filters import SearchFilters

    return SearchFilters(sources=list(sources), since=since, until=until, categories=list(categories))


def filter_options(func):
    func = click.option("--k", "k", type=click.IntRange(1, 100), default=None, help="Passages to retrieve (default: ASSISTANT_RETRIEVAL_K).")(func)
    func = click.option("--source", "sources", multiple=True, help="Only this outlet (repeatable).")(func)
    func = click.option("--since", help="Published on or after this date (YYYY-MM-DD).")(func)
    func = click.option("--until", help="Published on or before this date (YYYY-MM-DD).")(func)
    func = click.option("--category", "categories", multiple=True, help="Only this category (repeatable).")(func)
    func = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(func)
    return func


@click.group(name="assistant", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_version,
              help="Print the version and exit.")
def main():
    """Answer questions about news articles, with citations. Index lives in ASSISTANT_DATA_DIR."""
    quiet_model_loading()


@main.command()
@click.argument("paths", nargs=-1)
@click.option("--prune", is_flag=True, help="Remove indexed articles that are no longer in PATHS.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@handle_errors
def ingest(paths, prune, as_json):
    """Index articles from files, folders, feeds and web pages (default: the bundled corpus/).

    PATHS are files and folders (.json, .jsonl, .md, .txt, .html), http(s) URLs of RSS/Atom feeds
    or article pages, and feed files (.xml, .rss, .atom) whose items are fetched. Unchanged articles
    are not embedded again; a copy of an indexed article under another URL is recorded, not indexed.
    --json lists every item: {url, status: added|updated|unchanged|duplicate|failed, article_id, reason}.
    Exit status 1 when some files, records or URLs failed (the rest is indexed).
    """
    assistant = command_assistant()
    report = assistant.ingest(paths or None, prune=prune, progress=not as_json)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for error in report.errors:
            click.echo(f"  ✗ {error}", err=True)
        click.echo(report.summary())
    if report.failed:
        sys.exit(EXIT_FAILED_RECORDS)


@main.command()
@click.argument("query", callback=_not_blank("query", '"Beijing"'))
@filter_options
@handle_errors
def search(query, k, sources, since, until, categories, as_json):
    """Show the passages retrieved for QUERY."""
    filters = _filters(sources, since, until, categories)
    passages = command_assistant().search(query, k, filters)
    if as_json:
        click.echo(json.dumps([p.model_dump() for p in passages], indent=2, ensure_ascii=False))
        return
    if not passages:
        click.echo("No passages found.")
    for i, p in enumerate(passages, start=1):
        click.echo(f"[{i}] {p.title} — {p.source or 'unknown source'}, {(p.published_at or 'undated')[:10]}  (score {p.score:.4f})")
        click.echo(f"    {p.text[:300]}{'…' if len(p.text) > 300 else ''}\n")


@main.command()
@click.argument("question", callback=_not_blank("question", '"What did the expert say about China?"'))
@filter_options
@handle_errors
def ask(question, k, sources, since, until, categories, as_json):
    """Answer QUESTION from the indexed articles, citing the sentences it rests on.

    When the passages found do not answer it, the closest ones are shown under "Low confidence:"
    and what they lack; when nothing relevant is found, the answer says so. --json has
    confidence ("high" | "low" | "none") and confidence_reason.
    """
    filters = _filters(sources, since, until, categories)
    assistant = command_assistant()
    limit = assistant.settings.max_question_chars
    if len(question) > limit:
        raise click.BadParameter(f"{len(question)} characters is over the limit of {limit} "
                                 "(ASSISTANT_MAX_QUESTION_CHARS); shorten it",
                                 ctx=click.get_current_context(), param_hint="'QUESTION'")
    answer = assistant.ask(question, k, filters)
    if as_json:
        click.echo(answer.model_dump_json(indent=2))
        return
    print_answer(answer)


def print_answer(answer) -> None:
    """The answer's text with, when it is not a sure answer, a line saying so: "Low confidence."
    before the closest passages (whose text starts with what they lack; a reason it lacks is added:
    "Low confidence: none of these passages names Graceland."), "Not answered: why." after a decline
    whose text does not say why; then the citations."""
    from assistant.apps.outcome import outcome_note

    note = outcome_note(answer)
    if note and answer.confidence == "low":
        click.echo(note)
    click.echo(answer.answer)
    if note and answer.confidence == "none":
        click.echo(note)
    click.echo()
    print_citations(answer.citations)


def print_citations(citations) -> None:
    """Each citation: title, outlet, date, link; then the article's sentence verbatim (its own
    quotation marks completed, "…" where its quotation runs on; no marks added around it, which
    would double its own) and its character span."""
    from assistant.answer.quotations import display_quote

    for c in citations:
        where = ", ".join(x for x in [c.source, (c.published_at or "")[:10], c.url] if x)
        click.echo(f"[{c.n}] {c.title}" + (f" ({where})" if where else ""))
        click.echo(f"    {display_quote(c.quote)} (characters {c.start}–{c.end})")


@main.command()
@click.option("--markdown", is_flag=True, help="Print the settings tables of the README instead.")
@handle_errors
def config(markdown):
    """Show the settings, their environment variables and current values."""
    from assistant.settings import ADVANCED_HEADING, Settings

    if markdown:
        click.echo(Settings.markdown_table())
        return
    current = Settings()
    for advanced in (False, True):
        if advanced:
            click.echo(f"\n{ADVANCED_HEADING}\n")
        for env, default, description in Settings.describe(advanced):
            value = getattr(current, env.removeprefix("ASSISTANT_").lower())
            click.echo(f"{env}={value}\n    {description} (default: {default})")


from assistant.apps.eval_cli import eval_command  # noqa: E402  (registered last; the command lives in its own module)
main.add_command(eval_command, name="eval")
from assistant.apps.serve_cli import serve_command  # noqa: E402  (the web server lives in its own module)
main.add_command(serve_command)
from assistant.apps.chat_cli import chat_command  # noqa: E402  (the interactive chat lives in its own module)
main.add_command(chat_command)
from assistant.apps.quotes_cli import quotes_command  # noqa: E402  (who said what lives in its own module)
main.add_command(quotes_command)
from assistant.apps.feeds_cli import articles_command, feeds_command  # noqa: E402  (live news)
main.add_command(feeds_command)
main.add_command(articles_command)

if __name__ == "__main__":  # pragma: no cover
    main()
