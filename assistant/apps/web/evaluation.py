"""The evaluation tab: run a question set against the index, see metrics and charts.

A thin shell over ``assistant.evaluation`` (the same runner and report as ``assistant eval``).
Reports are written under ``data_dir/eval-reports/<time>/`` and offered for download.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from assistant.errors import AssistantError
from assistant.settings import PROJECT_ROOT
from assistant.apps.outcome import outcome_of
from assistant.apps.web import render

log = logging.getLogger(__name__)

BUNDLED_SETS = PROJECT_ROOT / "evals"
QUESTION_SUFFIXES = (".jsonl", ".json")
MAX_WEB_QUESTIONS = 500  # a web run holds an answer slot per question; longer runs belong to `assistant eval`


def reports_dir(settings) -> Path:
    return Path(settings.data_dir).resolve() / "eval-reports"


def bundled_sets(folder: Path = BUNDLED_SETS) -> list[tuple[str, str]]:
    """(name, path) of the question sets shipped with the project."""
    if not folder.is_dir():
        return []
    return [(p.name, str(p)) for p in sorted(folder.iterdir()) if p.suffix in QUESTION_SUFFIXES]


def run_question_set(shared, settings, path: str | Path, name: str, limit: int, k: int, progress=None):
    """Evaluate; return (summary, results, chart paths, report files). Raises InputError for bad files."""
    from assistant.evaluation.datasets import load_questions
    from assistant.evaluation.report import write_report
    from assistant.evaluation.runner import ConfigRun, Variant, evaluate, summary_object

    questions, fmt = load_questions(path)
    questions = questions[:max(1, min(limit, MAX_WEB_QUESTIONS))]
    results = []
    for i, result in enumerate(evaluate(shared, questions, k), start=1):
        results.append(result)
        if progress is not None:
            progress((i, len(questions)), desc=f"Question {i} of {len(questions)}", unit="questions")
    profile = shared.profile
    runs = [ConfigRun(Variant("default", {}, "the configured settings"), profile.fusion.mode, profile.name, results)]
    summary = summary_object(runs, path=name, format=fmt, k=k)
    folder = reports_dir(settings) / datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
    written = write_report(folder, summary, {"default": results})
    charts = [str(p) for p in written if p.suffix == ".png"]
    files = [str(p) for p in written if p.name in ("report.html", "report.md", "metrics.json", "questions.jsonl")]
    return summary, results, charts, files


# --- HTML of a run -----------------------------------------------------------------------------


def _metric(block: dict, key: str):
    if key == "questions":
        return block.get("questions")
    for group in ("retrieval", "answers", "latency_ms"):
        if key in (block.get(group) or {}):
            return block[group][key]
    return None


def _shown(key: str, value) -> str:
    from assistant.evaluation.runner import LATENCY_KEYS

    if value is None:
        return "—"
    if key == "questions":
        return str(value)
    return f"{value:.1f}" if key in LATENCY_KEYS else f"{value:.3f}"


def metrics_html(summary: dict) -> str:
    """The run's head line and its metrics as a table: one row per metric, one column for all
    questions and one per question type."""
    from assistant.evaluation.report import METRIC_ROWS, columns_of
    from assistant.evaluation.runner import LATENCY_KEYS

    data = summary.get("dataset", {})
    head = (f"Evaluated {summary['questions']} questions ({summary['answerable']} answerable, "
            f"{summary['unanswerable']} unanswerable) from {data.get('path', '?')} [{data.get('format', '?')}], "
            f"k={summary.get('k', '?')}")
    columns = columns_of(summary)
    keys = list(METRIC_ROWS) + (list(LATENCY_KEYS) if any("latency_ms" in b for _, b in columns) else [])
    esc = render.esc
    header = "<tr><th>metric</th>" + "".join(f"<th>{esc(name)}</th>" for name, _ in columns) + "</tr>"
    rows = "".join(
        f"<tr><th scope='row'>{esc(f'{key} (ms)' if key in LATENCY_KEYS else key)}</th>"
        + "".join(f'<td class="num">{esc(_shown(key, _metric(block, key)))}</td>' for _, block in columns)
        + "</tr>"
        for key in keys
    )
    return (f'<p class="eval-head">{esc(head)}</p><table class="metrics"><thead>{header}</thead>'
            f"<tbody>{rows}</tbody></table>{confidence_rates_html(summary)}<p class='hint'>Hits, MRR and evidence "
            "recall count answerable questions with evidence; '—' means no question qualified. "
            "See docs/evaluation.md.</p>")


def confidence_rates_html(summary: dict) -> str:
    """How often answerable and unanswerable questions were answered with each confidence (high, low,
    none), from the summary's ``answers.confidence_rates``; nothing when the run has none."""
    from assistant.evaluation.report import CONFIDENCE_GROUPS, CONFIDENCE_LEVELS, confidence_rates, rate_cell

    rates = confidence_rates(summary)
    if not rates:
        return ""
    esc = render.esc
    header = "<tr><th>questions</th>" + "".join(f"<th>{esc(level)}</th>" for level in CONFIDENCE_LEVELS) + "</tr>"
    cells = {group: "".join(f'<td class="num">{esc(rate_cell(rates, group, level))}</td>'
                            for level in CONFIDENCE_LEVELS) for group in CONFIDENCE_GROUPS}
    rows = "".join(f"<tr><th scope='row'>{esc(group)}</th>{cells[group]}</tr>" for group in CONFIDENCE_GROUPS)
    return (f'<p class="eval-head">Confidence of the answers (share of each group):</p>'
            f'<table class="metrics confidence-rates"><thead>{header}</thead><tbody>{rows}</tbody></table>')


def charts_html(paths: list[str]) -> str:
    """The charts at their full width (never cropped), served from the reports folder."""
    if not paths:
        return ""
    figures = "".join(
        f'<figure><img src="gradio_api/file={quote(str(Path(p).resolve()))}" alt="{render.esc(Path(p).stem)}" '
        f'loading="lazy"><figcaption>{render.esc(Path(p).stem.replace("_", " ").capitalize())}</figcaption></figure>'
        for p in paths
    )
    return f'<div class="charts">{figures}</div>'


def misses_html(results: list, n: int = 10) -> str:
    """The questions whose evidence retrieval missed most, each opening onto what was expected,
    what was retrieved instead, and the answer."""
    from assistant.evaluation.report import worst_misses

    esc = render.esc
    misses = worst_misses(results, n)
    if not misses:
        scored = sum(1 for r in results if r.scored_retrieval)
        return (f"<h4>Worst misses</h4><p>None: each of the {scored} answerable questions with evidence "
                "found all of it.</p>")
    items = []
    for r in misses:
        recall = f"evidence recall {r.evidence_recall:.2f}" if r.evidence_recall is not None else "no recall"
        hit = f"first hit at rank {r.first_hit}" if r.first_hit else "no hit in the passages"
        gold = "".join(f"<li>“{esc(e.fact or '(the whole article)')}” — {esc(e.title or e.article_id or '?')}</li>"
                       for e in r.question.evidence)
        got = "".join(f"<li>{'✓ ' if rank in r.ranks else ''}{esc(p.title)}"
                      f' <span class="meta">{render.meta_line(p)}</span></li>'
                      for rank, p in enumerate(r.answer.passages[:5], start=1))
        items.append(
            f"<details><summary>{esc(r.question.question)} <span class='meta'>({esc(recall)}, {esc(hit)})"
            f"</span></summary><p class='meta'>Type {esc(r.question.type)} · expected answer: "
            f"{esc(r.question.answer or '—')}</p><p>Expected evidence:</p><ul>{gold}</ul>"
            f"<p>Retrieved (top 5):</p><ol>{got}</ol>"
            f"<p>Answer{_outcome_note(r.answer)}: {esc(r.answer.answer)}</p></details>")
    return (f"<h4>Worst misses</h4><p class='meta'>The {len(misses)} answerable questions whose evidence was "
            "least found (lowest evidence recall first); click one to see what was retrieved.</p>" + "".join(items))


def _outcome_note(answer) -> str:
    """' (Low confidence: …)' or ' (Not answered: …)' after "Answer"; nothing for a sure answer."""
    outcome = outcome_of(answer)
    return "" if outcome.confidence == "high" else f" <span class='meta'>({render.esc(outcome.line())})</span>"


def build_evaluation_tab(shared, settings) -> None:
    import gradio as gr

    sets = bundled_sets()
    gr.Markdown("Run a question set against the current index: retrieval hits, MRR, evidence recall, citation "
                "precision and recall, abstentions. The format is described in docs/evaluation.md.")
    with gr.Row():
        with gr.Column(scale=2):
            bundled = gr.Dropdown(sets, value=sets[0][1] if sets else None, label="Bundled question set",
                                  elem_id="eval-set")
            uploaded = gr.File(label="…or upload one (.jsonl, or MultiHop-RAG .json)", file_count="single",
                               file_types=list(QUESTION_SUFFIXES), elem_id="eval-upload")
        with gr.Column(scale=1):
            limit = gr.Number(50, label="At most this many questions", precision=0, minimum=1,
                              maximum=MAX_WEB_QUESTIONS, elem_id="eval-limit")
            k = gr.Slider(1, 30, value=10, step=1, label="Passages per question", elem_id="eval-k")
            run = gr.Button("Run evaluation", variant="primary", elem_id="eval-run")
    status = gr.HTML(elem_id="eval-status", js_on_load=None)
    table = gr.HTML(label="Metrics", elem_id="eval-metrics", js_on_load=None)
    charts = gr.HTML(label="Charts", elem_id="eval-charts", js_on_load=None)
    misses = gr.HTML(label="Worst misses", elem_id="eval-misses", js_on_load=None)
    files = gr.File(label="Report files", file_count="multiple", interactive=False, elem_id="eval-files")

    def on_run(bundled_path, uploaded_path, limit, k, progress=gr.Progress()):
        path = uploaded_path or bundled_path
        nothing = ("", "", "", [])
        if not path:
            return render.placeholder_html("Pick or upload a question set."), *nothing
        name = Path(uploaded_path).name if uploaded_path else Path(bundled_path).name
        if Path(name).suffix.lower() not in QUESTION_SUFFIXES:
            return render.error_html(f"{name}: use a .jsonl or .json question file."), *nothing
        if shared.is_empty():
            return render.error_html("The index is empty; upload articles in the Corpus tab first."), *nothing
        try:
            summary, results, chart_paths, report_files = run_question_set(
                shared, settings, path, name, int(limit or 50), int(k or 10), progress)
        except AssistantError as exc:
            return render.error_html(f"Evaluation failed — {exc}"), *nothing
        except Exception:
            log.exception("evaluating %s failed", name)
            return render.error_html("Evaluation failed; the server log has details."), *nothing
        return (f'<p class="ok">Evaluated {render.esc(name)}.</p>', metrics_html(summary), charts_html(chart_paths),
                misses_html(results), report_files)

    # One evaluation at a time: each asks many questions and would crowd out the chat.
    run.click(on_run, [bundled, uploaded, limit, k], [status, table, charts, misses, files], api_name="evaluate",
              concurrency_limit=1, concurrency_id="evaluate")
