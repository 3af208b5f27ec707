"""How the index behaves at ~100,000 chunks, built without embedding anything.

    python -m benchmarks scale                      # x1 and x12 the MultiHop-RAG index (8k and ~100k chunks)
    python -m benchmarks scale --copies 1 3         # quicker

The MultiHop-RAG bench index (benchmarks/question_sets.py builds it under .bench/) is copied
``copies`` times into a fresh index: each article under another id, url and title (a word added),
its chunk texts as they are, its chunk vectors (and, unless --no-sentence-vectors, its sentence
vectors) perturbed by small noise and renormalised, written straight into the store. Then, per size:

- the BM25 build from the whole collection (what a process start does when nothing is saved);
- ``assistant serve`` started on the index until ``/api/health`` answers (BM25 saved: no rebuild);
- retrieval p50/p95 over 100 MultiHop dev questions (default profile, k 10), in process;
- adding 10 new articles with ``assistant ingest`` (embedding, writing, BM25 update included);
- the peak RSS of this process and of the server.

Writes the "Scale" section of docs/research/speed.md and docs/research/scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from question_sets import MULTIHOP, ROOT, machine, open_index, replace_section  # noqa: E402

SECTION = "## Scale"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False", "GRADIO_ANALYTICS_ENABLED": "False"}


def source_articles(assistant) -> list[tuple]:
    """(Article, chunks, chunk vectors, sentence vectors per chunk) of every article of the bench index."""
    from assistant.models import Article, Chunk

    out = []
    for record in assistant.store.article_records(bodies=True):
        stored = sorted(assistant.store.article_chunks(record.article_id), key=lambda c: c.metadata.get("position", 0))
        chunks, vectors = assistant.store.get_with_embeddings([c.id for c in stored])
        sentences = assistant.store.sentence_vectors_of(chunks)
        article = Article(id=record.article_id, title=record.title, body=record.body or "", source=record.source,
                          author=record.author, published_at=record.published_at, url=record.url,
                          category=record.category, origin=f"scale:{record.article_id}")
        parts = [Chunk(id=c.id, article_id=record.article_id, position=int(c.metadata.get("position", i)),
                       text=c.text, start=int(c.metadata.get("start", 0)), end=int(c.metadata.get("end", 0)))
                 for i, c in enumerate(chunks)]
        out.append((article, parts, vectors, [sentences.get(c.id) for c in chunks]))
    return out


def perturbed(matrix: np.ndarray, rng: np.random.Generator, scale: float = 0.01) -> np.ndarray:
    noisy = matrix + rng.normal(0, scale, matrix.shape).astype(np.float32)
    return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)


def fill(target, source: list[tuple], copies: int, sentence_vectors: bool) -> dict:
    from assistant.index.store import check_embedder
    from assistant.models import Chunk

    rng = np.random.default_rng(13)
    started, chunks_written = time.perf_counter(), 0
    check_embedder(target.store, target.indexer.embedder, record=True)  # the copies are the bench index's vectors
    with target.store.session():
        batch: list[tuple] = []
        for copy in range(copies):
            for article, parts, vectors, sentences in source:
                aid = f"{article.id}x{copy}"
                twin = article.model_copy(update={"id": aid, "title": f"{article.title} (copy {copy})",
                                                  "url": f"{article.url or 'https://example.invalid/' + article.id}"
                                                         f"#copy{copy}"})
                chunks = [Chunk(id=f"{aid}:{c.position}", article_id=aid, position=c.position, text=c.text,
                                start=c.start, end=c.end) for c in parts]
                per_chunk = None
                if sentence_vectors and all(s is not None for s in sentences):
                    per_chunk = [perturbed(s, rng) for s in sentences]
                batch.append((twin, chunks, perturbed(vectors, rng), per_chunk))
                chunks_written += len(chunks)
                if len(batch) == 20:  # as an ingest writes a group of new articles
                    target.store.add_articles(batch)
                    batch = []
        target.store.add_articles(batch)
    target.store.bump_revision()
    return {"chunks": chunks_written, "write_seconds": round(time.perf_counter() - started, 1)}


def bm25_build(target) -> dict:
    started = time.perf_counter()
    target.bm25.ensure_fresh()
    return {"bm25_build_seconds": round(time.perf_counter() - started, 1)}


def retrieval_latency(target, questions) -> dict:
    target.retrieve("warm up", 10)
    seconds = []
    for q in questions:
        started = time.perf_counter()
        target.retrieve(q.question, 10, q.filters, as_of=q.as_of)
        seconds.append((time.perf_counter() - started) * 1000)
    seconds.sort()
    return {"retrieve_p50_ms": round(seconds[len(seconds) // 2], 1),
            "retrieve_p95_ms": round(seconds[int(len(seconds) * 0.95) - 1], 1)}


def add_ten(target, source: list[tuple], folder: Path) -> dict:
    records = [{"title": f"{a.title} (new)", "body": a.body, "source": a.source, "published_at": a.published_at,
                "url": f"https://example.invalid/new/{i}"} for i, (a, *_rest) in enumerate(source[:10])]
    path = folder / "ten.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    started = time.perf_counter()
    report = target.ingest([path])
    return {"add_10_articles_seconds": round(time.perf_counter() - started, 1), "add_10_chunks": report.chunks_embedded,
            "add_10_stages": {k: round(v, 2) for k, v in report.stages.items()}}


def server(data: Path, collection: str) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**ENV, "ASSISTANT_DATA_DIR": str(data), "ASSISTANT_COLLECTION": collection,
           "ASSISTANT_FEED_REFRESH_MINUTES": "0"}
    started = time.perf_counter()
    log = data.parent / "serve.log"
    with open(log, "wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--port", str(port)], env=env,
                                   stdout=subprocess.DEVNULL, stderr=sink)
    ready = None
    try:
        while time.perf_counter() - started < 600 and ready is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as response:
                    if response.status == 200:
                        ready = round(time.perf_counter() - started, 2)
            except OSError:
                time.sleep(0.2)
        body = json.dumps({"question": "What did the Federal Reserve decide about interest rates?"}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/ask", body, {"Content-Type": "application/json"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=300):
            first = round(time.perf_counter() - started, 2)
        rss = _rss_mb(process.pid)
    except OSError:
        print("the server failed; the end of its log:\n" + "\n".join(
            log.read_text(encoding="utf-8", errors="replace").splitlines()[-40:]), file=sys.stderr)
        raise
    finally:
        process.terminate()
        process.wait(60)
    started_line = next((line for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
                         if line.startswith("Started in")), None)
    return {"server_ready_seconds": ready, "server_first_answer_seconds": first, "server_rss_mb": rss,
            "server_start_stages": started_line}


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):  # peak resident set
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def write(result: dict, path: Path) -> None:
    rows = result["sizes"]
    keys = [("chunks", "chunks"), ("write_seconds", "write (no embedding) s"), ("bm25_build_seconds", "BM25 build s"),
            ("server_ready_seconds", "server ready s"), ("server_first_answer_seconds", "first answer s"),
            ("retrieve_p50_ms", "retrieve p50 ms"), ("retrieve_p95_ms", "retrieve p95 ms"),
            ("add_10_articles_seconds", "+10 articles s"), ("server_rss_mb", "server peak RSS MB"),
            ("bench_rss_mb", "this process's peak RSS MB"), ("server_start_stages", "`assistant serve` says")]
    lines = [SECTION, "", f"`python -m benchmarks scale` — {result['date']}, {result['machine']} (load average at "
             f"start {result['load_average']:.2f}). Copies of the MultiHop-RAG index written straight into the "
             f"store (sentence vectors: {'copied' if result['sentence_vectors'] else 'not copied'}); see the "
             "script's docstring.", "",
             "| | " + " | ".join(f"×{r['copies']}" for r in rows) + " |", "|---|" + "---:|" * len(rows)]
    for key, label in keys:
        lines.append(f"| {label} | " + " | ".join(str(r.get(key, "")) for r in rows) + " |")
    lines.append("")
    replace_section(path, SECTION, lines)
    path.with_name("scale.json").write_text(json.dumps(result, indent=2), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, nargs="*", default=[1, 12])
    parser.add_argument("--no-sentence-vectors", action="store_true")
    parser.add_argument("--index-dir", type=Path, default=ROOT / ".bench")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "research" / "speed.md")
    args = parser.parse_args()

    from assistant import Settings, build_assistant
    from assistant.evaluation.datasets import load_questions

    bench = open_index(args.index_dir, "multihop", MULTIHOP / "corpus.json")
    source = source_articles(bench)
    questions = [q for q in load_questions(MULTIHOP / "queries-dev.json")[0] if q.answerable][:100]
    result = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
              "load_average": os.getloadavg()[0], "sentence_vectors": not args.no_sentence_vectors, "sizes": []}
    for copies in args.copies:
        folder = Path(tempfile.mkdtemp(prefix="scale-"))
        try:
            target = build_assistant(Settings(data_dir=folder / "data", collection="scale"),
                                     embedder=bench.indexer.embedder)
            row = {"copies": copies, **fill(target, source, copies, not args.no_sentence_vectors)}
            print(row, flush=True)
            row.update(bm25_build(target))
            row.update(retrieval_latency(target, questions))
            print(row, flush=True)
            row.update(server(folder / "data", "scale"))
            row.update(add_ten(target, source, folder))
            row["bench_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
            print(row, flush=True)
            result["sizes"].append(row)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    write(result, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
