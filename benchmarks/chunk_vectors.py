"""Chunk vectors from the chunk's own forward pass, or from the mean of its sentence vectors?

    python benchmarks/chunk_vectors.py                 # writes docs/research/chunk-vectors.md and .json
    python benchmarks/chunk_vectors.py --articles 609  # the whole MultiHop-RAG corpus

An ingest embeds every chunk (a 256-piece window under its title) and then every distinct sentence
on its own (the sentence vectors that retrieval and extractive answers read). The two passes cost
about the same. ``sentence-mean`` drops the chunk pass: a chunk's vector is the normalised mean of
its title's vector and its sentences' vectors, so no token is embedded twice.

Each variant ingests the first ``--articles`` MultiHop-RAG articles (and corpus/) into a fresh
collection with the default backend for a new index (onnx-int8). Retrieval (benchmarks/retrieval.py)
on the answerable questions whose evidence is all in those articles, with the default profile and
the dense floor (dense alone shows what the chunk vectors are worth), per set and the mean.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from question_sets import ROOT, machine, question_sets
from retrieval import KEYS, retrieval
from sentence_vectors import build, covered, first_articles

VARIANTS = ("model", "sentence-mean")
PROFILES = ("default", "dense")
CRITERION = ("hits@10", "mrr@10", "evidence_recall@10")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=200, help="First N MultiHop-RAG articles (609: all).")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS))
    parser.add_argument("--index-dir", type=Path, default=ROOT / ".bench" / "chunk-vectors")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "research" / "chunk-vectors.md")
    parser.add_argument("--note", default="", help="What else ran on the machine, for the doc.")
    args = parser.parse_args()

    from assistant import Settings, build_assistant
    from assistant.embed import NEW_INDEX_BACKEND, make_embedder
    from assistant.settings import BUNDLED_MODEL

    embedder = make_embedder(BUNDLED_MODEL, NEW_INDEX_BACKEND, 32, None)
    embedder.embed(["warm up"])
    scratch = Path(tempfile.mkdtemp(prefix="chunk-vectors-"))
    corpus = first_articles(args.articles, scratch)
    records = json.loads(corpus.read_text(encoding="utf-8"))
    titles, urls = {r["title"].strip() for r in records}, {r["url"] for r in records if r.get("url")}
    sets = question_sets()
    result = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
              "articles": args.articles, "note": args.note, "embedder": embedder.identity, "variants": {}}
    for variant in args.variants:
        folder = args.index_dir / variant
        shutil.rmtree(folder, ignore_errors=True)  # every ingest starts from nothing
        row = result["variants"][variant] = {"ingest": {}, "sets": {}}
        for collection, source in {qs.collection: (corpus if qs.collection == "multihop" else qs.corpus)
                                   for qs in sets}.items():
            row["ingest"][collection] = build(variant, folder, collection, source, embedder, option="chunk_vectors")[1]
            print(variant, collection, row["ingest"][collection], flush=True)
        for profile in PROFILES:
            for qs in sets:
                keep = (lambda q: covered(q, titles, urls)) if qs.collection == "multihop" else (lambda q: True)
                answerable = [q for q in qs.answerable if keep(q)]
                assistant = build_assistant(Settings(data_dir=folder, collection=qs.collection, profile=profile),
                                            embedder=embedder)
                scores = retrieval(assistant, answerable)
                scores["questions"] = len(answerable)
                scores["score"] = round(sum(scores[k] for k in CRITERION) / len(CRITERION), 4)
                row["sets"][f"{qs.name}/{profile}"] = scores
                print(variant, qs.name, profile, json.dumps(scores), flush=True)
        args.out.with_suffix(".json").write_text(json.dumps(result, indent=2), encoding="utf-8")  # partial survive
    shutil.rmtree(scratch, ignore_errors=True)
    write(result, args.out)
    print(f"wrote {args.out}")


def write(result: dict, path: Path) -> None:
    variants = result["variants"]
    lines = ["# Chunk vectors: the chunk's own pass or the mean of its sentences", "",
             "Written by `python benchmarks/chunk_vectors.py` — rerun it, do not edit by hand.", "",
             f"- Date: {result['date']}", f"- Machine: {result['machine']}" + (f"; {result['note']}" if result['note'] else ""),
             f"- Index: the first {result['articles']} MultiHop-RAG articles (multihop and users: the answerable "
             f"questions whose evidence is all among them) and corpus/ (bundled); embedder {result['embedder']}.",
             "- Variants: `model` = each chunk embedded under its title (a pass of its own), then each distinct "
             "sentence; `sentence-mean` = each distinct sentence and each title embedded once, a chunk's vector "
             "the normalised mean of its title's and its sentences' vectors.", "",
             "## Ingest (MultiHop-RAG articles)", "",
             "| variant | chunks | seconds | chunks/s | stages |", "|---|---:|---:|---:|---|"]
    for name, row in variants.items():
        i = row["ingest"].get("multihop", {})
        stages = ", ".join(f"{k} {v}" for k, v in i.get("stages", {}).items())
        lines.append(f"| {name} | {i.get('chunks')} | {i.get('seconds')} | {i.get('chunks_per_second')} | {stages} |")
    lines += ["", "## Retrieval", "", "score = mean of hits@10, mrr@10 and evidence_recall@10.", "",
              "| set / profile | variant | questions | " + " | ".join(KEYS) + " | score | retrieve p50 ms |",
              "|---|---|---:|" + "---:|" * (len(KEYS) + 2)]
    keys = sorted({k for row in variants.values() for k in row["sets"]}, key=lambda k: (k.split("/")[1], k))
    for key in keys:
        for name, row in variants.items():
            s = row["sets"].get(key)
            if s:
                lines.append(f"| {key} | {name} | {s['questions']} | " + " | ".join(f"{s[k]:.4f}" for k in KEYS)
                             + f" | {s['score']:.4f} | {s['retrieve_ms']['p50']} |")
    if "model" in variants:
        lines += ["", "## Against `model`", "", "| variant | " + " | ".join(f"Δ score {k}" for k in keys) + " |",
                  "|---|" + "---:|" * len(keys)]
        base = variants["model"]["sets"]
        for name, row in variants.items():
            if name != "model":
                lines.append(f"| {name} | " + " | ".join(
                    f"{row['sets'][k]['score'] - base[k]['score']:+.4f}" if k in row["sets"] and k in base else ""
                    for k in keys) + " |")
                shipped = [k for k in keys if k.endswith("/default") and k in row["sets"] and k in base]
                deltas = [row["sets"][k]["score"] - base[k]["score"] for k in shipped]
                if deltas:
                    kept = sum(deltas) / len(deltas) > 0 and min(deltas) >= -0.01
                    lines += ["", f"`{name}` with the default profile: mean Δ score {sum(deltas) / len(deltas):+.4f}, "
                              f"worst set {min(deltas):+.4f}. The team's rule (the mean over the sets up, no set "
                              f"down by more than 0.01): **{'passes' if kept else 'fails'}**."
                              + ("" if kept else f" Chunk vectors stay `model` (a chunk's own forward pass); "
                                 f"`{name}` ingests {_speedup(variants, name)} faster but is kept only as "
                                 "`Indexer.chunk_vectors` for this benchmark.")]
    lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def _speedup(variants: dict, name: str) -> str:
    base, other = variants["model"]["ingest"].get("multihop", {}), variants[name]["ingest"].get("multihop", {})
    if not base.get("seconds") or not other.get("seconds"):
        return "(not measured)"
    return f"{base['seconds'] / other['seconds']:.2f}x"


if __name__ == "__main__":
    main()
