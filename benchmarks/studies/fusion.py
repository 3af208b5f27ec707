"""How the default profile was chosen: each stage kept only if it helps the mean over every question
set and costs no set more than 0.01; reported out-of-sample by leaving one question set out.

    python -m benchmarks studies fusion     # changes to the default that earn their place: docs/research/fusion-study.md
    python -m benchmarks studies fusion --start hybrid --out docs/research/fusion-study-from-hybrid.md
                                          # the whole default again, from plain RRF (each also writes .json)

The real retriever runs every variant; only the expensive calls it makes (embedding a text, a
Chroma query, a BM25 search) are remembered between variants, so a variant costs its fusion only.
The criterion per set is the mean of Hits@10, MRR@10 and evidence recall@10 over its answerable
questions (top 10). Stages are tried in a fixed order, from the ``--start`` profile:

  dense weight, RRF constant, lexical confidence (BM25 weights scaled down for a question whose
  BM25 top ten is flat), sentence-BM25 ranking, sentence-vector ranking, article decay,
  routes per outlet named as the source, route tops (the best n chunks of the dense and of the BM25
  ranking each keep a place in the top 10).

A stage's option is kept when it raises the mean over the sets and lowers no set by more than 0.01,
neither against the stage before nor against the start (so small losses cannot add up), on the
criterion nor on any one of its three metrics.

"Leave one set out": the stage search runs on the other sets and its choice is scored on the set
left out, so each set's figure is for a profile chosen without it (a set asking the same questions
over another index, e.g. users and users-passages, is left out with it).
"""

from __future__ import annotations

import argparse
import sys
import copy
import json
import platform
import os
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared registry

from question_sets import ROOT, group_mean, open_index, question_sets

CRITERION = ("hits@10", "mrr@10", "evidence_recall@10")
MAX_LOSS = 0.01
STAGES: list[tuple[str, list[dict]]] = [  # an option equal to the current setting changes nothing
    ("dense weight", [{"dense_weight": w} for w in (0.5, 0.6, 0.75, 1.0, 1.5, 2.0)]),
    ("RRF constant", [{"rrf_k": k} for k in (10, 20, 30, 60, 100)]),
    ("lexical confidence", [{"lexical_full_peak": 0.0, "lexical_floor": 1.0}]
     + [{"lexical_full_peak": p, "lexical_floor": f} for p in (1.3, 1.5, 2.0) for f in (0.25, 0.5)]),
    ("sentence BM25 ranking", [{"sentence_weight": w} for w in (0.0, 0.25, 0.5, 1.0)]),
    ("sentence-vector ranking", [{"dense_sentence_weight": w} for w in (0.0, 0.5, 0.75, 1.0, 1.5)]),
    ("article decay", [{"article_decay": d} for d in (1.0, 0.95, 0.9, 0.8, 0.7)]),
    ("outlet routes", [{"source_routing": False, "source_weight": 1.0}]
     + [{"source_routing": True, "source_weight": w} for w in (0.5, 1.0)]),
    ("route tops", [{"route_tops": n} for n in (0, 1, 2, 3)]),
]
# Not tried for the default: routes per named day. A day a question names is as often the day of the
# event ("the attack on October 7") as of the report; days that date a report already filter through
# the time words (assistant.query.timeframes), and the multihop profile keeps the day routes.


class Remember:
    """Wraps a part and remembers the answers of the named methods by their arguments."""

    def __init__(self, part, methods: tuple[str, ...]):
        self._part, self._memo = part, {}
        for name in methods:
            setattr(self, name, self._wrap(name))

    def _wrap(self, name):
        method = getattr(self._part, name)

        def call(*args):
            key = (name,) + tuple(_key(a) for a in args)
            if key not in self._memo:
                self._memo[key] = method(*args)
            return self._memo[key]
        return call

    def __getattr__(self, name):
        return getattr(self._part, name)


class SentenceCache:
    """Wraps a store and keeps each chunk's sentence vectors once read (each call asks for another
    list of candidates, so remembering whole answers would hold the same matrices many times)."""

    def __init__(self, store):
        self._store, self._vectors, self._none = store, {}, set()

    def sentence_vectors(self, chunk_ids):
        missing = [cid for cid in dict.fromkeys(chunk_ids) if cid not in self._vectors and cid not in self._none]
        if missing:
            found = self._store.sentence_vectors(missing)
            self._vectors.update(found)
            self._none.update(cid for cid in missing if cid not in found)
        return {cid: self._vectors[cid] for cid in chunk_ids if cid in self._vectors}

    def __getattr__(self, name):
        return getattr(self._store, name)


def _key(value):
    if hasattr(value, "tobytes"):
        return value.tobytes()
    if isinstance(value, list):
        return tuple(value)
    if hasattr(value, "model_dump_json"):
        return value.model_dump_json()
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def variant(base, profile):
    """``base`` with the retriever ``profile`` describes, sharing its remembered parts."""
    from assistant.service.factory import make_retriever

    other = copy.copy(base)
    other.retriever = make_retriever(profile, base.store, base.bm25, base.indexer.embedder)
    return other


def score(assistant, questions) -> dict:
    from assistant.evaluation import metrics as m

    rows = []
    for q in questions:
        gold = m.gold_of(q.evidence)
        _, passages = assistant.retrieve(q.question, 10, q.filters, as_of=q.as_of)
        ranks = m.hit_ranks(gold, passages)
        rows.append((m.hit_at(ranks, 1), m.hit_at(ranks, 4), m.hit_at(ranks, 10), m.reciprocal_rank(ranks, 10),
                     m.evidence_recall(gold, passages, 10)))
    keys = ("hits@1", "hits@4", "hits@10", "mrr@10", "evidence_recall@10")
    return {k: round(m.mean(r[i] for r in rows), 4) for i, k in enumerate(keys)}


def criterion(metrics: dict) -> float:
    return sum(metrics[k] for k in CRITERION) / len(CRITERION)


class Study:
    def __init__(self, assistants: dict, sets: dict):
        self.assistants, self.sets, self.cache = assistants, sets, {}

    def metrics(self, fusion: dict, name: str) -> dict:
        from assistant.retrieve.profile import FusionConfig, Profile

        key = (json.dumps(fusion, sort_keys=True), name)
        if key not in self.cache:
            profile = Profile(name="study", fusion=FusionConfig(**fusion))
            self.cache[key] = score(variant(self.assistants[name], profile), self.sets[name].answerable)
        return self.cache[key]

    def mean(self, per_set: dict[str, float]) -> float:
        """The mean over question sets, each set's figures over several indexes averaged first (users and
        users-passages ask the same questions: together they weigh as one set)."""
        return group_mean(per_set, {name: qs.group for name, qs in self.sets.items()})

    def search(self, names: list[str], start: dict) -> tuple[dict, list[dict]]:
        """Greedy stage search on ``names``: (chosen fusion settings, one log row per stage).

        An option is kept when it raises the mean over ``names`` and leaves no set more than
        MAX_LOSS below where it stood before the stage, nor below where it stood at ``start``, on the
        criterion and on each of its metrics (a small gain on the mean does not pay for losing
        more than MAX_LOSS of one set's MRR@10).
        """
        current, log = dict(start), []
        origin = {n: self.metrics(start, n) for n in names}
        for stage, options in STAGES:
            before = {n: self.metrics(current, n) for n in names}
            now = {n: criterion(before[n]) for n in names}
            best, best_mean = None, self.mean(now)
            for option in options:
                trial = {**current, **option}
                metrics = {n: self.metrics(trial, n) for n in names}
                got = {n: criterion(metrics[n]) for n in names}
                mean = self.mean(got)
                worst = min(min(got[n] - now[n], got[n] - criterion(origin[n])) for n in names)
                worst = min([worst] + [metrics[n][k] - ref[n][k] for n in names for k in CRITERION
                                       for ref in (before, origin)])
                if mean > best_mean + 1e-4 and worst >= -MAX_LOSS:
                    best, best_mean = option, mean
            log.append({"stage": stage, "kept": best, "mean_before": round(self.mean(now), 4),
                        "mean_after": round(best_mean, 4)})
            if best:
                current.update(best)
        return current, log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, default=ROOT / ".bench")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "research" / "fusion-study.md")
    parser.add_argument("--start", default="default", help="Profile the stage search starts from: default (what "
                        "ships: which changes to it earn their place) or hybrid (plain RRF: the whole default again).")
    parser.add_argument("--backend", default="torch", help="Embedding backend (torch, onnx-fp32, onnx-int8, openvino-int8); a "
                        "backend with other vectors than torch needs its own --index-dir.")
    args = parser.parse_args()

    from assistant.embed import make_embedder
    from assistant.retrieve.profile import FusionConfig, load_profile
    from assistant.settings import BUNDLED_MODEL

    embedder = Remember(make_embedder(BUNDLED_MODEL, args.backend, 32, None), ("embed",))
    sets = {s.name: s for s in question_sets()}
    assistants = {}
    for s in sets.values():
        base = open_index(args.index_dir, s.collection, s.corpus, embedder=embedder, profile="hybrid",
                          embedding_backend=args.backend)
        base.store = SentenceCache(Remember(base.store, ("query", "get_chunks")))
        base.bm25 = Remember(base.bm25, ("search", "search_sentences"))
        assistants[s.name] = base
    names = list(sets)
    start = FusionConfig(**load_profile(args.start).fusion.model_dump()).model_dump()
    study = Study(assistants, sets)

    chosen, log = study.search(names, start)
    held_out = {}
    for left in names:
        others = [n for n in names if sets[n].group != sets[left].group]  # the same questions left out too
        picked, _ = study.search(others, start)
        held_out[left] = {"chosen": {k: v for k, v in picked.items() if v != start[k]},
                          "metrics": study.metrics(picked, left)}
    floors = {}
    for floor in ("dense", "bm25", "hybrid") + (() if args.start == "hybrid" else (args.start,)):
        fusion = load_profile(floor).fusion.model_dump()
        floors[floor] = {n: study.metrics(fusion, n) for n in names}
    result = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores", "embedder": embedder.identity,
              "questions": {n: len(sets[n].answerable) for n in names},
              "start": args.start, "start_fusion": {k: v for k, v in start.items() if v != FusionConfig().model_dump()[k]},
              "chosen_on_all": {k: v for k, v in chosen.items() if v != start[k]}, "log": log,
              "in_sample": {n: study.metrics(chosen, n) for n in names},
              "held_out": held_out, "floors": floors}
    write(result, args.out)
    print(json.dumps(result, indent=1))


def write(result: dict, path: Path) -> None:
    keys = ("hits@1", "hits@4", "hits@10", "mrr@10", "evidence_recall@10")
    lines = ["# How the default profile was chosen", "",
             "Written by `python -m benchmarks studies fusion` — rerun it, do not edit by hand.", "",
             f"- Date: {result['date']}; machine: {result['machine']}; embedder: {result.get('embedder', 'all-MiniLM-L6-v2/torch')}",
             "- Answerable questions: " + ", ".join(f"{n} {c}" for n, c in result["questions"].items()),
             f"- Criterion per set: mean of {', '.join(CRITERION)}; a stage is kept when it raises the mean over "
             f"the sets and lowers no set by more than {MAX_LOSS} (against the stage before and against the start), on the criterion nor on any one of its metrics.",
             f"- Search started from the `{result.get('start', 'hybrid')}` profile as it was then: "
             f"`{json.dumps(result.get('start_fusion', {}))}` (fusion settings other than the defaults of a profile file); "
             f"the `{result.get('start', 'hybrid')}` rows below are that profile.", "",
             "## Stages, searched on all sets", "", "| stage | kept | mean before | mean after |", "|---|---|---:|---:|"]
    for row in result["log"]:
        lines.append(f"| {row['stage']} | {json.dumps(row['kept']) if row['kept'] else 'no'} | "
                     f"{row['mean_before']} | {row['mean_after']} |")
    lines += ["", f"Chosen by the rule: `{json.dumps(result['chosen_on_all'])}` (changes to the "
              f"`{result.get('start', 'hybrid')}` profile the search started from). The rule is what a change must "
              "pass, not a reason to make it: whether a choice ships is decided with the rest of the evidence and "
              "shows in `assistant/profiles/default.json` (the README, \"How it works\", says what was shipped or "
              "not, and why).", "",
              "## Out of sample: each set scored with the stages chosen on the other sets", "",
              "| set | chosen without it | " + " | ".join(keys) + " |", "|---|---|" + "---:|" * len(keys)]
    for name, row in result["held_out"].items():
        lines.append(f"| {name} | `{json.dumps(row['chosen'])}` | " + " | ".join(f"{row['metrics'][k]:.4f}" for k in keys) + " |")
    lines += ["", "## Floors and the chosen profile (in-sample), same run", "",
              "| set | configuration | " + " | ".join(keys) + " |", "|---|---|" + "---:|" * len(keys)]
    for name in result["questions"]:
        for floor, per_set in result["floors"].items():
            lines.append(f"| {name} | {floor} | " + " | ".join(f"{per_set[name][k]:.4f}" for k in keys) + " |")
        lines.append(f"| {name} | chosen | " + " | ".join(f"{result['in_sample'][name][k]:.4f}" for k in keys) + " |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.with_suffix(".json").write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
