"""What the per-sentence vectors buy against what they cost: separate vs pooled vs none.

    python -m benchmarks studies sentence-vectors                  # writes docs/research/sentence-vectors.md and .json
    python -m benchmarks studies sentence-vectors --articles 200 --variants pooled separate

Each variant ingests the first ``--articles`` MultiHop-RAG articles (and corpus/) into a fresh
collection with the default embedder (onnx-fp32) and the default profile:

- ``separate``: every distinct sentence embedded on its own in a second pass (before this study);
- ``pooled``: each sentence's vector mean-pooled from the token states of its chunk's own forward
  pass (``OnnxEmbedder.embed_with_spans``);
- ``none``: no sentence vectors (retrieval's dense-sentence stage finds nothing; extractive answers
  embed their candidate sentences at answer time).

Per variant: ingest seconds per stage and chunks/s; retrieval (benchmarks/retrieval.py) on the
answerable questions whose evidence is all in the ingested articles, per set and the mean over sets;
abstention on a sample; and the mean cosine of pooled to separately embedded sentence vectors.
"""

from __future__ import annotations

import argparse
import sys
import json
import random
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared registry

from question_sets import MULTIHOP, ROOT, machine, question_sets
from retrieval import KEYS, abstention, retrieval

VARIANTS = ("separate", "pooled", "none")
CRITERION = ("hits@10", "mrr@10", "evidence_recall@10")  # the fusion study's per-set score


def first_articles(n: int, folder: Path) -> Path:
    """A JSON file (in ``folder``, outside the repository) of the first ``n`` MultiHop-RAG articles."""
    articles = json.loads((MULTIHOP / "corpus.json").read_text(encoding="utf-8"))
    path = folder / f"multihop-first-{n}.json"
    path.write_text(json.dumps(articles[:n]), encoding="utf-8")
    return path


def covered(question, titles: set[str], urls: set[str]) -> bool:
    """Whether every evidence item of ``question`` names an article among the ingested ones."""
    return all((e.url and e.url in urls) or (e.title and e.title.strip() in titles) for e in question.evidence)


def build(variant: str, index_dir: Path, collection: str, corpus: Path, embedder, option: str = "sentence_vectors"):
    """Ingest ``corpus`` into a fresh collection with the indexer's ``option`` set to ``variant``."""
    from assistant import Settings, build_assistant

    assistant = build_assistant(Settings(data_dir=index_dir, collection=collection), embedder=embedder)
    setattr(assistant.indexer, option, variant)
    started = time.perf_counter()
    report = assistant.ingest([corpus])
    seconds = time.perf_counter() - started
    return assistant, {"articles": report.added, "chunks": report.chunks_embedded,
                       "sentences": report.sentences_embedded, "seconds": round(seconds, 2),
                       "chunks_per_second": round(report.chunks_embedded / seconds, 2),
                       "stages": {k: round(v, 2) for k, v in report.stages.items()}}


def pooled_cosine(embedder, corpus: Path, articles: int = 30) -> dict:
    """Mean cosine of pooled to separately embedded sentence vectors over the chunks of some articles."""
    import numpy as np

    from assistant import Settings
    from assistant.ingest.indexer import embedding_text
    from assistant.ingest.readers import read_paths
    from assistant.text.chunking import SentenceChunker
    from assistant.text.sentences import split_sentences

    limit = embedder.max_tokens - 2  # as the assistant's chunker: [CLS] and [SEP] aside
    chunker = SentenceChunker(embedder.count_tokens, limit, Settings().chunk_overlap_tokens)
    texts, spans = [], []
    for article in read_paths([corpus]).articles[:articles]:
        reserved = embedder.count_tokens([article.title + "\n"])[0] + 2
        for chunk in chunker.chunk(article, reserved_tokens=reserved):
            lead = len(embedding_text(article, ""))
            texts.append(embedding_text(article, chunk.text))
            spans.append([(lead + a, lead + b) for a, b in split_sentences(chunk.text)])
    _, pooled = embedder.embed_with_spans(texts, spans)
    pooled = np.concatenate(pooled)
    alone = embedder.embed([t[a:b] for t, own in zip(texts, spans) for a, b in own])
    found = np.linalg.norm(pooled, axis=1) > 0
    cosines = (pooled[found] * alone[found]).sum(axis=1)
    return {"articles": articles, "sentences": int(found.sum()), "beyond_window": int((~found).sum()),
            "mean": round(float(cosines.mean()), 4), "p10": round(float(np.percentile(cosines, 10)), 4),
            "min": round(float(cosines.min()), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=609, help="First N MultiHop-RAG articles (609: all).")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS))
    parser.add_argument("--index-dir", type=Path, default=ROOT / ".bench" / "sentence-vectors")
    parser.add_argument("--limit", type=int, default=0, help="Only the first N covered answerable questions per set.")
    parser.add_argument("--abstain-sample", type=int, default=100,
                        help="Unanswerable and answerable questions asked per set for the abstention rates.")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "research" / "sentence-vectors.md")
    parser.add_argument("--note", default="", help="What else ran on the machine, for the doc.")
    args = parser.parse_args()

    from assistant.embed import make_embedder
    from assistant.settings import BUNDLED_MODEL

    embedder = make_embedder(BUNDLED_MODEL, "onnx-fp32", 32, None)
    embedder.embed(["warm up"])
    scratch = Path(tempfile.mkdtemp(prefix="sentence-vectors-"))
    corpus = first_articles(args.articles, scratch)
    records = json.loads(corpus.read_text(encoding="utf-8"))
    titles, urls = {r["title"].strip() for r in records}, {r["url"] for r in records if r.get("url")}
    sets = question_sets()
    result = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
              "articles": args.articles, "note": args.note, "embedder": embedder.identity, "profile": "default",
              "cosine": pooled_cosine(embedder, corpus), "variants": {}}
    print("pooled vs separate:", result["cosine"], flush=True)
    for variant in args.variants:
        folder = args.index_dir / variant
        shutil.rmtree(folder, ignore_errors=True)  # every ingest starts from nothing
        row = result["variants"][variant] = {"ingest": {}, "sets": {}}
        assistants = {}
        for qs in sets:
            if qs.collection in assistants:
                continue
            source = corpus if qs.collection == "multihop" else qs.corpus
            assistants[qs.collection], row["ingest"][qs.collection] = build(variant, folder, qs.collection, source,
                                                                            embedder)
            print(variant, qs.collection, row["ingest"][qs.collection], flush=True)
        for qs in sets:
            keep = (lambda q: covered(q, titles, urls)) if qs.collection == "multihop" else (lambda q: True)
            answerable = [q for q in qs.answerable if keep(q)][: args.limit or None]
            unanswerable = qs.unanswerable[: args.abstain_sample]
            sample = random.Random(14).sample(answerable, min(len(answerable), args.abstain_sample))
            assistant = assistants[qs.collection]
            scores = retrieval(assistant, answerable)
            scores.update(abstention(assistant, unanswerable, sample))
            scores["questions"] = len(answerable)
            scores["score"] = round(sum(scores[k] for k in CRITERION) / len(CRITERION), 4)
            row["sets"][qs.name] = scores
            print(variant, qs.name, json.dumps(scores), flush=True)
        row["mean"] = {k: round(sum(s[k] for s in row["sets"].values()) / len(row["sets"]), 4)
                       for k in KEYS + ("score",)}
        result_path = args.out.with_suffix(".json")
        result_path.write_text(json.dumps(result, indent=2), encoding="utf-8")  # partial results survive
    shutil.rmtree(scratch, ignore_errors=True)
    write(result, args.out)
    print(f"wrote {args.out}")


def verdicts(variants: dict) -> list[str]:
    """Each variant against ``separate`` by the team's rule: no set's score lower by more than 0.01,
    the mean over sets held or raised."""
    base = variants.get("separate")
    if not base or "mean" not in base:
        return [""]
    lines = ["", "## Against `separate` (the team's rule: no set lower by more than 0.01, the mean held or raised)",
             "", "| variant | " + " | ".join(f"Δ score {name}" for name in base["sets"]) + " | Δ mean | kept |",
             "|---|" + "---:|" * (len(base["sets"]) + 1) + "---|"]
    passed: list[str] = []
    for name, row in variants.items():
        if name == "separate" or "mean" not in row:
            continue
        deltas = [row["sets"][s]["score"] - base["sets"][s]["score"] for s in base["sets"]]
        mean = row["mean"]["score"] - base["mean"]["score"]
        kept = min(deltas) >= -0.01 and mean >= -0.0005  # "holds": equal to the 4th decimal
        lines.append(f"| {name} | " + " | ".join(f"{d:+.4f}" for d in deltas) + f" | {mean:+.4f} | "
                     f"{'yes' if kept else 'no'} |")
        passed.append(name) if kept else None
    lines += ["", f"Passing the rule: {', '.join(passed)}." if passed else
              "No variant passes the rule: `ASSISTANT_SENTENCE_VECTORS` stays `separate` by default; `pooled` "
              "buys ingest speed at the retrieval cost above, `none` also makes every extractive answer embed its "
              "candidate sentences (ask p50 above)."]
    return lines + [""]


def write(result: dict, path: Path) -> None:
    variants = result["variants"]
    lines = ["# Per-sentence vectors: separate, pooled or none", "",
             "Written by `python -m benchmarks studies sentence-vectors` — rerun it, do not edit by hand.", "",
             f"- Date: {result['date']}", f"- Machine: {result['machine']} (2 shared cores: timings vary by "
             f"about ±30% between runs){'; ' + result['note'] if result.get('note') else ''}; one run per variant",
             f"- Index: the first {result['articles']} MultiHop-RAG articles (multihop and users sets: the "
             "answerable questions whose evidence is all among them) and corpus/ (bundled set); embedder "
             f"{result['embedder']}, profile default.",
             "- Variants: `separate` = each distinct sentence embedded on its own in a second pass; `pooled` = "
             "mean of the token states of the sentence's tokens in its chunk's own forward pass; `none` = no "
             "sentence vectors.", "",
             "## Ingest (MultiHop-RAG articles)", "",
             "| variant | chunks | seconds | chunks/s | embed_chunks s | embed_sentences s | write s | bm25 s | "
             "other stages s |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, row in variants.items():
        ing = row["ingest"].get("multihop")
        if not ing:
            continue
        st = ing["stages"]
        rest = sum(v for k, v in st.items() if k not in ("embed_chunks", "embed_sentences", "write", "bm25"))
        lines.append(f"| {name} | {ing['chunks']} | {ing['seconds']} | {ing['chunks_per_second']} | "
                     f"{st.get('embed_chunks', 0)} | {st.get('embed_sentences', 0)} | {st.get('write', 0)} | "
                     f"{st.get('bm25', 0)} | {round(rest, 2)} |")
    cos = result["cosine"]
    lines += ["", f"Pooled vs separately embedded sentence vectors ({cos['sentences']} sentences of the first "
              f"{cos['articles']} articles): mean cosine {cos['mean']}, 10th percentile {cos['p10']}, min "
              f"{cos['min']}; {cos['beyond_window']} sentences past the model's window (embedded on their own).",
              "", "## Retrieval (default profile) and abstention", "",
              "score = mean of hits@10, mrr@10 and evidence_recall@10 (the fusion study's criterion).", "",
              "| set | variant | questions | " + " | ".join(KEYS) + " | score | declines unanswerable | "
              "declines answerable | retrieve p50 ms | ask p50 ms |", "|---|---|---:|" + "---:|" * (len(KEYS) + 5)]
    names = list(next(iter(variants.values()))["sets"]) if variants else []
    for set_name in names:
        for name, row in variants.items():
            s = row["sets"].get(set_name)
            if s is None:
                continue
            lines.append(f"| {set_name} | {name} | {s['questions']} | " + " | ".join(f"{s[k]:.4f}" for k in KEYS)
                         + f" | {s['score']:.4f} | {s['abstain_rate_unanswerable']} ({s['unanswerable']}) | "
                         f"{s['abstain_rate_answerable']} ({s['answerable_sample']}) | {s['retrieve_ms']['p50']} | "
                         f"{s['ask_ms']['p50']} |")
    for name, row in variants.items():
        if "mean" in row:
            lines.append(f"| mean | {name} | | " + " | ".join(f"{row['mean'][k]:.4f}" for k in KEYS)
                         + f" | {row['mean']['score']:.4f} | | | | |")
    lines += verdicts(variants)
    path.write_text("\n".join(lines), encoding="utf-8")
    path.with_suffix(".json").write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
