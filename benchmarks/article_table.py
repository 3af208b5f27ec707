"""What listing and counting the indexed articles cost: the article table against a scan of every chunk.

    .venv/bin/python benchmarks/article_table.py [--articles 200] [--repeat 5]

Indexes the first ``--articles`` articles of the MultiHop-RAG corpus (``../shared/data/multihop-rag/
corpus.json`` or ``MULTIHOP_RAG_DIR``; read from there, written only to a temporary directory) into
embedded Chroma with the project's own ingest path, then times (median of ``--repeat`` runs):

* ``Assistant.articles()``: what the article lists, ``_why_nothing``, the catalog of outlets and
  ``/api/articles`` read;
* ``SharedAssistant.counts()``: ``/api/health``;
* ``QuoteFinder.articles()`` with a fresh finder (its cache empty): every article body;
* ``ChunkStore.article_record(id)`` (when it exists): one article looked up by id;
* ``ChunkStore.article_records()`` through the chunk scan it falls back to (when it exists): the
  old way, measured on the same index.

Chunks are embedded by a hash-seeded stand-in (the bundled model's tokenizer still sizes them):
none of the timed calls reads a vector, and the real model would only make the index slower to
build. Prints a Markdown table; docs/research/speed.md ("## Article table") records the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

MULTIHOP = Path(os.environ.get("MULTIHOP_RAG_DIR", ROOT.parent / "shared" / "data" / "multihop-rag"))


class HashEmbedder:
    """Unit vectors seeded by each text's hash; the real model's tokenizer counts tokens."""

    def __init__(self, model):
        self.model, self.name, self.identity = model, model.name, model.identity

    @property
    def max_tokens(self) -> int:
        return self.model.max_tokens

    def count_tokens(self, texts):
        return self.model.count_tokens(texts)

    def embed(self, texts):
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            row = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
            rows.append(row / np.linalg.norm(row))
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), 384)


def timed(call, repeat: int) -> tuple[float, object]:
    """Median milliseconds of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from assistant import Settings, build_assistant
    from assistant.answer.quotes import QuoteFinder
    from assistant.embed.embedders import SentenceTransformerEmbedder
    from assistant.service.shared import SharedAssistant

    records = json.loads((MULTIHOP / "corpus.json").read_text(encoding="utf-8"))[:args.articles]
    with tempfile.TemporaryDirectory(prefix="article-table-") as tmp:
        corpus = Path(tmp) / "corpus.json"
        corpus.write_text(json.dumps(records), encoding="utf-8")
        assistant = build_assistant(Settings(data_dir=Path(tmp) / "data"),
                                    embedder=HashEmbedder(SentenceTransformerEmbedder()))
        started = time.perf_counter()
        report = assistant.ingest([corpus])
        ingest_s = time.perf_counter() - started
        started = time.perf_counter()
        assistant.ingest([corpus])
        again_s = time.perf_counter() - started
        store, shared = assistant.store, SharedAssistant(assistant)
        rows = [("Assistant.articles()", *timed(assistant.articles, args.repeat)),
                ("SharedAssistant.counts()", *timed(shared.counts, args.repeat)),
                ("QuoteFinder.articles() (cold)", *timed(lambda: QuoteFinder(store).articles(), args.repeat))]
        if hasattr(store, "article_record"):
            some = assistant.articles()[len(records) // 2]["id"]
            rows.append(("ChunkStore.article_record(id)", *timed(lambda: store.article_record(some), args.repeat)))
            rows.append(("article rows from a chunk scan (the fallback)",
                         *timed(lambda: store._records_from_chunks(False), args.repeat)))
        print(f"{report.added} articles, {store.count()} chunks; first ingest {ingest_s:.1f}s "
              f"(hash vectors), unchanged re-ingest {again_s:.2f}s; {platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} CPUs, Python {platform.python_version()}\n")
        print("| call | median ms | result |\n| --- | ---: | --- |")
        for name, ms, result in rows:
            shown = f"{len(result)} items" if isinstance(result, list) else repr(result)[:40]
            print(f"| {name} | {ms:.1f} | {shown} |")


if __name__ == "__main__":
    main()
