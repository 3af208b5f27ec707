"""Train the retrieval reranker on questions with gold facts; writes the bundled model.

    python -m benchmarks reranker                  # MultiHop-RAG dev, index in .bench/: rebuilds the shipped model
    python -m benchmarks reranker --no-write       # cross-validate only
    python -m benchmarks reranker --questions my.jsonl --index-dir .data --model my_model.json
                                                   # your questions on your index

For every answerable question, the retriever's own code builds the candidate pool (fusion of
all routes, top ``rerank_pool``, plus each clause's own best matches) and
:func:`assistant.reranking.features` describes each candidate; a candidate is positive when a
gold fact lies whole in it (the benchmark's hit definition, whitespace removed), so only
questions whose evidence gives verbatim facts are used. Questions are split in two halves,
keeping questions that share a gold fact in the same half (many dev questions are built on the
same evidence): a model trained on one half ranks the other, which gives the cross-validated
figures written to the report. The model written is then trained on all questions.

With ``--questions`` (any format ``assistant eval`` reads), the index in ``--index-dir`` /
``--collection`` is used as it is (build it with ``assistant ingest`` first); pass ``--model``
and point ``ASSISTANT_RERANK_MODEL`` at it, so the bundled model stays as shipped.

Needs scikit-learn (installed with sentence-transformers) for training only; the assistant
applies the exported weights with numpy.
"""

from __future__ import annotations

import argparse
import json
import pickle
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from question_sets import MULTIHOP, ROOT, machine, open_index  # noqa: E402  (the harness's shared registry)

PARAMS = {"C": 1.0, "max_iter": 5000}


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _facts(question) -> list[str]:
    return [e.fact for e in question.evidence if e.fact]


def collect(assistant, questions) -> list[dict]:
    """Features and gold labels of every question's candidate pool (retrieval code of the assistant)."""
    from tqdm import tqdm

    from assistant.rerank.linear import features
    from assistant.retrieve.hybrid import chunk_places

    retriever = assistant.retriever
    out = []
    for q in tqdm(questions, desc="candidate pools", unit="q"):
        found = retriever.fused_candidates(q.question, clauses=True)
        pool = retriever.candidate_pool(found)
        facts = list(dict.fromkeys(_squash(f) for f in _facts(q)))
        texts = [_squash(c.text) for c in pool.chunks]
        masks = np.array([sum(1 << j for j, f in enumerate(facts) if f in t) for t in texts], dtype=np.int64)
        X = features(found.plan, pool, found.vectors, assistant.bm25, retriever.config.date_window_days,
                     retriever.bridge(found.plan, pool))
        out.append({"X": X, "masks": masks, "facts": len(facts), "type": q.type, "places": chunk_places(pool.chunks),
                    "sources": [c.metadata.get("source") for c in pool.chunks], "groups": found.plan.source_groups})
    return out


def ranked(pool: dict, probabilities: np.ndarray, quota: int, penalty: float, k: int = 10) -> np.ndarray:
    """Candidates best first as the retriever returns them: by the reranker's probability, chunks next
    to one ranked above marked down by ``penalty`` (:func:`assistant.retrieval.space_neighbours`), each
    outlet the question names keeping ``quota`` places in the top k (:func:`assistant.retrieval.reserve_outlets`)."""
    from assistant.retrieve.hybrid import logit, reserve_outlets, space_neighbours

    order = space_neighbours(logit(probabilities), pool["places"], penalty, k)
    top = reserve_outlets(order, pool["sources"], pool["groups"], k, quota)
    taken = set(top)
    return np.array(top + [i for i in order if i not in taken], dtype=np.int64)


def halves(questions) -> list[int]:
    """0 or 1 per question; questions linked by a shared gold fact are in the same half."""
    parent = list(range(len(questions)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[str, int] = {}
    for i, q in enumerate(questions):
        for fact in _facts(q):
            j = first_with.setdefault(_squash(fact), i)
            parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(questions)):
        groups.setdefault(root(i), []).append(i)
    half, sizes = [0] * len(questions), [0, 0]
    for members in sorted(groups.values(), key=len, reverse=True):  # biggest groups first, to the smaller half
        side = 0 if sizes[0] <= sizes[1] else 1
        sizes[side] += len(members)
        for i in members:
            half[i] = side
    return half


def metrics(pools: list[dict], orders: list[np.ndarray], k: int = 10) -> dict:
    h1 = h4 = h10 = mrr = recall = 0.0
    for pool, order in zip(pools, orders):
        masks = pool["masks"][order[:k]]
        hits = np.flatnonzero(masks)
        first = int(hits[0]) if len(hits) else None
        h1 += first is not None and first < 1
        h4 += first is not None and first < 4
        h10 += first is not None
        mrr += 1 / (first + 1) if first is not None else 0
        covered = int(np.bitwise_or.reduce(masks)) if len(masks) else 0
        recall += bin(covered).count("1") / max(pool["facts"], 1)
    n = max(len(pools), 1)
    return {"hits@1": h1 / n, "hits@4": h4 / n, "hits@10": h10 / n, "mrr@10": mrr / n, "evidence_recall@10": recall / n}


def fit(pools: list[dict]):
    """A :class:`LinearModel` fitted on the pools' candidates (positive: holds a gold fact)."""
    from sklearn.linear_model import LogisticRegression

    from assistant.rerank.linear import FEATURES, LinearModel

    X = np.vstack([p["X"] for p in pools])
    y = np.concatenate([(p["masks"] > 0).astype(int) for p in pools])
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(**PARAMS).fit((X - mean) / scale, y)
    return LinearModel(list(FEATURES), mean, scale, model.coef_[0], float(model.intercept_[0]))


def by_type(pools, orders) -> dict:
    types = sorted({p["type"] for p in pools})
    return {t: metrics([p for p in pools if p["type"] == t], [o for p, o in zip(pools, orders) if p["type"] == t])
            for t in types}


def write_report(path: Path, result: dict) -> None:
    def row(name, m):
        return f"| {name} | " + " | ".join(f"{m[k]:.3f}" for k in ("hits@1", "hits@4", "hits@10", "mrr@10",
                                                                    "evidence_recall@10")) + " |"

    lines = [
        "# Retrieval reranker", "",
        f"Trained and measured {result['date']} on {result['machine']} by `python -m benchmarks reranker`.", "",
        "The reranker orders the candidates of each question (see `assistant/rerank/linear.py` for the "
        f"features). It is trained on {result['data']}, so its figures on those questions are "
        "measured **two-fold cross-validated**: the questions are split in two halves, questions that share a gold "
        "fact always in the same half (many dev questions are built on the same evidence), and each half is ranked "
        "by a model trained on the other. The model written is trained on all of them (for the bundled model, "
        "the default's figures in [benchmarks.md](benchmarks.md) are therefore on questions it was trained on); "
        "the figures below are the honest estimate for questions it has not seen.", "",
        f"{result['questions']} questions, top 10 chunks; candidates per question: the {result['pool']} best fused "
        f"ones plus each clause's own best matches, {result['candidates'] / max(result['questions'], 1):.0f} on average "
        f"(collecting them: {result['collect_seconds']} s).", "",
        "| ranking | Hits@1 | Hits@4 | Hits@10 | MRR@10 | evidence recall@10 |", "|---|---|---|---|---|---|",
        row("fused order (reranker off)", result["fused"]),
        row("reranked, cross-validated, the reranker's order alone", result["cross_validated_plain"]),
        row("reranked, cross-validated, as the retriever returns it", result["cross_validated"]),
        row("reranked, trained on all (in-sample)", result["in_sample"]),
        "", "The retriever returns the reranker's order with two rules on top: picking the top 10 one at a time, "
        f"each pick lowers the log-odds of the chunks right next to it in its article by "
        f"{result['neighbour_penalty']} (`ASSISTANT_NEIGHBOUR_PENALTY`), and each outlet the question names keeps "
        f"up to {result['outlet_quota']} places in the top 10 (`ASSISTANT_OUTLET_QUOTA`). "
        "The row \"as the retriever returns it\" is what the assistant returns.",
        "", "By question type (cross-validated):", "",
        "| type | Hits@1 | Hits@4 | Hits@10 | MRR@10 | evidence recall@10 |", "|---|---|---|---|---|---|",
        *[row(t, m) for t, m in result["cross_validated_by_type"].items()],
        "", f"Logistic regression on standardised features (scikit-learn, `{json.dumps(PARAMS)}`); "
        f"{result['positives']} positive of {result['candidates']} candidates.", "",
        "Weights of the shipped model (per standard deviation of each feature):", "",
        "| feature | weight |", "|---|---|",
        *[f"| `{name}` | {weight:+.3f} |" for name, weight in result["weights"]], "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def open_own(args):
    """(assistant over the existing index, the answerable questions of --questions, what the data is)."""
    from assistant import Settings, build_assistant
    from assistant.evaluation.datasets import load_questions

    assistant = build_assistant(Settings(data_dir=args.index_dir, collection=args.collection, profile="multihop"))
    if assistant.store.count() == 0:
        raise SystemExit(f"the index in {args.index_dir} (collection {args.collection!r}) is empty; "
                         "build it first with `assistant ingest` (ASSISTANT_DATA_DIR, ASSISTANT_COLLECTION)")
    questions, _ = load_questions(args.questions)
    answerable = [q for q in questions if q.answerable][: args.limit or None]
    return assistant, answerable, f"{args.questions.name} (answerable questions with facts)"


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=MULTIHOP, help="MultiHop-RAG folder (corpus.json, queries-dev.json).")
    parser.add_argument("--index-dir", type=Path, default=ROOT / ".bench")
    parser.add_argument("--limit", type=int, default=0, help="Only the first N answerable questions (0 = all).")


def open_benchmark(args, **settings):
    """(assistant over the MultiHop-RAG index of --index-dir, built on first use; its answerable dev questions)."""
    from assistant.evaluation.datasets import load_questions

    if not (args.data / "corpus.json").exists():
        raise SystemExit(f"MultiHop-RAG not found in {args.data}; pass --data DIR")
    args.index_dir.mkdir(parents=True, exist_ok=True)
    assistant = open_index(args.index_dir, "multihop", args.data / "corpus.json", **settings)
    questions, _ = load_questions(args.data / "queries-dev.json")
    return assistant, [q for q in questions if q.answerable][: args.limit or None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser)
    parser.add_argument("--model", type=Path, default=None, help="Where to write the model (default: bundled).")
    parser.add_argument("--report", type=Path, default=None,
                        help="Markdown report (and .json beside it); default docs/research/reranker.md, or MODEL-report.md.")
    parser.add_argument("--no-write", action="store_true", help="Cross-validate only; write nothing.")
    parser.add_argument("--questions", type=Path, default=None,
                        help="Your own question file (JSONL or MultiHop-RAG shape) instead of MultiHop-RAG dev; "
                             "uses the existing index in --index-dir.")
    parser.add_argument("--collection", default="news", help="Chroma collection of that index (with --questions).")
    parser.add_argument("--cache", type=Path, default=None,
                        help="Pickle of the candidate pools: read when it exists, else written (to try parameters).")
    args = parser.parse_args()

    from assistant.rerank.linear import BUNDLED_MODEL

    if args.questions and not (args.model or args.no_write):
        raise SystemExit("with --questions, pass --model FILE (the bundled model stays as shipped) or --no-write")
    report = args.report or (args.model.with_name(f"{args.model.stem}-report.md") if args.model
                             else ROOT / "docs" / "research" / "reranker.md")
    if args.questions:
        assistant, answerable, data = open_own(args)
    else:
        assistant, answerable = open_benchmark(args, profile="multihop")
        data = "MultiHop-RAG queries-dev.json (answerable questions)"
    answerable = [q for q in answerable if _facts(q)]
    if len(answerable) < 10:
        raise SystemExit(f"only {len(answerable)} answerable questions with verbatim gold facts; "
                         "give each question's evidence a 'fact' copied from the article (see docs/evaluation.md)")
    config = assistant.retriever.config  # the multihop profile's pool and rules
    if args.cache and args.cache.exists():
        pools, collect_seconds = pickle.loads(args.cache.read_bytes())
        from assistant.rerank.linear import FEATURES

        if any("places" not in p or p["X"].shape[1] != len(FEATURES) for p in pools):
            raise SystemExit(f"{args.cache}: candidate pools from another version of the features; "
                             "delete the file (or pass another --cache) to collect them again")
    else:
        started = time.perf_counter()
        pools = collect(assistant, answerable)
        collect_seconds = round(time.perf_counter() - started, 1)
        if args.cache:
            args.cache.write_bytes(pickle.dumps((pools, collect_seconds)))
    fused_orders = [np.arange(len(p["masks"])) for p in pools]

    half = halves(answerable)
    quota, penalty = config.outlet_quota, config.neighbour_penalty
    cv_orders: list[np.ndarray] = [None] * len(pools)  # type: ignore[list-item]
    cv_plain: list[np.ndarray] = [None] * len(pools)  # type: ignore[list-item]
    for fold in (0, 1):
        model = fit([p for i, p in enumerate(pools) if half[i] != fold])
        for i, pool in enumerate(pools):
            if half[i] == fold:
                scores = model.predict(pool["X"])
                cv_orders[i] = ranked(pool, scores, quota, penalty)
                cv_plain[i] = ranked(pool, scores, 0, 0.0)
    final = fit(pools)
    in_sample = [ranked(p, final.predict(p["X"]), quota, penalty) for p in pools]

    result = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(), "data": data,
        "questions": len(pools), "pool": config.rerank_pool, "collect_seconds": collect_seconds,
        "candidates": int(sum(len(p["masks"]) for p in pools)),
        "positives": int(sum((p["masks"] > 0).sum() for p in pools)),
        "fused": metrics(pools, fused_orders), "cross_validated": metrics(pools, cv_orders),
        "cross_validated_plain": metrics(pools, cv_plain), "outlet_quota": quota, "neighbour_penalty": penalty,
        "in_sample": metrics(pools, in_sample), "cross_validated_by_type": by_type(pools, cv_orders),
        "params": PARAMS,
    }
    result["weights"] = sorted(zip(final.features, final.coef.round(4).tolist()), key=lambda nw: -abs(nw[1]))
    for name in ("fused", "cross_validated_plain", "cross_validated", "in_sample"):
        print(f"{name:16} " + "  ".join(f"{k}={v:.4f}" for k, v in result[name].items()), flush=True)
    if args.no_write:
        return
    final.info = {"trained": result["date"], "data": data,
                  "questions": len(pools), "params": PARAMS, "cross_validated": result["cross_validated"]}
    target = args.model or BUNDLED_MODEL
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(final.to_dict(), indent=1), encoding="utf-8")
    report.parent.mkdir(parents=True, exist_ok=True)
    write_report(report, result)
    report.with_suffix(".json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"wrote {target}, {report} and {report.with_suffix('.json')}")


if __name__ == "__main__":
    main()
