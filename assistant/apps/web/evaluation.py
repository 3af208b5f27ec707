"""The evaluation tab: run a question set against the index, see metrics and charts.

A thin shell over ``assistant.evaluation`` (the same runner and report as ``assistant eval``).
Reports are written under ``data_dir/eval-reports/<time>/`` and offered for download.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

from assistant.errors import AssistantError
from assistant.settings import PROJECT_ROOT
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
    """Evaluate; return (summary text, chart paths, report files). Raises InputError for bad files."""
    from assistant.evaluation.datasets import load_questions
    from assistant.evaluation.report import render_text, write_report
    from assistant.evaluation.runner import ConfigRun, Variant, evaluate, summary_object

    questions, fmt = load_questions(path)
    questions = questions[:max(1, min(limit, MAX_WEB_QUESTIONS))]
    results = []
    for i, result in enumerate(evaluate(shared, questions, k), start=1):
        results.append(result)
        if progress is not None:
            progress((i, len(questions)), desc=f"Question {i} of {len(questions)}", unit="questions")
    runs = [ConfigRun(Variant("default", {}, "the configured settings"), settings.retrieval_mode, results)]
    summary = summary_object(runs, path=name, format=fmt, k=k)
    folder = reports_dir(settings) / datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
    written = write_report(folder, summary, {"default": results})
    charts = [str(p) for p in written if p.suffix == ".png"]
    files = [str(p) for p in written if p.name in ("report.html", "report.md", "metrics.json", "questions.jsonl")]
    return render_text(summary), charts, files


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
    table = gr.Code(label="Metrics", language=None, interactive=False, elem_id="eval-metrics")
    charts = gr.Gallery(label="Charts", columns=1, height="auto", object_fit="contain", elem_id="eval-charts")
    files = gr.File(label="Report files", file_count="multiple", interactive=False, elem_id="eval-files")

    def on_run(bundled_path, uploaded_path, limit, k, progress=gr.Progress()):
        path = uploaded_path or bundled_path
        if not path:
            return render.placeholder_html("Pick or upload a question set."), "", [], []
        name = Path(uploaded_path).name if uploaded_path else Path(bundled_path).name
        if Path(name).suffix.lower() not in QUESTION_SUFFIXES:
            return render.error_html(f"{name}: use a .jsonl or .json question file."), "", [], []
        if shared.is_empty():
            return render.error_html("The index is empty; upload articles in the Corpus tab first."), "", [], []
        try:
            text, chart_paths, report_files = run_question_set(
                shared, settings, path, name, int(limit or 50), int(k or 10), progress)
        except AssistantError as exc:
            return render.error_html(f"Evaluation failed — {exc}"), "", [], []
        except Exception:
            log.exception("evaluating %s failed", name)
            return render.error_html("Evaluation failed; the server log has details."), "", [], []
        return f'<p class="ok">Evaluated {render.esc(name)}.</p>', text, chart_paths, report_files

    # One evaluation at a time: each asks many questions and would crowd out the chat.
    run.click(on_run, [bundled, uploaded, limit, k], [status, table, charts, files], api_name="evaluate",
              concurrency_limit=1, concurrency_id="evaluate")
