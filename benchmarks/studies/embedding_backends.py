"""Embedding backends compared in one run: PyTorch fp32 (sentence-transformers), ONNX Runtime fp32,
ONNX Runtime int8 (dynamic quantisation) and, when the openvino extra is installed, OpenVINO int8
(static quantisation), all from the bundled all-MiniLM-L6-v2.

Texts: 400 chunk-length pieces (~200 words) of MultiHop-RAG article bodies and 400 of their
sentences. For each set: throughput (texts/s, and CPU seconds per text, which a loaded machine
disturbs less) and its ratio to PyTorch fp32, mean and lowest cosine to the PyTorch vectors, and
the top-10 overlap when the sentences search the chunks. Also: small query batches (a question
and three clauses) on one thread versus all cores. The backends run in turn on slices of each set,
so a change in the machine's load touches them alike.

    python -m benchmarks studies embedding-backends [--chunks 400] [--sentences 400] [--cache DIR] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import importlib.util
import datetime as dt
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

MULTIHOP = Path(os.environ.get("MULTIHOP_RAG_DIR", ROOT.parent / "shared" / "data" / "multihop-rag"))
BACKENDS = ("torch", "onnx-fp32", "onnx-int8") + (
    ("openvino-int8",) if all(importlib.util.find_spec(m) for m in ("openvino", "nncf")) else ())
TORCH_1 = "torch, 1 thread"  # an extra row: how much of the gap is two torch threads fighting for busy cores


class OneTorchThread:
    """The PyTorch embedder with torch limited to one thread during its calls."""

    def __init__(self, inner):
        self.inner = inner

    def embed(self, texts):
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self.inner.embed(texts)
        finally:
            torch.set_num_threads(before)


def load_texts(n_chunks: int, n_sentences: int) -> tuple[list[str], list[str]] | None:
    path = MULTIHOP / "corpus.json"
    if not path.exists():
        return None
    articles = json.loads(path.read_text(encoding="utf-8"))
    pieces, sentences = [], []
    for article in articles:
        words = article["body"].split()
        pieces += [" ".join(words[i:i + 200]) for i in range(0, len(words), 200) if len(words[i:i + 200]) >= 50]
        sentences += [s for s in re.split(r"(?<=[.!?])\s+", article["body"]) if 4 <= len(s.split()) <= 60]
    return spread(pieces, n_chunks), spread(sentences, n_sentences)


def spread(items: list[str], n: int) -> list[str]:
    """``n`` items taken evenly across the list (every article region, not the first few)."""
    if len(items) <= n:
        return items
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def machine() -> str:
    model = ""
    try:
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model or platform.processor() or platform.machine()}, {cores} cores, {platform.system()}"


def versions() -> str:
    import onnx
    import onnxruntime
    import torch

    found = (f"Python {platform.python_version()}, torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, "
             f"onnx {onnx.__version__}")
    if "openvino-int8" in BACKENDS:
        import nncf
        import openvino

        found += f", openvino {openvino.__version__.split('-')[0]}, nncf {nncf.__version__}"
    return found


def build(cache: Path) -> tuple[dict, dict]:
    from assistant.embed import make_embedder
    from assistant.settings import BUNDLED_MODEL

    embedders, setup = {}, {}
    for backend in BACKENDS:
        start = time.perf_counter()
        embedders[backend] = make_embedder(BUNDLED_MODEL, backend, 32, cache)
        embedders[backend].embed(["warm up: load the weights and the tokenizer"])
        setup[backend] = time.perf_counter() - start
    embedders[TORCH_1] = OneTorchThread(embedders["torch"])
    return embedders, setup


def throughput(embedders: dict, texts: list[str], slices: int) -> tuple[dict, dict]:
    """Each backend embeds every slice in turn (rotating who goes first); times and vectors summed up."""
    wall = dict.fromkeys(embedders, 0.0)
    cpu = dict.fromkeys(embedders, 0.0)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in embedders}
    for name in embedders:
        embedders[name].embed(texts[:16])  # warm
    bounds = np.linspace(0, len(texts), slices + 1).astype(int)
    names = list(embedders)
    for k, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        for name in names[k % len(names):] + names[:k % len(names)]:
            w, c = time.perf_counter(), time.process_time()
            parts[name].append(embedders[name].embed(texts[lo:hi]))
            wall[name] += time.perf_counter() - w
            cpu[name] += time.process_time() - c
    vectors = {name: np.vstack(rows) for name, rows in parts.items()}
    ref = vectors["torch"]
    out = {}
    for name in embedders:
        cos = (vectors[name] * ref).sum(axis=1)
        out[name] = {"texts_per_s": len(texts) / wall[name], "cpu_ms_per_text": 1000 * cpu[name] / len(texts),
                     "speed_ratio": wall["torch"] / wall[name], "cpu_ratio": cpu["torch"] / cpu[name],
                     "mean_cosine": float(cos.mean()), "min_cosine": float(cos.min())}
    return out, vectors


def top10_overlap(chunks: dict, sentences: dict, queries: int = 200) -> dict:
    """Sentences as queries over the chunks: share of each backend's top 10 that PyTorch also ranks top 10."""
    ref = np.argsort(-(sentences["torch"][:queries] @ chunks["torch"].T), axis=1)[:, :10]
    out = {}
    for name in chunks:
        got = np.argsort(-(sentences[name][:queries] @ chunks[name].T), axis=1)[:, :10]
        out[name] = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, ref)]))
    return out


def query_batches(cache: Path, torch_embedder, sentences: list[str], n: int = 40) -> dict:
    """Batches of 4 short texts (like a question and its clauses): median wall and CPU ms per batch."""
    from assistant.embed.embedders import OnnxEmbedder, default_threads
    from assistant.settings import BUNDLED_MODEL

    cores = default_threads()
    short = [s for s in sentences if len(s.split()) <= 20] or sentences
    batches = [short[(4 * i) % len(short):(4 * i) % len(short) + 4] for i in range(n)]
    runs = {
        "torch fp32": torch_embedder,
        TORCH_1: OneTorchThread(torch_embedder),
        "onnx-int8, 1 thread (default for small batches)": OnnxEmbedder(BUNDLED_MODEL, "onnx-int8", cache_dir=cache),
        f"onnx-int8, {cores} threads": OnnxEmbedder(BUNDLED_MODEL, "onnx-int8", cache_dir=cache, small_batch_tokens=0),
    }
    if "openvino-int8" in BACKENDS:
        runs["openvino-int8, 1 thread"] = OnnxEmbedder(BUNDLED_MODEL, "openvino-int8", cache_dir=cache)
    timings = {name: ([], []) for name in runs}
    for embedder in runs.values():
        embedder.embed(batches[0])
    for batch in batches:
        for name, embedder in runs.items():
            w, c = time.perf_counter(), time.process_time()
            embedder.embed(batch)
            timings[name][0].append(1000 * (time.perf_counter() - w))
            timings[name][1].append(1000 * (time.process_time() - c))
    return {name: {"wall_ms": statistics.median(w), "cpu_ms": statistics.median(c)} for name, (w, c) in timings.items()}


def report(results: dict) -> str:
    lines = [
        "# Embedding backends",
        "",
        f"Measured {results['date']} on {results['machine']} ({results['versions']}); load average "
        f"{results['load_before']} before, {results['load_after']} after (other work was running: compare the "
        "ratios, which come from the same run with the backends taking turns on slices of the texts).",
        "Generated by `python -m benchmarks studies embedding-backends`.",
        "",
        "Model: the bundled all-MiniLM-L6-v2. `torch`: sentence-transformers on PyTorch (fp32). `onnx-fp32`: "
        "the same network exported with `torch.onnx` (TorchScript exporter, eager attention) and run by ONNX "
        "Runtime. `onnx-int8`: that export with int8 weights per output channel "
        "(`onnxruntime.quantization.quantize_dynamic`, activations quantised at run time). `openvino-int8`: the "
        "fp32 export compiled by OpenVINO after NNCF's static int8 quantisation (weights and activations, ranges "
        "calibrated on the texts of `assistant/embed/calibration.txt`, the transformer recipe). These backends "
        "sort texts by length and batch them under a token budget (32 × 256 padded tokens). "
        f"`{TORCH_1}`: the PyTorch run limited to one thread, shown because on a busy machine torch's threads "
        "can cost more than they gain.",
        "",
        "Choosing: an index records the identity of the embedder that wrote it (`all-MiniLM-L6-v2/openvino-int8`); "
        "`torch` and `onnx-fp32` give the same vectors and may share an index, each int8 backend needs its own "
        "(re-ingest when switching). The exports are made once from the installed weights into the "
        "cache folder (`$XDG_CACHE_HOME/news-assistant/models`, else `~/.cache/news-assistant/models`) and "
        "reused. The default setting, `auto`, runs the backend an index records and `openvino-int8` for a new "
        "index; retrieval measured with each backend on every question set is in docs/research/backend-choice.md.",
        "",
    ]
    for label, key in (("chunks (~200 words)", "chunks"), ("sentences", "sentences")):
        block = results[key]
        lines += [f"## {results['counts'][key]} {label}", "",
                  "| backend | texts/s | × torch | CPU ms/text | × torch (CPU) | mean cosine to torch | lowest |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for name in (*BACKENDS, TORCH_1):
            r = block[name]
            lines.append(f"| {name} | {r['texts_per_s']:.1f} | {r['speed_ratio']:.2f} | {r['cpu_ms_per_text']:.1f} | "
                         f"{r['cpu_ratio']:.2f} | {r['mean_cosine']:.4f} | {r['min_cosine']:.4f} |")
        lines.append("")
    lines += ["## Ranking", "",
              f"Top-10 overlap with PyTorch when {results['overlap_queries']} of the sentences search the "
              f"{results['counts']['chunks']} chunks (share of PyTorch's top 10 also in the backend's top 10):", ""]
    lines += [f"- {name}: {value:.3f}" for name, value in results["top10_overlap"].items() if name != TORCH_1]
    lines += ["", "## Small query batches", "",
              "Median per batch of 4 short texts (a question and three clauses), "
              f"{results['query_batches_n']} batches:", "",
              "| run | wall ms | CPU ms |", "|---|---:|---:|"]
    lines += [f"| {name} | {r['wall_ms']:.1f} | {r['cpu_ms']:.1f} |" for name, r in results["queries"].items()]
    lines += ["", "## Setup", "",
              "Seconds to build each embedder and embed one text, with an empty export cache (the ONNX ones "
              "include exporting, and for int8 quantising, once; later starts load the cached file):", ""]
    lines += [f"- {name}: {seconds:.1f} s" for name, seconds in results["setup_s"].items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=400)
    parser.add_argument("--sentences", type=int, default=400)
    parser.add_argument("--slices", type=int, default=8, help="turns the backends take on each set")
    parser.add_argument("--cache", type=Path, help="export cache (default: a new temporary folder)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "research" / "embedding-backends.md")
    args = parser.parse_args(argv)

    texts = load_texts(args.chunks, args.sentences)
    if texts is None:
        print(f"MultiHop-RAG corpus not found at {MULTIHOP} (set MULTIHOP_RAG_DIR); nothing measured.")
        return 0
    chunks, sentences = texts
    load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="embedding-backends-") as tmp:
        cache = args.cache or Path(tmp)
        embedders, setup = build(cache)
        chunk_results, chunk_vectors = throughput(embedders, chunks, args.slices)
        print("chunks", json.dumps(chunk_results, indent=1))
        sentence_results, sentence_vectors = throughput(embedders, sentences, args.slices)
        print("sentences", json.dumps(sentence_results, indent=1))
        queries = query_batches(cache, embedders["torch"], sentences)
        print("query batches", json.dumps(queries, indent=1))
    overlap_queries = min(200, len(sentences))
    results = {
        "date": dt.date.today().isoformat(), "machine": machine(), "versions": versions(),
        "load_before": load_before, "load_after": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "counts": {"chunks": len(chunks), "sentences": len(sentences)},
        "chunks": chunk_results, "sentences": sentence_results,
        "top10_overlap": top10_overlap(chunk_vectors, sentence_vectors, overlap_queries),
        "overlap_queries": overlap_queries, "queries": queries, "query_batches_n": 40, "setup_s": setup,
    }
    text = report(results)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
