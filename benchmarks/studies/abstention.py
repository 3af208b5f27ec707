"""Calibrating when the assistant declines, on every question set, reported out-of-sample.

    python -m benchmarks studies abstention [--profile default]    # writes docs/research/abstention.md (and .json)

Two pieces of evidence that the passages answer the question are measured for each question
(every unanswerable one, and as many answerable ones, sampled):
- the relevance of the best sentence (cosine similarity with the question, what the extractive
  answer writer ranks sentences by);
- whether at least half of the names the question uses appear in no retrieved passage
  (:func:`assistant.answer.abstention.names_absent`).
A rule declines when the best sentence is below a threshold (and, with the names check, when a
name is missing). The threshold is chosen to maximise balanced accuracy (the mean of the share of
unanswerable questions declined and of answerable ones answered) on the other sets, and scored on
the set left out (with any set asking the same questions over another index: users and
users-passages are left out together). The page also shows, per set, how far the best sentence's
similarity alone separates answerable from unanswerable questions (AUC).
"""

from __future__ import annotations

import argparse
import sys
import json
import random
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared registry

from question_sets import ROOT, group_mean, machine, open_index, question_sets

GRID = [round(0.05 * i, 2) for i in range(0, 17)]


def observe(assistant, questions) -> list[dict]:
    from assistant.answer.abstention import names_absent

    rows = []
    for q in questions:
        answer = assistant.ask(q.question, 10, q.filters, as_of=q.as_of)
        best = answer.trace.get("best_score")
        rows.append({"answerable": bool(q.answerable), "best": best,
                     "missing": bool(names_absent(answer.trace.get("standalone_question") or q.question,
                                                  answer.passages)),
                     "declined_anyway": answer.abstained and best is None})
    return rows


def rates(rows: list[dict], threshold: float, names: bool) -> dict:
    def declines(r):
        if r["declined_anyway"]:
            return True
        return (names and r["missing"]) or (r["best"] is not None and r["best"] < threshold)

    unans = [declines(r) for r in rows if not r["answerable"]]
    ans = [declines(r) for r in rows if r["answerable"]]
    refuse = sum(unans) / len(unans) if unans else 0.0
    wrong = sum(ans) / len(ans) if ans else 0.0
    return {"declines_unanswerable": round(refuse, 4), "declines_answerable": round(wrong, 4),
            "balanced_accuracy": round((refuse + 1 - wrong) / 2, 4)}


def separation(rows: list[dict]) -> dict:
    """How well the best sentence's similarity alone tells answerable from unanswerable questions: the
    mean of each, and the chance that an answerable question's best sentence is more similar than an
    unanswerable one's (area under the ROC curve; 0.5 = chance, below 0.5 = the unanswerable ones look
    *more* answered). A question without any candidate sentence counts as similarity 0."""
    ans = [r["best"] or 0.0 for r in rows if r["answerable"]]
    unans = [r["best"] or 0.0 for r in rows if not r["answerable"]]
    if not ans or not unans:
        return {"best_answerable": None, "best_unanswerable": None, "auc": None}
    wins = sum((a > u) + 0.5 * (a == u) for a in ans for u in unans)
    return {"best_answerable": round(sum(ans) / len(ans), 4), "best_unanswerable": round(sum(unans) / len(unans), 4),
            "auc": round(wins / (len(ans) * len(unans)), 4)}


def choose(per_set: dict, names: bool, groups: dict[str, str] | None = None) -> float:
    """The threshold with the best mean balanced accuracy over ``per_set`` (ties: the lower one).

    Sets of one group (the same questions over another index) are averaged first, so that each
    question set weighs the same however many indexes it is asked against."""
    def mean(t):
        return group_mean({n: rates(rows, t, names)["balanced_accuracy"] for n, rows in per_set.items()}, groups)
    return max(GRID, key=lambda t: (round(mean(t), 6), -t))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, default=ROOT / ".bench")
    parser.add_argument("--profile", default="default")
    parser.add_argument("--sample", type=int, default=255, help="Most questions of each kind per set.")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "research" / "abstention.md")
    parser.add_argument("--backend", default="torch", help="Embedding backend (torch, onnx-fp32, onnx-int8, openvino-int8); a "
                        "backend with other vectors than torch needs its own --index-dir.")
    args = parser.parse_args()

    from assistant.embed import make_embedder
    from assistant.retrieve.profile import load_profile
    from assistant.settings import BUNDLED_MODEL

    embedder = make_embedder(BUNDLED_MODEL, args.backend, 32, None)
    profile = load_profile(args.profile)
    calibrating = profile.model_copy(update={"name": "calibrating", "answer": profile.answer.model_copy(
        update={"abstain_threshold": 0.0, "require_names": False})})
    path = args.index_dir / "calibrating-profile.json"
    path.write_text(calibrating.model_dump_json())
    observed = {}
    groups = {}
    for qs in question_sets():
        groups[qs.name] = qs.group
        unanswerable = qs.unanswerable[: args.sample]
        if not unanswerable:
            print(f"{qs.name}: no unanswerable questions, skipped")
            continue
        rng = random.Random(14)
        answerable = rng.sample(qs.answerable, min(len(qs.answerable), max(len(unanswerable), 20), args.sample))
        assistant = open_index(args.index_dir, qs.collection, qs.corpus, embedder=embedder, profile=str(path),
                               embedding_backend=args.backend)
        observed[qs.name] = observe(assistant, unanswerable + answerable)
        print(qs.name, len(observed[qs.name]), flush=True)

    result = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(), "profile": args.profile,
              "sets": {n: {"unanswerable": sum(not r["answerable"] for r in rows),
                           "answerable": sum(r["answerable"] for r in rows)} for n, rows in observed.items()},
              "groups": {n: groups[n] for n in observed}, "rules": {},
              "separation": {n: separation(rows) for n, rows in observed.items()}}
    for names in (False, True):
        rule = "best sentence + names" if names else "best sentence only"
        chosen_all = choose(observed, names, groups)
        held = {}
        for left in observed:
            others = {n: rows for n, rows in observed.items() if groups[n] != groups[left]}  # its questions out
            t = choose(others, names, groups) if others else chosen_all
            held[left] = {"threshold": t, **rates(observed[left], t, names)}
        grid = {str(t): {n: rates(rows, t, names) for n, rows in observed.items()} for t in GRID}
        result["rules"][rule] = {"threshold_on_all": chosen_all, "held_out": held, "grid": grid,
                                 "in_sample": {n: rates(rows, chosen_all, names) for n, rows in observed.items()},
                                 "current": {n: rates(rows, profile.answer.abstain_threshold, profile.answer.require_names)
                                             for n, rows in observed.items()}}
    write(result, args.out)
    print(json.dumps(result, indent=1))


def write(result: dict, path: Path) -> None:
    lines = ["# When the assistant declines", "",
             "Written by `python -m benchmarks studies abstention` — rerun it, do not edit by hand.", "",
             f"- Date: {result['date']}; profile `{result['profile']}`",
             f"- Machine: {result.get('machine', 'not recorded')}",
             "- Questions: " + "; ".join(f"{n}: {c['unanswerable']} unanswerable, {c['answerable']} answerable (sample)"
                                         for n, c in result["sets"].items()),
             "- Each set's row uses the threshold chosen on the *other* sets (out of sample); a set asking the same "
             "questions over another index (users-passages, quiz-passages) is left out with its own, and the mean "
             "weighs each question set once (sets of one question file averaged first).", ""]
    if result.get("separation"):
        lines += ["## How far the best sentence's similarity separates them", "",
                  "Mean similarity of the best sentence for answerable and unanswerable questions, and the chance "
                  "that an answerable question's best sentence is more similar than an unanswerable one's (AUC: "
                  "0.5 is chance; below 0.5 the unanswerable questions look *more* answered, and no threshold on "
                  "similarity can help).", "",
                  "| set | best sentence, answerable | unanswerable | AUC |", "|---|---:|---:|---:|"]
        for name, row in result["separation"].items():
            lines.append(f"| {name} | {row['best_answerable']} | {row['best_unanswerable']} | {row['auc']} |")
        lines.append("")
    for rule, data in result["rules"].items():
        lines += [f"## {rule} (threshold on all sets: {data['threshold_on_all']})", "",
                  "| set left out | threshold | declines unanswerable | declines answerable | balanced accuracy |",
                  "|---|---:|---:|---:|---:|"]
        for name, row in data["held_out"].items():
            lines.append(f"| {name} | {row['threshold']} | {row['declines_unanswerable']} | {row['declines_answerable']} "
                         f"| {row['balanced_accuracy']} |")
        sets = list(result["sets"])
        lines += ["", "Every threshold (declines of unanswerable / of answerable questions, per set):", "",
                  "| threshold | " + " | ".join(sets) + " | mean balanced accuracy |", "|---:|" + "---|" * len(sets) + "---:|"]
        for t, per_set in data["grid"].items():
            mean = group_mean({n: r["balanced_accuracy"] for n, r in per_set.items()}, result.get("groups"))
            lines.append(f"| {t} | " + " | ".join(f"{per_set[n]['declines_unanswerable']:.2f} / "
                                                   f"{per_set[n]['declines_answerable']:.2f}" for n in sets)
                         + f" | {mean:.3f} |")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    path.with_suffix(".json").write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
