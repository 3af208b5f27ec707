"""Ingest and start-up speed, beside a naive baseline measured in the same run.

    python -m benchmarks speed                 # MultiHop-RAG corpus: writes the "Ingest and start-up" section
    python -m benchmarks speed --articles 100  # a quicker look                of docs/research/speed.md (+ speed.json)

1. Ingest of the MultiHop-RAG corpus end to end (``assistant.ingest``: read, group copies, chunk,
   embed chunks, embed sentences, write to Chroma, BM25) into a fresh index, with the seconds per
   stage from the report, and chunks/s — with the default settings (``auto``: openvino-int8 for a new
   index), then again with each backend of ``--also`` (default onnx-fp32), to show what the kernels
   buy. Embedding runs one group ahead of the writes, so stage seconds add up to more than the wall.
2. The naive baseline: sentence-transformers (torch fp32, batch 32) embedding the same chunk texts
   alone, nothing else — what a minimal pipeline pays for its vectors.
3. A cold ``assistant ask`` on the bundled corpus (a new process each time, index already built),
   and ``assistant serve`` on the ingested index until ``/api/health`` answers.

The machine is shared and noisy: compare the ratios of one run, not absolute seconds across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from question_sets import MULTIHOP, ROOT, machine, replace_section  # noqa: E402

SECTION = "## Ingest and start-up"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False", "GRADIO_ANALYTICS_ENABLED": "False"}


def subset(corpus: Path, n: int, folder: Path) -> Path:
    if not n:
        return corpus
    records = json.loads(corpus.read_text(encoding="utf-8"))[:n]
    path = folder / "corpus.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def ingest(data: Path, corpus: Path, **settings) -> dict:
    from assistant import Settings, build_assistant

    assistant = build_assistant(Settings(data_dir=data, **settings))
    assistant.indexer.embedder.embed(["warm up"])  # model load (and a first ONNX export) is not ingest
    started = time.perf_counter()
    report = assistant.ingest([corpus], progress=True)
    wall = time.perf_counter() - started
    texts = [f"{c.metadata.get('title', '')}\n{c.text}" for c in assistant.store.iter_chunks()]
    return {"articles": report.added, "chunks": report.chunks_embedded, "sentences": report.sentences_embedded,
            "seconds": round(wall, 1), "chunks_per_second": round(report.chunks_embedded / wall, 1),
            "stages": {k: round(v, 1) for k, v in report.stages.items()}, "texts": texts,
            "backend": assistant.indexer.embedder.identity.rpartition("/")[2]}


def naive(texts: list[str]) -> dict:
    from sentence_transformers import SentenceTransformer

    from assistant.embed.embedders import resolve_model_path
    from assistant.settings import BUNDLED_MODEL

    model = SentenceTransformer(resolve_model_path(BUNDLED_MODEL), device="cpu")
    model.encode(["warm up"])
    started = time.perf_counter()
    model.encode(texts, batch_size=32, normalize_embeddings=True)
    wall = time.perf_counter() - started
    return {"chunks": len(texts), "seconds": round(wall, 1), "chunks_per_second": round(len(texts) / wall, 1)}


def cold_ask(runs: int = 3) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        env = {**ENV, "ASSISTANT_DATA_DIR": folder}
        subprocess.run([sys.executable, "-m", "assistant", "ingest"], env=env, check=True, capture_output=True)
        seconds = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "assistant", "ask", "What did the expert say about China?"],
                           env=env, check=True, capture_output=True)
            seconds.append(round(time.perf_counter() - started, 2))
    return {"runs": seconds, "median": sorted(seconds)[len(seconds) // 2]}


def server_start(data: Path) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**ENV, "ASSISTANT_DATA_DIR": str(data), "ASSISTANT_FEED_REFRESH_MINUTES": "0"}
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - started < 300:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as response:
                    if response.status == 200:
                        return {"seconds_to_health": round(time.perf_counter() - started, 2)}
            except OSError:
                time.sleep(0.2)
        return {"seconds_to_health": None}
    finally:
        server.terminate()
        server.wait(30)


def write(result: dict, path: Path) -> None:
    i, n, s = result["ingest"], result["naive"], result["start"]
    stages = ", ".join(f"{k} {v} s" for k, v in i["stages"].items())
    others = [(o, ", ".join(f"{k} {v} s" for k, v in o["stages"].items())) for o in result.get("also", [])]
    lines = [SECTION, "",
             f"`python -m benchmarks speed` — {result['date']}, {result['machine']} (load average at start "
             f"{result['load_average']:.2f}; the machine is shared: compare ratios within the run).", "",
             "| | chunks | seconds | chunks/s |", "|---|---:|---:|---:|",
             f"| `assistant ingest` end to end ({i['articles']} articles, {i['backend']}; chunk and "
             f"{i['sentences']} sentence vectors, Chroma, BM25) | {i['chunks']} | {i['seconds']} | "
             f"{i['chunks_per_second']} |",
             *[f"| the same with {o['backend']} | {o['chunks']} | {o['seconds']} | {o['chunks_per_second']} |"
               for o, _ in others],
             f"| naive: sentence-transformers fp32 embedding the same chunks, nothing else | {n['chunks']} | "
             f"{n['seconds']} | {n['chunks_per_second']} |", "",
             f"Ingest ({i['backend']}, the default for a new index) took **{i['seconds'] / n['seconds']:.2f}×** the "
             f"naive pipeline's time. Seconds per stage (embedding runs one group ahead of the writes, so "
             f"they overlap): {stages}.",
             *[f"With {o['backend']}: {o['seconds'] / n['seconds']:.2f}× the naive time; {text}." for o, text in others],
             "",
             f"- Cold `assistant ask` on the bundled corpus (new process, index built): {cold_text(result['cold_ask'])}.",
             f"- `assistant serve` on this index until `/api/health` answers: {s['seconds_to_health']} s.", ""]
    replace_section(path, SECTION, lines)
    path.with_suffix(".json").write_text(json.dumps(result, indent=2), encoding="utf-8")


def cold_text(cold: dict) -> str:
    return f"median {cold['median']} s of {len(cold['runs'])} ({', '.join(map(str, cold['runs']))} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=0, help="Only the first N MultiHop articles (0: all).")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "research" / "speed.md")
    parser.add_argument("--also", nargs="*", default=["onnx-fp32"], help="Backends to ingest with as well.")
    args = parser.parse_args()
    corpus = MULTIHOP / "corpus.json"
    if not corpus.exists():
        sys.exit(f"MultiHop-RAG not found in {MULTIHOP}")
    folder = Path(tempfile.mkdtemp(prefix="speed-"))
    try:
        result = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
                  "load_average": os.getloadavg()[0]}
        source = subset(corpus, args.articles, folder)
        result["ingest"] = ingest(folder / "data", source)
        print("ingest", {k: v for k, v in result["ingest"].items() if k != "texts"}, flush=True)
        result["also"] = []
        for backend in args.also:
            other = ingest(folder / f"data-{backend}", source, embedding_backend=backend)
            other.pop("texts")
            result["also"].append(other)
            print("ingest", other, flush=True)
            shutil.rmtree(folder / f"data-{backend}", ignore_errors=True)
        result["naive"] = naive(result["ingest"].pop("texts"))
        print("naive", result["naive"], flush=True)
        result["cold_ask"] = cold_ask()
        print("cold ask", result["cold_ask"], flush=True)
        result["start"] = server_start(folder / "data")
        print("server start", result["start"], flush=True)
        write(result, args.out)
        print(f"wrote {args.out}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
