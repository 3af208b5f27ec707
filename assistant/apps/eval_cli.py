"""``assistant eval``: score retrieval and answers on a question set, optionally side by side."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from assistant.apps.cli_context import command_assistant

from assistant.apps.cli_errors import handle_errors
from assistant.errors import ConfigError
from assistant.evaluation.datasets import FORMATS

@click.command()
@click.argument("questions", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="Question file format; auto: a JSON array is MultiHop-RAG, one object a line is JSONL.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N questions.")
@click.option("--k", "k", type=click.IntRange(1, 100), default=10, show_default=True,
              help="Passages retrieved per question (metrics @10 look at the top 10 of these).")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write metrics.json, report.md, report.html and charts into this folder.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option("--compare", is_flag=True, help="Also run the floors (plain hybrid, dense-only, BM25-only), side by side.")
@click.option("--profile", default=None, metavar="NAME|PATH",
              help="Retrieval profile (default, multihop, hybrid, dense, bm25, or a JSON file); "
                   "default: ASSISTANT_PROFILE.")
@handle_errors
def eval_command(questions, fmt, limit, k, report_dir, as_json, compare, profile):
    """Score retrieval and answers on the questions in QUESTIONS.

    QUESTIONS is the project's JSONL (see docs/evaluation.md) or MultiHop-RAG's queries-dev.json.
    Each question is asked once against the index in ASSISTANT_DATA_DIR; a progress bar goes to
    stderr. Exit status 2 for a bad question file or an empty index.
    """
    _run(questions, fmt, limit, k, report_dir, as_json, compare, profile)


def _run(path: Path, fmt: str, limit: int | None, k: int, report_dir: Path | None, as_json: bool, compare: bool,
         profile: str | None = None):
    from tqdm import tqdm

    from assistant.evaluation.datasets import load_questions
    from assistant.evaluation.report import render_text, write_report
    from assistant.evaluation.runner import COMPARE_VARIANTS, run_configs, summary_object

    questions, chosen = load_questions(path, fmt)
    questions = questions[:limit] if limit else questions
    base = command_assistant(**({"profile": profile} if profile else {}))
    if base.is_empty():
        raise ConfigError(
            f"The index in {base.settings.data_dir} (collection {base.settings.collection!r}) is empty: "
            "run 'assistant ingest' first, or point ASSISTANT_DATA_DIR/ASSISTANT_COLLECTION at an index"
        )
    variants = COMPARE_VARIANTS if compare else COMPARE_VARIANTS[:1]

    def progress(results, variant):
        return tqdm(results, total=len(questions), desc=f"eval {variant.name}", unit="q", file=sys.stderr)

    runs = run_configs(base, questions, variants, k, progress)
    summary = summary_object(runs, path=str(path), format=chosen, k=k)
    if report_dir is not None:
        write_report(report_dir, summary, {run.variant.name: run.results for run in runs})
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
    else:
        click.echo(render_text(summary))
        if report_dir is not None:
            click.echo(f"\nReport written to {report_dir / 'report.html'} (and report.md, metrics.json).")
