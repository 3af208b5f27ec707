"""Regenerate the generated parts of the docs: python scripts/update_docs.py

- docs/configuration.md: the settings tables, from the Settings class (``assistant config --markdown``);
- README.md: the results table, from docs/retrieval.json (written by
  ``python -m benchmarks retrieval``): the default beside the dense and BM25 floors on every set.

tests/test_docs.py fails when either is out of step.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CONFIGURATION = ROOT / "docs" / "configuration.md"
RETRIEVAL = ROOT / "docs" / "retrieval.json"

SETTINGS = ("<!-- settings-table:start -->", "<!-- settings-table:end -->")
RESULTS = ("<!-- results-table:start -->", "<!-- results-table:end -->")

# How the README names each question set of benchmarks/question_sets.py.
SET_LABELS = {
    "multihop": "MultiHop-RAG dev",
    "users": "users' words, same articles",
    "quiz": "news quiz, same articles",
    "users-passages": "users' words, ~100-word passages",
    "quiz-passages": "news quiz, ~100-word passages",
    "bundled": "bundled article",
}
COLUMNS = (("dense", "dense"), ("bm25", "BM25"), ("default", "**default**"))


def _replace(text: str, markers: tuple[str, str], block: str) -> str:
    start, end = markers
    if start not in text or end not in text:
        raise SystemExit(f"markers {start} … {end} not found")
    return re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: f"{start}\n{block}\n{end}", text, flags=re.S)


def render_settings(text: str) -> str:
    from assistant.settings import Settings

    return _replace(text, SETTINGS, Settings.markdown_table())


def results_table(result: dict) -> str:
    lines = ["| question set (answerable questions) | " + " | ".join(label for _, label in COLUMNS) + " |",
             "|---|" + "---|" * len(COLUMNS)]
    for name, per_set in result["sets"].items():
        rows = per_set["profiles"]
        cells = [f"{rows[p]['hits@10']:.3f} / {rows[p]['mrr@10']:.3f}" if p in rows else "—" for p, _ in COLUMNS]
        lines.append(f"| {SET_LABELS.get(name, name)} ({per_set['questions']:,}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_results(text: str) -> str:
    return _replace(text, RESULTS, results_table(json.loads(RETRIEVAL.read_text(encoding="utf-8"))))


if __name__ == "__main__":
    CONFIGURATION.write_text(render_settings(CONFIGURATION.read_text(encoding="utf-8")), encoding="utf-8")
    README.write_text(render_results(README.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"updated {CONFIGURATION.relative_to(ROOT)} and {README.relative_to(ROOT)}")
