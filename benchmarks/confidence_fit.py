"""Fit how the confidence signals combine, leave one question set out, and write the model into a profile.

    python benchmarks/answers.py --profiles default --signals .bench/signals.jsonl ...   # the signals
    python benchmarks/confidence_fit.py .bench/signals.jsonl --profile assistant/profiles/default.json

The rows are each answer of benchmarks/answers.py for one profile: answerable questions, the sets'
own unanswerable questions, and the negative twins (each answerable question without its gold
articles). An answer is *right* when its question is answerable and the answer holds the expected
answer (``answer_contains``; where a question has no short answer, a cited gold fact). "high"
should mean right, so the model is a logistic regression of right on the signals
(assistant.answer.confidence.FEATURES), classes weighed equally.

Chosen out of sample: for each question group left out, the model is fitted on the other groups,
its "high" threshold is the lowest that keeps "high" on every training group's unanswerable and
twin questions at or below ``--max-high-unanswerable``, and ``none_below`` (best similarity under
which nothing is relevant) the highest that keeps every training group's answerable "none" at or
below ``--max-none-answerable``; the left-out group's figures are reported. The model written into
the profile is fitted the same way on every group, and the out-of-sample table goes with it
(``answer.confidence.fitted``) and into docs/confidence-fit.md.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from question_sets import ROOT, machine

THRESHOLDS = [round(x, 3) for x in np.arange(0.05, 0.96, 0.01)]
NONE_BELOW = [round(x, 3) for x in np.arange(0.0, 0.41, 0.02)]


def load(path: Path, profile: str) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r["profile"] == profile]  # without signals: their confidence stands (outcomes)
    for r in rows:
        contains = r["answer_contains"]
        found = contains if contains is not None else bool(r["citation_recall"])
        r["right"] = bool(r["answerable"] and found)
    return rows


def features(rows: list[dict]) -> np.ndarray:
    from assistant.answer.confidence import FEATURES

    return np.array([[float(r["signals"][f]) for f in FEATURES] for r in rows]).reshape(len(rows), len(FEATURES))


def fit(rows: list[dict]):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(class_weight="balanced", C=1.0, max_iter=1000)
    rows = [r for r in rows if r.get("signals")]
    model.fit(features(rows), [r["right"] for r in rows])
    return model


def probabilities(model, rows: list[dict]) -> np.ndarray:
    """Each row's probability of "right" (0 for a row without signals: nothing was retrieved)."""
    p = np.zeros(len(rows))
    have = [i for i, r in enumerate(rows) if r.get("signals")]
    if have:
        p[have] = model.predict_proba(features([rows[i] for i in have]))[:, 1]
    return p


def outcomes(rows: list[dict], p: np.ndarray, threshold: float, none_below: float) -> list[str]:
    """The confidence each row gets; a row without signals keeps the one it got (nothing retrieved:
    "none"; a question about what a person said, answered from their statements: "high")."""
    return [r["confidence"] if not r.get("signals") else "none" if r["signals"]["best"] < none_below
            else "high" if pi >= threshold else "low" for r, pi in zip(rows, p)]


def rates(rows: list[dict], levels: list[str]) -> dict:
    answerable = [lv for r, lv in zip(rows, levels) if r["answerable"]]
    negative = [lv for r, lv in zip(rows, levels) if not r["answerable"]]
    share = lambda xs, level: round(sum(x == level for x in xs) / len(xs), 4) if xs else None  # noqa: E731
    right = [lv for r, lv in zip(rows, levels) if r["right"]]
    return {"answerable_high": share(answerable, "high"), "answerable_none": share(answerable, "none"),
            "unanswerable_high": share(negative, "high"), "right_high": share(right, "high"),
            "answerable": len(answerable), "unanswerable": len(negative)}


def choose(rows: list[dict], model, max_high: float, max_none: float) -> tuple[float, float]:
    groups = sorted({r["group"] for r in rows})
    by_group = {g: [r for r in rows if r["group"] == g] for g in groups}
    p = {g: probabilities(model, by_group[g]) for g in groups}
    threshold = next((t for t in THRESHOLDS if all(
        (rates(by_group[g], outcomes(by_group[g], p[g], t, -1))["unanswerable_high"] or 0) <= max_high
        for g in groups)), THRESHOLDS[-1])
    none_below = max((nb for nb in NONE_BELOW if all(
        (rates(by_group[g], outcomes(by_group[g], p[g], threshold, nb))["answerable_none"] or 0) <= max_none
        for g in groups)), default=0.0)
    return threshold, none_below


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("signals", type=Path)
    parser.add_argument("--profile", type=Path, default=ROOT / "assistant" / "profiles" / "default.json")
    parser.add_argument("--signals-profile", default="default", help="Whose answers' signals to fit on.")
    parser.add_argument("--max-high-unanswerable", type=float, default=0.3)
    parser.add_argument("--max-none-answerable", type=float, default=0.02)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "confidence-fit.md")
    args = parser.parse_args()
    from assistant.answer.confidence import FEATURES

    rows = load(args.signals, args.signals_profile)
    groups = sorted({r["group"] for r in rows})
    held_out = {}
    for g in groups:
        train = [r for r in rows if r["group"] != g]
        test = [r for r in rows if r["group"] == g]
        if len({r["right"] for r in train if r.get("signals")}) < 2:
            continue
        model = fit(train)
        threshold, none_below = choose(train, model, args.max_high_unanswerable, args.max_none_answerable)
        held_out[g] = {"high_threshold": threshold, "none_below": none_below,
                       **rates(test, outcomes(test, probabilities(model, test), threshold, none_below))}
        print(g, held_out[g], flush=True)
    model = fit(rows)
    threshold, none_below = choose(rows, model, args.max_high_unanswerable, args.max_none_answerable)
    fitted = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "rows": len(rows),
              "groups": groups, "max_high_unanswerable": args.max_high_unanswerable,
              "max_none_answerable": args.max_none_answerable, "held_out": held_out,
              "by": "benchmarks/confidence_fit.py (leave one question group out)"}
    config = {"weights": {f: round(float(w), 4) for f, w in zip(FEATURES, model.coef_[0])},
              "intercept": round(float(model.intercept_[0]), 4), "high_threshold": threshold,
              "none_below": none_below, "fitted": fitted}
    profile = json.loads(args.profile.read_text(encoding="utf-8"))
    profile.setdefault("answer", {})["confidence"] = config
    args.profile.write_text(json.dumps(profile, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(config, indent=1))
    write(args.out, config, machine())


def write(path: Path, config: dict, where: str) -> None:
    fitted = config["fitted"]
    lines = ["# How the confidence signals combine", "",
             "Written by `python benchmarks/confidence_fit.py` — rerun it, do not edit by hand.", "",
             f"- Date: {fitted['date']}; machine: {where}",
             f"- Rows: {fitted['rows']} answers of the default profile (benchmarks/answers.py --signals): answerable "
             "questions, unanswerable ones and the negative twins, over the groups " + ", ".join(fitted["groups"]),
             "- A logistic model of 'the answer holds the expected answer' on the signals "
             "(assistant/answer/confidence.py); 'high' at or above the threshold, 'none' below `none_below` best "
             f"similarity. Each threshold is the one that keeps 'high' on every training group's unanswerable "
             f"questions at or below {fitted['max_high_unanswerable']} and 'none' on its answerable ones at or "
             f"below {fitted['max_none_answerable']}.", "",
             "## Out of sample (each group fitted on the others)", "",
             "| group left out | high threshold | none below | answerable high | answerable none | "
             "unanswerable + twins high | right answers marked high |", "|---|---:|---:|---:|---:|---:|---:|"]
    for g, r in fitted["held_out"].items():
        lines.append(f"| {g} | {r['high_threshold']} | {r['none_below']} | {r['answerable_high']} | "
                     f"{r['answerable_none']} | {r['unanswerable_high']} | {r['right_high']} |")
    lines += ["", "## Shipped (fitted on every group; assistant/profiles/default.json)", "",
              "| signal | weight |", "|---|---:|"]
    lines += [f"| {f} | {w} |" for f, w in config["weights"].items()]
    lines += [f"| (intercept) | {config['intercept']} |", "",
              f"high threshold {config['high_threshold']}, none below {config['none_below']}."]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
