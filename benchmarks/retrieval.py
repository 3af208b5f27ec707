"""Retrieval and abstention on every question set, for the floors and every profile, in one run.

    python -m benchmarks retrieval                     # writes docs/retrieval.md and .json
    python -m benchmarks retrieval --limit 300 --sets users bundled     (or: python benchmarks/retrieval.py ...)

For each question set (benchmarks/question_sets.py) and each profile (dense, bm25, hybrid — the
floors — then default and multihop): Hits@1/4/10, MRR@10 and evidence recall@10 of the top 10
over the answerable questions, through the same path ``assistant ask`` and ``assistant eval`` use
(time words, filters, the question's own date); retrieval latency p50/p95; and the abstention rates:
the share of unanswerable questions the assistant declines, and of answerable ones (a sample as
large as the unanswerable set, at most --abstain-sample) it wrongly declines, with ask latency.
Then, per set, the default against each floor question by question: the difference in Hits@10 and
MRR@10 with a 95% paired bootstrap interval (2,000 resamples of the questions), so that a gap of
one or two questions is not read as a result.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import datetime, timezone
from pathlib import Path

from question_sets import PROFILES, ROOT, machine, open_index, question_sets
KEYS = ("hits@1", "hits@4", "hits@10", "mrr@10", "evidence_recall@10")


def retrieval(assistant, questions) -> dict:
    from assistant.evaluation import metrics as m

    rows, latencies = [], []
    assistant.retrieve("warm up", 10)
    for q in questions:
        gold = m.gold_of(q.evidence)
        started = time.perf_counter()
        _, passages = assistant.retrieve(q.question, 10, q.filters, as_of=q.as_of)
        latencies.append((time.perf_counter() - started) * 1000)
        ranks = m.hit_ranks(gold, passages)
        rows.append((m.hit_at(ranks, 1), m.hit_at(ranks, 4), m.hit_at(ranks, 10), m.reciprocal_rank(ranks, 10),
                     m.evidence_recall(gold, passages, 10)))
    out = {k: round(m.mean(r[i] for r in rows), 4) for i, k in enumerate(KEYS)}
    out["per_question"] = {"hits@10": [float(r[2]) for r in rows], "mrr@10": [float(r[3]) for r in rows]}
    out["retrieve_ms"] = {"p50": round(m.percentile(latencies, 50), 1), "p95": round(m.percentile(latencies, 95), 1)}
    return out


def paired_bootstrap(ours: list[float], theirs: list[float], resamples: int = 2000, seed: int = 14) -> dict:
    """Mean of ``ours - theirs`` over the same questions, and its 95% percentile bootstrap interval."""
    import numpy as np

    diff = np.asarray(ours, dtype=float) - np.asarray(theirs, dtype=float)
    if not len(diff):
        return {"diff": None, "low": None, "high": None}
    picks = np.random.default_rng(seed).integers(0, len(diff), size=(resamples, len(diff)))
    means = diff[picks].mean(axis=1)
    return {"diff": round(float(diff.mean()), 4), "low": round(float(np.percentile(means, 2.5)), 4),
            "high": round(float(np.percentile(means, 97.5)), 4)}


def against_floors(profiles: dict) -> dict:
    """default − each floor, per metric, with its paired bootstrap interval."""
    ours = profiles.get("default")
    if ours is None:
        return {}
    return {floor: {key: paired_bootstrap(ours["per_question"][key], row["per_question"][key])
                    for key in ("hits@10", "mrr@10")}
            for floor, row in profiles.items() if floor in ("dense", "bm25", "hybrid")}


def abstention(assistant, unanswerable, answerable) -> dict:
    from assistant.evaluation import metrics as m

    def declined(questions):
        flags, found, latencies = [], [], []
        for q in questions:
            started = time.perf_counter()
            answer = assistant.ask(q.question, 10, q.filters, as_of=q.as_of)
            latencies.append((time.perf_counter() - started) * 1000)
            flags.append(answer.abstained)
            found.append(m.hit_at(m.hit_ranks(m.gold_of(q.evidence), answer.passages), 10) if q.answerable else None)
        return flags, found, latencies

    def rate(flags):
        return round(m.mean(flags), 4) if flags else None

    refused, _, l1 = declined(unanswerable)
    wrongly, found, l2 = declined(answerable)
    return {"unanswerable": len(unanswerable), "answerable_sample": len(answerable),
            "abstain_rate_unanswerable": rate(refused),
            "abstain_rate_answerable": rate(wrongly),
            # split by whether the evidence was among the ten passages the answer was written from
            "answerable_found": sum(found), "abstain_rate_answerable_found": rate([d for d, f in zip(wrongly, found) if f]),
            "abstain_rate_answerable_missed": rate([d for d, f in zip(wrongly, found) if not f]),
            "ask_ms": {q: round(v, 1) if (v := m.percentile(l1 + l2, p)) is not None else None
                       for q, p in (("p50", 50), ("p95", 95))}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, default=ROOT / ".bench")
    parser.add_argument("--sets", nargs="*", default=None, help="Only these sets (multihop, users, quiz, bundled).")
    parser.add_argument("--profiles", nargs="*", default=list(PROFILES))
    parser.add_argument("--limit", type=int, default=0, help="Only the first N answerable questions of each set.")
    parser.add_argument("--abstain-sample", type=int, default=300,
                        help="Most answerable and unanswerable questions asked per set for the abstention rates.")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "retrieval.md")
    parser.add_argument("--backend", default="torch", help="Embedding backend (torch, onnx-fp32, onnx-int8, openvino-int8); a "
                        "backend with other vectors than torch needs its own --index-dir.")
    args = parser.parse_args()

    from assistant.embed import make_embedder
    from assistant.settings import BUNDLED_MODEL

    embedder = make_embedder(BUNDLED_MODEL, args.backend, 32, None)
    result = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
              "embedder": embedder.identity, "sets": {}}
    for qs in question_sets(args.sets):
        answerable = qs.answerable[: args.limit or None]
        rng = random.Random(14)
        unanswerable = qs.unanswerable[: args.abstain_sample]
        sample = rng.sample(qs.answerable, min(len(qs.answerable), max(len(unanswerable), 20), args.abstain_sample))
        per_set = result["sets"][qs.name] = {"questions": len(answerable), "profiles": {}}
        for name in args.profiles:
            assistant = open_index(args.index_dir, qs.collection, qs.corpus, embedder=embedder, profile=name,
                                   embedding_backend=args.backend)
            row = retrieval(assistant, answerable)
            row.update(abstention(assistant, unanswerable, sample))
            per_set["profiles"][name] = row
            print(f"{qs.name:8} {name:9} " + " ".join(f"{k}={row[k]:.4f}" for k in KEYS)
                  + f" p50={row['retrieve_ms']['p50']}ms p95={row['retrieve_ms']['p95']}ms"
                  + f" refuse(unans)={row['abstain_rate_unanswerable']} refuse(ans)={row['abstain_rate_answerable']}",
                  flush=True)
        per_set["against_floors"] = against_floors(per_set["profiles"])
        for row in per_set["profiles"].values():
            row.pop("per_question")
    write(result, args.out)
    print(f"wrote {args.out}")


def write(result: dict, path: Path) -> None:
    lines = ["# Retrieval on every question set", "",
             "Written by `python -m benchmarks retrieval` — rerun it, do not edit by hand.", "",
             f"- Date: {result['date']}", f"- Machine: {result['machine']}",
             f"- Embedder: {result.get('embedder', 'all-MiniLM-L6-v2/torch')}",
             "- Sets: `multihop` = MultiHop-RAG dev (answerable questions; 255 unanswerable), `users` = "
             "evals/multihop_users.jsonl (single facts in users' words over the same 609 articles), `quiz` = "
             "evals/multihop_quiz.jsonl (news-quiz questions over those articles, worded away from them), `bundled` = "
             "evals/corpus_questions.jsonl over corpus/.",
             "- dense, bm25 and hybrid are the floors; default is what ships; multihop is the profile trained on "
             "MultiHop-RAG dev (in-sample there).",
             "- Abstention: share of unanswerable questions declined (higher is better) and of a sample of "
             "answerable ones declined (lower is better); the latter split by whether the gold evidence was among "
             "the ten passages the answer was written from (declining where it was not is what a careful reader "
             "of those passages would do). Question counts in brackets.", ""]
    for name, per_set in result["sets"].items():
        lines += [f"## {name} ({per_set['questions']} answerable questions)", "",
                  "| profile | " + " | ".join(KEYS) + " | retrieve p50 ms | p95 ms | declines unanswerable | "
                  "declines answerable | of them, evidence found / missed | ask p50 ms |",
                  "|---|" + "---:|" * (len(KEYS) + 6)]
        for profile, row in per_set["profiles"].items():
            lines.append(f"| {profile} | " + " | ".join(f"{row[k]:.4f}" for k in KEYS)
                         + f" | {row['retrieve_ms']['p50']} | {row['retrieve_ms']['p95']} | "
                         f"{row['abstain_rate_unanswerable']} ({row['unanswerable']}) | "
                         f"{row['abstain_rate_answerable']} ({row['answerable_sample']}) | "
                         f"{row.get('abstain_rate_answerable_found')} ({row.get('answerable_found')}) / "
                         f"{row.get('abstain_rate_answerable_missed')} "
                         f"({row['answerable_sample'] - row.get('answerable_found', 0)}) | {row['ask_ms']['p50']} |")
        lines.append("")
        if per_set.get("against_floors"):
            lines += ["default − floor, question by question (95% paired bootstrap interval; an interval that "
                      "contains 0 is no difference this set can show):", "",
                      "| floor | Hits@10 | MRR@10 |", "|---|---|---|"]
            for floor, by_key in per_set["against_floors"].items():
                lines.append(f"| {floor} | " + " | ".join(
                    f"{d['diff']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}]" for d in by_key.values()) + " |")
            lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    path.with_suffix(".json").write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
