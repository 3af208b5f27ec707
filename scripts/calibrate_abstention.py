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


def row(q: dict, answer) -> dict:
    facts = [e["fact"] for e in q.get("evidence_list", [])]
    return {
        "query": q["query"], "type": q["question_type"], "abstained": answer.abstained,
        "confidence": answer.trace.get("confidence", answer.trace.get("best_score")),
        "citations": [{"quote": c.quote, "correct": citation_correct(c.quote, facts)} for c in answer.citations],
        "ms": answer.timings_ms.get("total"),
    }


def run(assistant, questions: list[dict], baseline=None, progress: bool = True) -> tuple[list[dict], list[dict]]:
    """Rows for ``assistant.ask``; with ``baseline`` (an answerer), also rows for it on the same
    retrieval (``assistant.search`` of the question, no filters)."""
    rows, base_rows = [], []
    for i, q in enumerate(questions, start=1):
        rows.append(row(q, assistant.ask(q["query"])))
        if baseline is not None:
            started = time.perf_counter()
            answer = baseline.answer(q["query"], assistant.search(q["query"]))
            answer.timings_ms["total"] = round((time.perf_counter() - started) * 1000, 1)
            base_rows.append(row(q, answer))
        if progress and i % 25 == 0:
            print(f"  {i}/{len(questions)}", file=sys.stderr, flush=True)
    return rows, base_rows


def cache_embeddings(embedder, size: int = 20000) -> None:
    """Memoise ``embedder.embed`` per text (vectors are per-text, so batches may be split)."""
    import numpy as np

    embed, cache = embedder.embed, {}

    def cached(texts, *args, **kwargs):
        missing = list(dict.fromkeys(t for t in texts if t not in cache))
        if missing:
            if len(cache) > size:
                cache.clear()
            cache.update(zip(missing, embed(missing, *args, **kwargs)))
        return np.stack([cache[t] for t in texts]) if texts else embed(texts, *args, **kwargs)

    embedder.embed = cached


def baseline_answerer(assistant, commit: str, threshold: float):
    """The extractive answerer as it was at ``commit`` (loaded from git), on the same embedder."""
    import importlib.util
    import subprocess
    import tempfile

    source = subprocess.run(["git", "show", f"{commit}:assistant/answering/extractive.py"], capture_output=True,
                            text=True, check=True, cwd=Path(__file__).resolve().parents[1]).stdout
    folder = Path(tempfile.mkdtemp())
    path = folder / "baseline_extractive.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("assistant.answering._baseline_extractive", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    settings = assistant.settings
    return module.ExtractiveAnswerer(assistant.indexer.embedder, assistant.profile.answer.sentences, threshold)


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


def rethreshold(rows: list[dict], threshold: float) -> list[dict]:
    """Rows as if abstaining below ``threshold``: an abstention keeps no citations."""
    out = []
    for r in rows:
        abstain = r["abstained"] or (r["confidence"] is not None and r["confidence"] < threshold)
        out.append({**r, "abstained": abstain, "citations": [] if abstain else r["citations"]})
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
    parser.add_argument("--threshold", type=float,
                        help="With --rows: re-decide abstention as confidence < THRESHOLD (what that default would give).")
    parser.add_argument("--baseline", metavar="COMMIT",
                        help="Also run the extractive answerer of COMMIT on the same retrieval (paired before/after).")
    parser.add_argument("--baseline-threshold", type=float, default=0.35,
                        help="The baseline's abstain threshold (default 0.35, the default before calibration).")
    args = parser.parse_args(argv)

    base_rows: list[dict] = []
    if args.rows:
        saved = json.loads(args.rows.read_text())
        rows = saved["rows"]
        base_rows = saved.get("baseline", {}).get("rows", [])
        if args.threshold is not None:
            rows = rethreshold(rows, args.threshold)
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
        baseline = baseline_answerer(assistant, args.baseline, args.baseline_threshold) if args.baseline else None
        if baseline is not None:
            cache_embeddings(assistant.indexer.embedder)  # both answerers embed the same sentences
        rows, base_rows = run(assistant, questions, baseline)
        print(f"asked {len(rows)} questions in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    summary = summarize(rows)
    if args.sweep:
        summary["sweep"] = sweep(rows, [round(0.30 + 0.025 * i, 3) for i in range(17)])
    if args.rows:  # summarising a saved run: print, do not overwrite it
        print(json.dumps(summary, indent=2))
        return 0
    out = {"summary": summary, "rows": rows}
    if base_rows:
        out["baseline"] = {"commit": args.baseline, "threshold": args.baseline_threshold,
                           "summary": summarize(base_rows), "rows": base_rows}
        if args.sweep:
            out["baseline"]["summary"]["sweep"] = sweep(base_rows, [round(0.30 + 0.025 * i, 3) for i in range(17)])
    if args.out:
        args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False))
    print(json.dumps({k: v["summary"] if k == "baseline" else v for k, v in out.items() if k != "rows"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
