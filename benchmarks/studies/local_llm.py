"""The local model's answers beside the extractive ones, on the bundled set and MultiHop-RAG dev.

    python -m benchmarks studies local-llm                    # bundled set + first 100 MultiHop dev questions
    python -m benchmarks studies local-llm --multihop 20      # a quicker look
    python -m benchmarks studies local-llm --sets bundled     # one set (the others' figures in the file are kept)

Both modes answer the same questions from the same retrieval (default profile, k 10) in one
process. Per mode: answer_contains, citation precision and recall, abstain rates, how many answer
sentences verification checked and removed (from ``answer.trace["verification"]``), and p50/p95
seconds per question (retrieval plus answer). Needs the ``local-llm`` extra; the MultiHop index is
built under ``--index-dir`` on first use (benchmarks/question_sets.py). Writes docs/research/local-llm.json;
the table in docs/answers.md is copied from what it prints.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/

from question_sets import ROOT, machine, open_index, question_sets  # noqa: E402

MODES = {"extractive": {}, "local": {"answer_mode": "llm", "llm_provider": "local"}}


def run(assistant, questions) -> dict:
    from assistant.evaluation import metrics as m
    from assistant.evaluation.runner import score, summarize

    results, seconds, checked, removed, reasons = [], [], 0, 0, {}
    for i, q in enumerate(questions, 1):
        started = time.perf_counter()
        answer = assistant.ask(q.question, 10, q.filters, as_of=q.as_of)
        seconds.append(time.perf_counter() - started)
        results.append(score(q, answer))
        verification = answer.trace.get("verification") or {}
        checked += verification.get("sentences", 0)
        removed += verification.get("removed", 0)
        for decision in verification.get("decisions", []):
            if decision.get("action") == "removed":
                reason = decision.get("reason", "?").split(":")[0]
                reasons[reason] = reasons.get(reason, 0) + 1
        print(f"  {i}/{len(questions)} {seconds[-1]:.1f}s", end="\r", file=sys.stderr, flush=True)
    summary = summarize(results)
    return {
        "questions": len(questions),
        "answers": summary["answers"],
        "scored_answer_contains": summary["scored_answer_contains"],
        "unanswerable": summary["unanswerable"],
        "sentences_checked": checked,
        "sentences_removed": removed,
        "removed_share": round(removed / checked, 4) if checked else None,
        "removed_reasons": dict(sorted(reasons.items(), key=lambda kv: -kv[1])),
        "seconds_p50": round(m.percentile(seconds, 50), 2),
        "seconds_p95": round(m.percentile(seconds, 95), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--multihop", type=int, default=100, help="First N MultiHop-RAG dev questions (0: skip).")
    parser.add_argument("--index-dir", type=Path, default=ROOT / ".bench")
    parser.add_argument("--sets", nargs="*", default=["bundled", "multihop"], help="bundled, multihop")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "research" / "local-llm.json")
    args = parser.parse_args()

    from assistant.answer.local_llm import stop_local_servers

    # Sets run now replace their earlier figures in --out; the others are kept, each with its own date.
    result = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {"sets": {}}
    chosen = {name: (args.multihop if name == "multihop" else None) for name in args.sets
              if name != "multihop" or args.multihop}
    try:
        for qs in question_sets(list(chosen)):
            questions = qs.questions[: chosen[qs.name]] if chosen[qs.name] else qs.questions
            base = open_index(args.index_dir, qs.collection, qs.corpus)
            per_set = result["sets"][qs.name] = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                                                 "machine": machine(), "load_average_at_start": os.getloadavg()[0]}
            for mode, overrides in MODES.items():
                assistant = open_index(args.index_dir, qs.collection, qs.corpus, embedder=base.indexer.embedder,
                                       **overrides)
                assistant.ask("warm up", 3)
                per_set[mode] = row = run(assistant, questions)
                print(f"{qs.name:8} {mode:10} " + " ".join(f"{k}={v}" for k, v in row["answers"].items())
                      + f" removed={row['sentences_removed']}/{row['sentences_checked']}"
                      + f" p50={row['seconds_p50']}s p95={row['seconds_p95']}s", flush=True)
    finally:
        stop_local_servers()
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
