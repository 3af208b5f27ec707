"""What the answers are worth on every question set: the `assistant eval` answer metrics, per set and
as a mean over the sets, for one or more profiles in one run.

    python benchmarks/answers.py --index-dir .bench-pk --backend openvino-int8   # docs/research/answers-by-set.md (+ .json)
    python benchmarks/answers.py --profiles default my-profile.json             # a change to answering, side by side

Every answerable question of each set (benchmarks/question_sets.py) is asked once with ``ask``, as
`assistant eval` asks it, and scored by the same functions (assistant.evaluation.runner):
citation precision and recall against the gold facts, whether the expected short answer appears in
the answer (``answer_contains``; names, numbers and short phrases, verdicts not counted) and how
often an answerable question is declined. Unanswerable questions are left to
benchmarks/studies/abstention.py. The mean weighs each question file once (a set asking the same
questions over another index is averaged with it first), which is what a change to answering must
raise without lowering any set by more than 0.01.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

from question_sets import ROOT, group_mean, machine, open_index, question_sets

KEYS = ("citation_precision", "citation_recall", "answer_contains", "abstain_rate_answerable")
HIGHER = {"citation_precision": True, "citation_recall": True, "answer_contains": True,
          "abstain_rate_answerable": False}


def measure(assistant, questions) -> dict:
    from assistant.evaluation.runner import evaluate, summarize

    assistant.retrieve("warm up", 10)
    summary = summarize(list(evaluate(assistant, questions)))
    row = {k: summary["answers"][k] for k in KEYS}
    row["scored_answer_contains"] = summary["scored_answer_contains"]
    row["answer_p50_ms"] = summary["latency_ms"]["answer_p50"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, default=ROOT / ".bench")
    parser.add_argument("--sets", nargs="*", default=None, help="Only these sets.")
    parser.add_argument("--profiles", nargs="*", default=["default"], help="Profile names or profile files.")
    parser.add_argument("--limit", type=int, default=0, help="Only the first N answerable questions of each set.")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "research" / "answers-by-set.md")
    parser.add_argument("--backend", default="torch", help="Embedding backend of the index (see benchmarks/retrieval.py).")
    args = parser.parse_args()

    from assistant.embed import make_embedder
    from assistant.settings import BUNDLED_MODEL

    embedder = make_embedder(BUNDLED_MODEL, args.backend, 32, None)
    result = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
              "embedder": embedder.identity, "profiles": args.profiles, "sets": {}, "groups": {}}
    for qs in question_sets(args.sets):
        questions = qs.answerable[: args.limit or None]
        result["groups"][qs.name] = qs.group
        per_set = result["sets"][qs.name] = {"questions": len(questions), "profiles": {}}
        for profile in args.profiles:
            assistant = open_index(args.index_dir, qs.collection, qs.corpus, embedder=embedder, profile=profile,
                                   embedding_backend=args.backend)
            row = per_set["profiles"][profile] = measure(assistant, questions)
            print(f"{qs.name:15} {profile:10} " + " ".join(f"{k}={row[k]}" for k in KEYS), flush=True)
    result["means"] = {profile: {k: mean_over_sets(result, profile, k) for k in KEYS} for profile in args.profiles}
    write(result, args.out)
    print(json.dumps(result["means"], indent=1))
    print(f"wrote {args.out}")


def mean_over_sets(result: dict, profile: str, key: str) -> float | None:
    values = {name: s["profiles"][profile][key] for name, s in result["sets"].items()
              if s["profiles"][profile][key] is not None}
    return round(group_mean(values, result["groups"]), 4) if values else None


def write(result: dict, path: Path) -> None:
    lines = ["# Answers on every question set", "",
             "Written by `python benchmarks/answers.py` — rerun it, do not edit by hand.", "",
             f"- Date: {result['date']}", f"- Machine: {result['machine']}", f"- Embedder: {result['embedder']}",
             "- Every answerable question asked once with `ask` and scored as `assistant eval` scores it "
             "(docs/evaluation.md): citation precision and recall against the gold facts, `answer_contains` "
             "(the expected short answer appears in the answer; questions with one, count in brackets) and the "
             "share declined. Sets as in docs/research/retrieval.md.", "",
             "| set | profile | citation precision | citation recall | answer contains | declines answerable | "
             "answer p50 ms |", "|---|---|---:|---:|---:|---:|---:|"]
    for name, per_set in result["sets"].items():
        for profile, row in per_set["profiles"].items():
            lines.append(f"| {name} ({per_set['questions']}) | {profile} | {_fmt(row['citation_precision'])} | "
                         f"{_fmt(row['citation_recall'])} | {_fmt(row['answer_contains'])} "
                         f"({row['scored_answer_contains']}) | {_fmt(row['abstain_rate_answerable'])} | "
                         f"{row['answer_p50_ms']} |")
    lines += ["", "Mean over the sets (each question file once):", "",
              "| profile | citation precision | citation recall | answer contains | declines answerable |",
              "|---|---:|---:|---:|---:|"]
    for profile, means in result["means"].items():
        lines.append(f"| {profile} | " + " | ".join(_fmt(means[k]) for k in KEYS) + " |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.with_suffix(".json").write_text(json.dumps(result, indent=2), encoding="utf-8")


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.4f}"


if __name__ == "__main__":
    main()
