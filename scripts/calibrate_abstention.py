#!/usr/bin/env python
"""Abstention and citation precision of ``Assistant.ask`` on the MultiHop-RAG dev questions.

Stop-gap until ``assistant eval`` lands. Reads the index named by the usual settings
(``ASSISTANT_DATA_DIR``, ``ASSISTANT_COLLECTION``) and never writes to it.

    ASSISTANT_DATA_DIR=/work/mh/index ASSISTANT_COLLECTION=multihop \\
        python scripts/calibrate_abstention.py --per-type 100 --out /tmp/after.json

Reports, over a seeded sample of the dev questions:
- abstain rate on null questions (should be high) and on answerable ones (should be low);
- citation precision: share of citations whose quote, whitespace removed, contains a gold fact
  of the question or is contained in one;
- answered-with-evidence: share of answered questions with at least one correct citation.
``--sweep`` re-decides abstention offline from each answer's ``trace["best_score"]`` (or
``trace["confidence"]`` when present) to show how the threshold trades the two rates.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "multihop-rag"
_WS = re.compile(r"\s+")


def squeeze(text: str) -> str:
    return _WS.sub("", text)


def citation_correct(quote: str, facts: list[str]) -> bool:
    q = squeeze(quote)
    return any(f and (f in q or q in f) for f in (squeeze(x) for x in facts))


def sample(queries: list[dict], per_type: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    by_type: dict[str, list[dict]] = {}
    for q in queries:
        by_type.setdefault(q["question_type"], []).append(q)
    picked = []
    for qtype in sorted(by_type):
        items = by_type[qtype]
        picked += items if per_type <= 0 or per_type >= len(items) else rng.sample(items, per_type)
    return picked


def run(assistant, questions: list[dict], progress: bool = True) -> list[dict]:
    rows = []
    for i, q in enumerate(questions, start=1):
        answer = assistant.ask(q["query"])
        facts = [e["fact"] for e in q.get("evidence_list", [])]
        rows.append({
            "query": q["query"], "type": q["question_type"], "abstained": answer.abstained,
            "confidence": answer.trace.get("confidence", answer.trace.get("best_score")),
            "citations": [{"quote": c.quote, "correct": citation_correct(c.quote, facts)} for c in answer.citations],
            "ms": answer.timings_ms.get("total"),
        })
        if progress and i % 25 == 0:
            print(f"  {i}/{len(questions)}", file=sys.stderr, flush=True)
    return rows


def summarize(rows: list[dict]) -> dict:
    null = [r for r in rows if r["type"] == "null_query"]
    answerable = [r for r in rows if r["type"] != "null_query"]
    answered = [r for r in answerable if not r["abstained"]]
    cites = [c for r in answered for c in r["citations"]]
    by_type = Counter(r["type"] for r in rows)
    return {
        "questions": len(rows), "by_type": dict(by_type),
        "abstain_rate_null": _rate(sum(r["abstained"] for r in null), len(null)),
        "abstain_rate_answerable": _rate(sum(r["abstained"] for r in answerable), len(answerable)),
        "citation_precision": _rate(sum(c["correct"] for c in cites), len(cites)),
        "citations": len(cites),
        "answered_with_evidence": _rate(sum(any(c["correct"] for c in r["citations"]) for r in answered), len(answered)),
        "mean_ms": round(sum(r["ms"] or 0 for r in rows) / max(1, len(rows)), 1),
    }


def sweep(rows: list[dict], thresholds: list[float]) -> list[dict]:
    """Abstain rates had abstention been decided by ``confidence < t`` alone."""
    out = []
    for t in thresholds:
        null = [r for r in rows if r["type"] == "null_query" and r["confidence"] is not None]
        ans = [r for r in rows if r["type"] != "null_query" and r["confidence"] is not None]
        out.append({"threshold": t,
                    "abstain_rate_null": _rate(sum(r["confidence"] < t for r in null), len(null)),
                    "abstain_rate_answerable": _rate(sum(r["confidence"] < t for r in ans), len(ans))})
    return out


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Folder with queries-dev.json.")
    parser.add_argument("--per-type", type=int, default=100, help="Questions per type (0 = all).")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, help="Write per-question rows and the summary as JSON.")
    parser.add_argument("--sweep", action="store_true", help="Also show abstain rates per confidence threshold.")
    parser.add_argument("--rows", type=Path, help="Summarize a previous --out file instead of asking again.")
    args = parser.parse_args(argv)

    if args.rows:
        rows = json.loads(args.rows.read_text())["rows"]
    else:
        queries_file = args.data / "queries-dev.json"
        if not queries_file.exists():
            print(f"No dev questions at {queries_file}; pass --data", file=sys.stderr)
            return 2
        from assistant import Settings, build_assistant

        assistant = build_assistant(Settings())
        if assistant.is_empty():
            print("The index is empty: set ASSISTANT_DATA_DIR and ASSISTANT_COLLECTION", file=sys.stderr)
            return 2
        questions = sample(json.loads(queries_file.read_text()), args.per_type, args.seed)
        started = time.perf_counter()
        rows = run(assistant, questions)
        print(f"asked {len(rows)} questions in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    summary = summarize(rows)
    if args.sweep:
        summary["sweep"] = sweep(rows, [round(0.30 + 0.025 * i, 3) for i in range(17)])
    if args.out:
        args.out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1, ensure_ascii=False))
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
