"""Evaluation results for people: a text table, and a report folder (JSON, Markdown, HTML, charts)."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from assistant.evaluation import charts
from assistant.evaluation.metrics import normalize_title
from assistant.evaluation.runner import ANSWER_KEYS, LATENCY_KEYS, RETRIEVAL_KEYS, QuestionResult

MISSES = 10  # worst retrieval misses listed in a report
WRONGLY_ANSWERED = 5  # unanswerable questions answered anyway, listed in a report
SNIPPET = 180
METRIC_ROWS = ("questions", *RETRIEVAL_KEYS, *ANSWER_KEYS)
LEGEND = ("Lowest evidence recall first. In the top 5 passages, ✓ holds a gold fact and ○ comes from a gold "
          "article but not the passage with the fact.")


# --- values and tables ----------------------------------------------------------------------


def _metric(block: dict, key: str):
    if key == "questions":
        return block.get("questions")
    for group in ("retrieval", "answers", "latency_ms"):
        if key in block.get(group, {}):
            return block[group][key]
    return None


def _fmt(key: str, value) -> str:
    if value is None:
        return "—"
    if key == "questions":
        return str(value)
    if key in LATENCY_KEYS:
        return f"{value:.1f}"
    return f"{value:.3f}"


def columns_of(summary: dict) -> list[tuple[str, dict]]:
    """Table columns: one per configuration with --compare, else "all" and one per question type."""
    if "configs" in summary:
        return list(summary["configs"].items())
    return [("all", summary)] + list(summary["by_type"].items())


def _rows(columns: list[tuple[str, dict]]) -> list[str]:
    keys = list(METRIC_ROWS)
    if any("latency_ms" in block for _, block in columns):
        keys += LATENCY_KEYS
    return keys


def _label(key: str) -> str:
    return f"{key} (ms)" if key in LATENCY_KEYS else key


def text_table(columns: list[tuple[str, dict]]) -> str:
    keys = _rows(columns)
    first = max(len(_label(k)) for k in keys) + 2
    width = max(9, *(len(name) + 2 for name, _ in columns))
    lines = [" " * first + "".join(name.rjust(width) for name, _ in columns)]
    for key in keys:
        cells = "".join(_fmt(key, _metric(block, key)).rjust(width) for _, block in columns)
        lines.append(_label(key).ljust(first) + cells)
    return "\n".join(lines)


def render_text(summary: dict) -> str:
    data = summary.get("dataset", {})
    head = (f"Evaluated {summary['questions']} questions ({summary['answerable']} answerable, "
            f"{summary['unanswerable']} unanswerable) from {data.get('path', '?')} "
            f"[{data.get('format', '?')}], k={summary.get('k', '?')}")
    parts = [head, "", text_table(columns_of(summary))]
    if "configs" in summary:
        parts += ["", f"By question type ({summary.get('config', 'default')}):",
                  text_table([("all", summary)] + list(summary["by_type"].items()))]
    parts += ["", "Hits/MRR/evidence recall count answerable questions with evidence; "
                  "'—' means no question qualified. See docs/evaluation.md."]
    return "\n".join(parts)


# --- the report folder ----------------------------------------------------------------------


def write_report(folder: str | Path, summary: dict, results: dict[str, Sequence[QuestionResult]]) -> list[Path]:
    """Write metrics.json, questions.jsonl, charts, report.md and report.html into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "metrics.json"]
    written[0].write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    written.append(_write_questions(folder / "questions.jsonl", results))
    images = _charts(folder, summary)
    written += [folder / name for name, _ in images]
    main = results[summary.get("config", next(iter(results)))]
    misses = [_describe(r) for r in worst_misses(main)]
    wrong = [_describe(r) for r in answered_unanswerable(main)]
    (folder / "report.md").write_text(_markdown(summary, images, misses, wrong), encoding="utf-8")
    (folder / "report.html").write_text(_html(summary, images, misses, wrong), encoding="utf-8")
    return written + [folder / "report.md", folder / "report.html"]


def worst_misses(results: Sequence[QuestionResult], n: int = MISSES) -> list[QuestionResult]:
    """Answerable questions whose evidence was least found: lowest recall, then latest first hit."""
    missed = [r for r in results if r.scored_retrieval and (r.evidence_recall or 0) < 1]
    return sorted(missed, key=lambda r: (r.evidence_recall or 0, 1 / r.first_hit if r.first_hit else 0))[:n]


def answered_unanswerable(results: Sequence[QuestionResult], n: int = WRONGLY_ANSWERED) -> list[QuestionResult]:
    return [r for r in results if not r.question.answerable and not r.answer.abstained][:n]


def _write_questions(path: Path, results: dict[str, Sequence[QuestionResult]]) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for config, rows in results.items():
            for r in rows:
                record = {
                    "config": config, "id": r.question.id, "type": r.question.type, "question": r.question.question,
                    "answerable": r.question.answerable, "expected": r.question.answer, "first_hit": r.first_hit,
                    "evidence_recall": r.evidence_recall, "citation_precision": r.citation_precision,
                    "citation_recall": r.citation_recall, "answer_contains": r.answer_contains,
                    "abstained": r.answer.abstained, "confidence": r.answer.confidence,
                    "confidence_reason": r.answer.confidence_reason,
                    "answer": r.answer.answer, "timings_ms": r.answer.timings_ms,
                    "retrieved": [{"article_id": p.article_id, "chunk_id": p.chunk_id, "title": p.title,
                                   "source": p.source} for p in r.answer.passages],
                }
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def _charts(folder: Path, summary: dict) -> list[tuple[str, str]]:
    """(file name, caption) of each chart written."""
    types = [("all", summary)] + list(summary["by_type"].items())
    groups = [name for name, _ in types]
    made = []
    retrieval = {key: [b["retrieval"][key] for _, b in types] for key in RETRIEVAL_KEYS}
    charts.grouped_bars(folder / "retrieval_by_type.png", "Retrieval by question type", groups, retrieval)
    made.append(("retrieval_by_type.png", "Retrieval by question type (answerable questions with evidence)"))
    answer_keys = ("citation_precision", "citation_recall", "answer_contains", "abstain_rate_unanswerable",
                   "abstain_rate_answerable")
    answers = {key: [b["answers"][key] for _, b in types] for key in answer_keys}
    charts.grouped_bars(folder / "answers_by_type.png", "Answers by question type", groups, answers)
    made.append(("answers_by_type.png", "Answers by question type"))
    if "configs" in summary:
        keys = [*RETRIEVAL_KEYS, "citation_recall", "answer_contains"]
        series = {name: [_metric(block, k) for k in keys] for name, block in summary["configs"].items()}
        charts.grouped_bars(folder / "configs.png", "Configurations side by side", keys, series)
        made.append(("configs.png", "Configurations side by side"))
    return made


def _describe(r: QuestionResult) -> dict:
    """A question's outcome as plain values, for the Markdown and HTML renderers."""
    gold_articles = {e.article_id for e in r.question.evidence if e.article_id}
    gold_titles = {normalize_title(e.title) for e in r.question.evidence if e.title}

    def mark(rank: int, p) -> str:
        if rank in r.ranks:
            return "✓ "  # holds gold evidence
        if p.article_id in gold_articles or normalize_title(p.title) in gold_titles:
            return "○ "  # a gold article, but not the passage with the fact
        return ""
    return {
        "id": r.question.id, "type": r.question.type, "question": r.question.question,
        "expected": r.question.answer, "evidence_recall": r.evidence_recall, "first_hit": r.first_hit,
        "gold": [{"fact": e.fact, "title": e.title or e.article_id, "source": e.source} for e in r.question.evidence],
        "retrieved": [{"rank": rank, "title": p.title, "source": p.source or "unknown source",
                       "date": (p.published_at or "undated")[:10], "mark": mark(rank, p),
                       "snippet": _snippet(p.text)} for rank, p in enumerate(r.answer.passages[:5], start=1)],
        "answer": r.answer.answer, "abstained": r.answer.abstained,
        "confidence": r.answer.confidence, "confidence_reason": r.answer.confidence_reason,
    }


def _answer_head(q: dict) -> str:
    """'Answer (confidence low: none of these passages names Graceland)' — the outcome and why."""
    confidence = q.get("confidence") or ("none" if q["abstained"] else "high")
    reason = f": {q['confidence_reason']}" if q.get("confidence_reason") else ""
    return f"Answer (confidence {confidence}{', declined' if q['abstained'] else ''}{reason})"


CONFIDENCE_GROUPS = ("answerable", "unanswerable")
CONFIDENCE_LEVELS = ("high", "low", "none")


def confidence_rates(summary: dict) -> dict | None:
    """``answers.confidence_rates`` of an eval summary ({group: {level: share}}), when it has them."""
    rates = (summary.get("answers") or {}).get("confidence_rates")
    return rates if isinstance(rates, dict) and rates else None


def rate_cell(rates: dict, group: str, level: str) -> str:
    value = (rates.get(group) or {}).get(level)
    return "—" if value is None else f"{value:.3f}"


def _scores_line(q: dict) -> list[str]:
    if q["evidence_recall"] is None:
        return []
    return [f"evidence recall@10 {q['evidence_recall']:.2f}", f"first hit at rank {q['first_hit'] or 'none'}"]


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET else text[:SNIPPET].rsplit(" ", 1)[0] + "…"


def _generated(summary: dict) -> str:
    data = summary.get("dataset", {})
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"{summary['questions']} questions ({summary['answerable']} answerable, {summary['unanswerable']} "
            f"unanswerable) from {data.get('path', '?')} [{data.get('format', '?')}], k={summary.get('k', '?')}, "
            f"configuration {summary.get('config', 'default')}; generated {when}.")


# --- Markdown -------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(columns: list[tuple[str, dict]]) -> str:
    lines = ["| metric | " + " | ".join(_md_cell(name) for name, _ in columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for key in _rows(columns):
        lines.append(f"| {_label(key)} | " + " | ".join(_fmt(key, _metric(b, key)) for _, b in columns) + " |")
    return "\n".join(lines)


def _markdown(summary: dict, images, misses: list[dict], wrong: list[dict]) -> str:
    out = ["# Evaluation report", "", _generated(summary), ""]
    if "configs" in summary:
        out += ["## Configurations", "", _md_table(columns_of(summary)), ""]
    out += ["## By question type", "", _md_table([("all", summary)] + list(summary["by_type"].items())), ""]
    rates = confidence_rates(summary)
    if rates:
        out += ["## Confidence of the answers", "", "Share of each group of questions answered with each confidence.",
                "",
                "| questions | " + " | ".join(CONFIDENCE_LEVELS) + " |", "|---|" + "---:|" * len(CONFIDENCE_LEVELS)]
        out += [f"| {group} | " + " | ".join(rate_cell(rates, group, level) for level in CONFIDENCE_LEVELS) + " |"
                for group in CONFIDENCE_GROUPS] + [""]
    out += [f"![{caption}]({name})\n" for name, caption in images]
    out += ["## Worst retrieval misses", "", LEGEND, ""]
    if not misses:
        out.append("None: every answerable question found all of its evidence in the top 10.\n")
    for n, miss in enumerate(misses, start=1):
        out += _md_question(n, miss)
    if wrong:
        out += ["## Unanswerable questions answered anyway", ""]
        for n, item in enumerate(wrong, start=1):
            out += _md_question(n, item)
    return "\n".join(out)


def _md_question(n: int, q: dict) -> list[str]:
    out = [f"### {n}. {q['question']}", "", f"Type **{q['type']}**, expected answer: {q['expected'] or '—'}"
           + "".join(f"; {part}" for part in _scores_line(q)) + ".", ""]
    if q["gold"]:
        out.append("Gold evidence:")
        out += [f"- “{g['fact'] or '(whole article)'}” — {g['title'] or '?'} ({g['source'] or 'unknown source'})"
                for g in q["gold"]]
        out.append("")
    out.append("Retrieved instead:" if q["gold"] else "Retrieved:")
    out += [f"{p['rank']}. {p['mark']}{p['title']} — {p['source']}, {p['date']}: “{p['snippet']}”"
            for p in q["retrieved"]]
    out += ["", f"{_answer_head(q)}: {q['answer']}", ""]
    return out


# --- HTML -----------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;padding:.3rem .6rem}
td.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}
img{max-width:100%;border:1px solid #eee;margin:.5rem 0}
.q{border-left:4px solid #C44E52;padding:.2rem 1rem;margin:1.2rem 0;background:#fcfcfc}
.hit{color:#2a7d3f;font-weight:bold}.meta{color:#666;font-size:.9em}blockquote{margin:.3rem 0;color:#444}
"""


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _html_table(columns: list[tuple[str, dict]]) -> str:
    head = "<tr><th>metric</th>" + "".join(f"<th>{_e(name)}</th>" for name, _ in columns) + "</tr>"
    rows = []
    for key in _rows(columns):
        cells = []
        for _, block in columns:
            value = _metric(block, key)
            shade = ""
            if isinstance(value, float) and key not in LATENCY_KEYS:
                shade = f' style="background:rgba(85,168,104,{0.08 + 0.5 * value:.2f})"'
            cells.append(f'<td class="num"{shade}>{_e(_fmt(key, value))}</td>')
        rows.append(f"<tr><th>{_e(_label(key))}</th>{''.join(cells)}</tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _html(summary: dict, images, misses: list[dict], wrong: list[dict]) -> str:
    body = [f"<h1>Evaluation report</h1><p class=meta>{_e(_generated(summary))}</p>"]
    if "configs" in summary:
        body.append(f"<h2>Configurations</h2>{_html_table(columns_of(summary))}")
    body.append(f"<h2>By question type</h2>{_html_table([('all', summary)] + list(summary['by_type'].items()))}")
    rates = confidence_rates(summary)
    if rates:
        head = "<tr><th>questions</th>" + "".join(f"<th>{_e(level)}</th>" for level in CONFIDENCE_LEVELS) + "</tr>"
        rows = "".join(f"<tr><th>{_e(group)}</th>"
                       + "".join(f'<td class="num">{_e(rate_cell(rates, group, level))}</td>'
                                 for level in CONFIDENCE_LEVELS) + "</tr>" for group in CONFIDENCE_GROUPS)
        body.append(f"<h2>Confidence of the answers</h2><p class=meta>Share of each group of questions answered "
                    f"with each confidence.</p><table>{head}{rows}</table>")
    body += [f'<figure><img src="{_e(name)}" alt="{_e(caption)}"><figcaption>{_e(caption)}</figcaption></figure>'
             for name, caption in images]
    body.append(f"<h2>Worst retrieval misses</h2><p class=meta>{_e(LEGEND)}</p>")
    if not misses:
        body.append("<p>None: every answerable question found all of its evidence in the top 10.</p>")
    body += [_html_question(n, q) for n, q in enumerate(misses, start=1)]
    if wrong:
        body.append("<h2>Unanswerable questions answered anyway</h2>")
        body += [_html_question(n, q) for n, q in enumerate(wrong, start=1)]
    return ("<!doctype html><html lang=en><head><meta charset=utf-8><title>Evaluation report</title>"
            f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n")


def _html_question(n: int, q: dict) -> str:
    parts = [f'<div class="q"><h3>{n}. {_e(q["question"])}</h3>',
             f'<p class=meta>Type <b>{_e(q["type"])}</b> · expected answer: {_e(q["expected"] or "—")}'
             + "".join(f" · {_e(part)}" for part in _scores_line(q)) + "</p>"]
    if q["gold"]:
        items = "".join(f"<li><blockquote>“{_e(g['fact'] or '(whole article)')}”</blockquote>"
                        f"<span class=meta>{_e(g['title'] or '?')} ({_e(g['source'] or 'unknown source')})</span></li>"
                        for g in q["gold"])
        parts.append(f"<p>Gold evidence:</p><ul>{items}</ul>")
    rows = "".join(f"<li><span class=hit>{_e(p['mark'])}</span><b>{_e(p['title'])}</b> "
                   f"<span class=meta>— {_e(p['source'])}, {_e(p['date'])}</span><br>“{_e(p['snippet'])}”</li>"
                   for p in q["retrieved"])
    parts.append(f"<p>{'Retrieved instead' if q['gold'] else 'Retrieved'}:</p><ol>{rows}</ol>")
    parts.append(f"<p>{_e(_answer_head(q))}: {_e(q['answer'])}</p></div>")
    return "".join(parts)
