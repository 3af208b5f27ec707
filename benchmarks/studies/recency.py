"""Does ranking newer articles higher help? Measured on every question set, for two uses of it.

    python -m benchmarks studies recency                  # writes docs/research/recency.json; the table goes in docs/live-news.md

1. ``recency_half_life_days``: only questions that ask for the newest coverage ("What is the
   latest on …?", "latest news about …"; ``Timeframe.latest``). Reported on that subset of each
   set (the other questions are untouched by it), and on the wider set of questions that merely
   name something recent ("recently reported", "currently", "Apple's latest product";
   ``Timeframe.recency``) as if the rule fired on them, to show why it must not.
2. ``general_half_life_days``: every question. Kept off unless it raises the mean over the sets
   and lowers none by more than 0.01 (the rule in docs/research/fusion-study.md).

Each variant is the default profile with one field changed (a temporary profile file), asked the
same questions against the same indexes (benchmarks/question_sets.py) in one process.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/

from question_sets import ROOT, machine, open_index, question_sets  # noqa: E402
from retrieval import KEYS, retrieval  # noqa: E402

RECENCY = {"off": 0.0, "30 days (default)": 30.0, "90 days": 90.0}
GENERAL = {"off (default)": 0.0, "365 days": 365.0, "90 days": 90.0}


def profile_file(folder: Path, name: str, **fusion) -> str:
    from assistant.retrieve.profile import load_profile

    data = load_profile("default").model_dump(exclude_none=True)
    data["name"] = name
    data["fusion"].update(fusion)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def force_latest(assistant) -> None:
    """Counterfactual: treat every question that names something recent as asking for the newest
    coverage (what a looser trigger would do), to measure what that costs."""
    analyze = assistant.analyzer.analyze

    def forced(*args, **kwargs):
        plan = analyze(*args, **kwargs)
        if plan.timeframe is not None and plan.timeframe.recency:
            plan.timeframe.latest = True
        return plan
    assistant.analyzer.analyze = forced


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, default=ROOT / ".bench")
    parser.add_argument("--limit", type=int, default=0, help="Only the first N answerable questions of each set.")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "research" / "recency.json")
    args = parser.parse_args()

    from assistant.query.timeframes import parse_timeframe

    result = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
              "recency_questions": {}, "named_recent_forced": {}, "general": {}}
    with tempfile.TemporaryDirectory() as folder:
        from assistant.embed import make_embedder
        from assistant.settings import Settings

        settings = Settings()
        embedder = make_embedder(settings.embedding_model, settings.embedding_backend)
        for qs in question_sets():
            answerable = qs.answerable[: args.limit or None]
            asking = [q for q in answerable if parse_timeframe(q.question, None).latest]
            result["recency_questions"][qs.name] = {"questions": len(asking)}
            for label, days in RECENCY.items():
                if not asking:
                    break
                name = f"recency-{int(days)}"
                assistant = open_index(args.index_dir, qs.collection, qs.corpus, embedder=embedder,
                                       profile=profile_file(Path(folder), name, recency_half_life_days=days))
                row = retrieval(assistant, asking)
                result["recency_questions"][qs.name][label] = row
                print(f"{qs.name:8} latest-questions ({len(asking)}) {label:18} "
                      + " ".join(f"{k}={row[k]:.4f}" for k in KEYS), flush=True)
            named = [q for q in answerable if parse_timeframe(q.question, None).recency]
            result["named_recent_forced"][qs.name] = {"questions": len(named)}
            for label, days in RECENCY.items():
                if not named:
                    break
                name = f"forced-{int(days)}"
                assistant = open_index(args.index_dir, qs.collection, qs.corpus, embedder=embedder,
                                       profile=profile_file(Path(folder), name, recency_half_life_days=days))
                force_latest(assistant)
                row = retrieval(assistant, named)
                result["named_recent_forced"][qs.name][label] = row
                print(f"{qs.name:8} named-recent, forced ({len(named)}) {label:18} "
                      + " ".join(f"{k}={row[k]:.4f}" for k in KEYS), flush=True)
            result["general"][qs.name] = {"questions": len(answerable)}
            for label, days in GENERAL.items():
                name = f"general-{int(days)}"
                assistant = open_index(args.index_dir, qs.collection, qs.corpus, embedder=embedder,
                                       profile=profile_file(Path(folder), name, general_half_life_days=days))
                row = retrieval(assistant, answerable)
                result["general"][qs.name][label] = row
                print(f"{qs.name:8} all ({len(answerable)}) {label:18} "
                      + " ".join(f"{k}={row[k]:.4f}" for k in KEYS), flush=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
