"""What the answers are worth on every question set and on its negative twin: the `assistant eval`
answer metrics and confidence rates, per set and as a mean over the sets, for several profiles in one run.

    python benchmarks/answers.py --index-dir .bench-pk --backend openvino-int8   # docs/answers-by-set.md (+ .json)
    python benchmarks/answers.py --profiles default my-profile.json --sets users --limit 50   # a quick look

Every question of each set (benchmarks/question_sets.py) is answered as ``ask`` answers it and scored
by the same functions as `assistant eval` (assistant.evaluation.runner): citation precision and
recall against the gold facts, whether the expected short answer appears in the answer
(``answer_contains``), and the confidence of each answer ("high", "low": closest passages with a
caveat, "none": declined) for answerable and unanswerable questions.

**The negative twin** of a set: each answerable question asked again over the index *without its
gold articles* — the articles its evidence comes from (by url, title or id, and any article whose
retrieved passage holds a gold fact) are left out of the retrieved passages and the next ones
take their places, so the question keeps its related coverage but loses its answer. A twin
question is unanswerable; answering it with "high" confidence is a confident answer to what the
articles do not say. (A story told in the same words by another, non-gold article stays: such a
twin question may still be answerable.) The twins are built here, from the sets, not stored.

Retrieval is the same for every answerer, so each question's passages (for the set and for the
twin) are retrieved once per profile and kept in ``--cache`` (a pickle per set and profile under
the index dir); ``--fresh`` retrieves again. ``--signals FILE`` writes each answer's confidence
signals and outcome (one JSON object a line) for benchmarks/confidence_fit.py. The mean weighs
each question file once (a set asking the same questions over another index is averaged with it
first).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import time
from datetime import datetime, timezone
from pathlib import Path

from question_sets import ROOT, group_mean, machine, open_index, question_sets

K = 10
TWIN_POOL = 30  # passages retrieved for a twin question, of which the first K not from a gold article are kept
KEYS = ("citation_precision", "citation_recall", "answer_contains", "none_answerable", "high_answerable",
        "low_answerable", "high_unanswerable", "high_twin", "low_twin", "none_twin", "answer_p50_ms",
        "answer_p95_ms")
MEAN_KEYS = KEYS[:-2]


def gold_articles(question, passages) -> tuple[set[str], set[str], set[str]]:
    """What identifies the gold articles of ``question``: their urls (without a #fragment), titles
    and ids, the ids including every retrieved passage's article that holds a gold fact."""
    from assistant.evaluation.metrics import normalize_title, squash

    urls = {e.url.split("#")[0] for e in question.evidence if e.url}
    titles = {normalize_title(e.title) for e in question.evidence if e.title}
    ids = {e.article_id for e in question.evidence if e.article_id}
    facts = [squash(e.fact) for e in question.evidence if e.fact and e.fact.strip()]
    for p in passages:
        text = squash(p.text)
        if any(f in text for f in facts):
            ids.add(p.article_id)
    return urls, titles, ids


def without_gold(question, passages, k: int = K) -> list:
    """The first ``k`` of ``passages`` from no gold article of ``question`` (the twin's passages)."""
    from assistant.evaluation.metrics import normalize_title

    urls, titles, ids = gold_articles(question, passages)
    ids |= {p.article_id for p in passages
            if (p.url and p.url.split("#")[0] in urls) or normalize_title(p.title) in titles}
    return [p for p in passages if p.article_id not in ids][:k]


def twin_of(question):
    """The twin question: the same words, unanswerable (its gold articles are not searched)."""
    return question.model_copy(update={"id": f"{question.id}~twin", "answerable": False, "type": "null"})


class Retrievals:
    """Each question's plan and passages for one set and profile, retrieved once and kept on disk."""

    def __init__(self, path: Path, fresh: bool = False):
        self.path = path
        self.data = {} if fresh or not path.exists() else pickle.loads(path.read_bytes())
        self.changed = False

    def get(self, assistant, question, k: int):
        key = hashlib.sha1(f"{question.question}|{question.filters}|{question.as_of}|{k}".encode()).hexdigest()
        if key not in self.data:
            plan, passages = assistant.retrieve(question.question, k, question.filters, as_of=question.as_of)
            self.data[key] = (plan.query, plan.request, passages)
            self.changed = True
            if len(self.data) % 200 == 0:
                self.save()  # a run cut short keeps what it retrieved
        return self.data[key]

    def save(self) -> None:
        if self.changed:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_suffix(".part")
            partial.write_bytes(pickle.dumps(self.data))
            partial.replace(self.path)
            self.changed = False


def retrieval_key(assistant) -> str:
    """What a profile's retrieval depends on (its fusion and reranker), so profiles that differ only
    in answering share their cached retrievals."""
    profile = assistant.profile
    what = json.dumps([profile.fusion.model_dump(), profile.rerank.model_dump() if profile.rerank else None],
                      sort_keys=True)
    return f"{profile.fusion.mode}-{hashlib.sha1(what.encode()).hexdigest()[:10]}"


def answer_with(assistant, question: str, query: str, request, passages):
    """The answer ``ask`` gives from these passages (no passages: declined), timed as ``ask`` times it."""
    from assistant.answer.request import no_answer
    from assistant.models import Answer

    started = time.perf_counter()
    if passages:
        answer = assistant.answerer.answer(query, [p.model_copy() for p in passages], request)
    else:
        answer = Answer(question=question, answer=no_answer("nothing was retrieved"), abstained=True,
                        confidence_reason="nothing was retrieved")
    answer.question = question
    answer.timings_ms["answer"] = round((time.perf_counter() - started) * 1000, 1)
    return answer


def measure(assistant, questions, cache: Retrievals, signals=None, label: dict | None = None) -> dict:
    from assistant.evaluation import metrics as m
    from assistant.evaluation.runner import score, summarize

    results, twins = [], []
    for q in questions:
        query, request, passages = cache.get(assistant, q, K)
        results.append(score(q, answer_with(assistant, q.question, query, request, passages)))
        if q.answerable:
            query, request, pool = cache.get(assistant, q, TWIN_POOL)
            twin = twin_of(q)
            twins.append(score(twin, answer_with(assistant, q.question, query, request, without_gold(q, pool))))
    if signals is not None:
        for r in results + twins:
            trace = r.answer.trace
            signals.write(json.dumps({**(label or {}), "id": r.question.id, "twin": r.question.id.endswith("~twin"),
                                      "answerable": r.question.answerable, "answer_contains": r.answer_contains,
                                      "citation_recall": r.citation_recall, "confidence": r.answer.confidence,
                                      "signals": trace.get("signals")}) + "\n")
    summary = summarize(results)
    rates = summary["answers"]["confidence_rates"]
    twin_rates = summarize(twins)["answers"]["confidence_rates"]["unanswerable"] if twins else {}
    answer_ms = [r.answer.timings_ms["answer"] for r in results + twins]
    row = {k: summary["answers"][k] for k in ("citation_precision", "citation_recall", "answer_contains")}
    row.update(none_answerable=rates["answerable"]["none"], high_answerable=rates["answerable"]["high"],
               low_answerable=rates["answerable"]["low"], high_unanswerable=rates["unanswerable"]["high"],
               high_twin=twin_rates.get("high"), low_twin=twin_rates.get("low"), none_twin=twin_rates.get("none"),
               answer_p50_ms=round(m.percentile(answer_ms, 50), 1), answer_p95_ms=round(m.percentile(answer_ms, 95), 1))
    row["scored_answer_contains"] = summary["scored_answer_contains"]
    row["answerable"], row["unanswerable"], row["twins"] = summary["answerable"], summary["unanswerable"], len(twins)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, default=ROOT / ".bench")
    parser.add_argument("--sets", nargs="*", default=None, help="Only these sets.")
    parser.add_argument("--profiles", nargs="*", default=["default", "dense", "bm25"],
                        help="Profile names or profile files (default: the default and the two floors).")
    parser.add_argument("--limit", type=int, default=0,
                        help="Only the first N answerable and N unanswerable questions of each set.")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "answers-by-set.md")
    parser.add_argument("--backend", default="torch", help="Embedding backend of the index (see benchmarks/retrieval.py).")
    parser.add_argument("--fresh", action="store_true", help="Retrieve again instead of reading the cache.")
    parser.add_argument("--signals", type=Path, default=None, help="Write each answer's confidence signals here.")
    args = parser.parse_args()

    from assistant.embed import make_embedder
    from assistant.settings import BUNDLED_MODEL

    started = time.perf_counter()
    embedder = make_embedder(BUNDLED_MODEL, args.backend, 32, None)
    result = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
              "embedder": embedder.identity, "profiles": args.profiles, "limit": args.limit, "sets": {}, "groups": {}}
    signals = args.signals.open("w", encoding="utf-8") if args.signals else None
    for qs in question_sets(args.sets):
        n = args.limit or None
        questions = qs.answerable[:n] + qs.unanswerable[:n]
        result["groups"][qs.name] = qs.group
        per_set = result["sets"][qs.name] = {"questions": len(questions), "profiles": {}}
        for profile in args.profiles:
            assistant = open_index(args.index_dir, qs.collection, qs.corpus, embedder=embedder, profile=profile,
                                   embedding_backend=args.backend)
            assistant.retrieve("warm up", K)
            cache = Retrievals(args.index_dir / "answers-cache" / f"{qs.name}-{retrieval_key(assistant)}.pickle",
                               args.fresh)
            row = per_set["profiles"][profile] = measure(assistant, questions, cache, signals,
                                                         {"set": qs.name, "group": qs.group, "profile": profile})
            cache.save()
            print(f"{qs.name:15} {profile:10} " + " ".join(f"{k}={row[k]}" for k in KEYS), flush=True)
    if signals:
        signals.close()
    result["means"] = {profile: {k: mean_over_sets(result, profile, k) for k in MEAN_KEYS} for profile in args.profiles}
    result["minutes"] = round((time.perf_counter() - started) / 60, 1)
    write(result, args.out)
    print(json.dumps(result["means"], indent=1))
    print(f"wrote {args.out} in {result['minutes']} min")


def mean_over_sets(result: dict, profile: str, key: str) -> float | None:
    values = {name: s["profiles"][profile][key] for name, s in result["sets"].items()
              if s["profiles"][profile].get(key) is not None}
    return round(group_mean(values, result["groups"]), 4) if values else None


def write(result: dict, path: Path) -> None:
    lines = ["# Answers on every question set and its negative twin", "",
             "Written by `python benchmarks/answers.py` — rerun it, do not edit by hand.", "",
             f"- Date: {result['date']}; the run took {result['minutes']} min",
             f"- Machine: {result['machine']}", f"- Embedder: {result['embedder']}",
             f"- Questions: {'the first ' + str(result['limit']) + ' answerable and unanswerable of each set' if result['limit'] else 'every question of each set'}"
             "; sets as in docs/retrieval.md.",
             "- Every question answered from the passages `ask` retrieves and scored as `assistant eval` scores it "
             "(docs/evaluation.md): citation precision and recall against the gold facts, `answer_contains` (the "
             "expected short answer appears in the answer), and the confidence of the answers: `high` (an answer), "
             "`low` (the closest passages, with a caveat naming what they lack), `none` (declined).",
             "- **Twin**: each answerable question asked again without its gold articles among the passages "
             "(benchmarks/answers.py, `without_gold`): unanswerable, with its related coverage kept.", "",
             "| set | profile | cit. precision | cit. recall | answer contains | answerable: high / low / none | "
             "unanswerable: high | twin: high / low / none | answer p50 / p95 ms |",
             "|---|---|---:|---:|---:|---|---:|---|---:|"]
    for name, per_set in result["sets"].items():
        for profile, row in per_set["profiles"].items():
            lines.append(
                f"| {name} ({row['answerable']} + {row['unanswerable']}; twins {row['twins']}) | {profile} | "
                f"{_fmt(row['citation_precision'])} | {_fmt(row['citation_recall'])} | {_fmt(row['answer_contains'])} "
                f"({row['scored_answer_contains']}) | {_fmt(row['high_answerable'])} / {_fmt(row['low_answerable'])} / "
                f"{_fmt(row['none_answerable'])} | {_fmt(row['high_unanswerable'])} | {_fmt(row['high_twin'])} / "
                f"{_fmt(row['low_twin'])} / {_fmt(row['none_twin'])} | {row['answer_p50_ms']} / {row['answer_p95_ms']} |")
    lines += ["", "Mean over the sets (each question file once):", "",
              "| profile | cit. precision | cit. recall | answer contains | answerable none | answerable high | "
              "unanswerable high | twin high | twin none |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for profile, means in result["means"].items():
        lines.append(f"| {profile} | " + " | ".join(_fmt(means[k]) for k in (
            "citation_precision", "citation_recall", "answer_contains", "none_answerable", "high_answerable",
            "high_unanswerable", "high_twin", "none_twin")) + " |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.with_suffix(".json").write_text(json.dumps(result, indent=2), encoding="utf-8")


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.4f}"


if __name__ == "__main__":
    main()
