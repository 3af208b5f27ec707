"""What keeping BM25 up to date costs: deltas against a rebuild from every chunk.

    .venv/bin/python benchmarks/bm25_updates.py [--articles 200] [--changed 10] [--repeat 3]

Indexes the first ``--articles`` articles of the MultiHop-RAG corpus (``../shared/data/multihop-rag/
corpus.json`` or ``MULTIHOP_RAG_DIR``; read from there, written only to a temporary directory)
without the last ``--changed``, into embedded Chroma with the project's ingest path (chunks are
embedded by the hash-seeded stand-in of benchmarks/article_table.py: BM25 reads no vector), then
times, in wall and CPU seconds:

* a full build from every chunk, with this index and with the one before segments (``git show
  HEAD~:assistant/index/lexical.py`` or ``--old``: two bm25s models, rebuilt on every change);
* adding the ``--changed`` held-back articles: the delta (what ``ensure_fresh`` does after an
  ingest, saving included) against a full build of the same collection;
* deleting ``--changed`` articles, the same two ways;
* a cold start in a new process (open Chroma, then ``ensure_fresh``: load the saved copy), old and new;
* merging the segments into one (what happens when they grow: no tokenising);
* scoring one question (``chunk_scores`` + ``best_sentence_scores`` + ``sentence_overlap``), old and new.

Prints a Markdown table; docs/research/speed.md ("## BM25 updates") records the figures.
"""

from __future__ import annotations

import argparse
import shutil
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

MULTIHOP = Path(os.environ.get("MULTIHOP_RAG_DIR", ROOT.parent / "shared" / "data" / "multihop-rag"))
QUESTIONS = ["Which company did the SEC sue over crypto trading?", "Who won the football match on Sunday?",
             "What did Apple announce about the new iPhone?", "How did the stock market react to inflation data?",
             "What did the judge rule in the Sam Bankman-Fried trial?", "Which team signed the quarterback?",
             "What did OpenAI's board do with Sam Altman?", "How much did Amazon's revenue grow?"]

COLD = """
import sys, time, json, resource
sys.path.insert(0, {root!r})
from pathlib import Path
start = time.perf_counter(); cpu = time.process_time()
from assistant.settings import Settings
from assistant.index.store import ChunkStore, make_client
settings = Settings(data_dir=Path({data!r}))
store = ChunkStore(make_client(settings), settings.collection)
store.revision_state()
opened = time.perf_counter()
sys.path.insert(0, {module_dir!r})
import {module} as lexical
index = lexical.BM25Index(store, Path({folder!r}))
index.ensure_fresh()
ready = time.perf_counter()
index.chunk_scores("first question after a start")
print(json.dumps({{"open_s": opened - start, "load_s": ready - opened, "first_query_s": time.perf_counter() - ready,
                  "cpu_s": time.process_time() - cpu, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "stats": dict(getattr(index, "stats", {{}}))}}))
"""


def clock(call, repeat: int = 1) -> tuple[float, float, object]:
    """Median wall and CPU seconds of ``repeat`` calls, and the last result."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = call()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def old_module(path: str | None, into: Path) -> Path:
    """The lexical.py from before segments, as a module file ``lexical_old.py`` in ``into``."""
    text = Path(path).read_text() if path else subprocess.run(
        ["git", "show", "94273b6:assistant/index/lexical.py"], cwd=ROOT, capture_output=True, text=True,
        check=True).stdout
    (into / "lexical_old.py").write_text(text)
    return into / "lexical_old.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--changed", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--old", help="lexical.py to compare with (default: the last commit before segments)")
    args = parser.parse_args()

    from article_table import HashEmbedder

    from assistant import Settings, build_assistant
    from assistant.embed.embedders import SentenceTransformerEmbedder

    records = json.loads((MULTIHOP / "corpus.json").read_text(encoding="utf-8"))[:args.articles]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bm25-updates-") as tmp:
        tmp = Path(tmp)
        old_path = old_module(args.old, tmp)
        spec = importlib.util.spec_from_file_location("lexical_old", old_path)
        old = importlib.util.module_from_spec(spec)
        sys.modules["lexical_old"] = old  # dataclasses look their module up
        spec.loader.exec_module(old)
        first, held = tmp / "first.json", tmp / "held.json"
        first.write_text(json.dumps(records[:-args.changed]), encoding="utf-8")
        held.write_text(json.dumps(records[-args.changed:]), encoding="utf-8")
        data = tmp / "data"
        assistant = build_assistant(Settings(data_dir=data), embedder=HashEmbedder(SentenceTransformerEmbedder()))
        assistant.ingest([first])
        store, bm25 = assistant.store, assistant.bm25
        old_index = old.BM25Index(store, tmp / "old-bm25")

        def old_full():  # what the index before segments did on every change: build both models, save
            shutil.rmtree(old_index.folder, ignore_errors=True)
            return old_index._rebuild()
        rows.append(("full build, before (two bm25s models, + save)", *clock(old_full, args.repeat)[:2], ""))
        rows.append(("full build, segments (no save)", *clock(bm25.rebuild, args.repeat)[:2], ""))

        assistant.indexer.ingest_paths([held])  # the chunks are written; BM25 not yet told
        chunks = store.count()
        tokenized = bm25.stats["tokenized_chunks"]
        wall, cpu, _ = clock(bm25.ensure_fresh)
        rows.append((f"add {args.changed} articles: delta (+ save)", wall, cpu,
                     f"{bm25.stats['tokenized_chunks'] - tokenized} chunks tokenised"))
        rows.append((f"add {args.changed} articles: full build (before: every change)",
                     *clock(old_full)[:2], f"{chunks} chunks tokenised"))

        gone = [a["id"] for a in assistant.articles()[:args.changed]]
        store.delete_articles(gone)
        store.bump_revision()
        wall, cpu, _ = clock(bm25.ensure_fresh)
        rows.append((f"delete {args.changed} articles: delta (+ save)", wall, cpu,
                     f"{len(bm25.state().segments)} segments, {bm25.stats['merges']} merges"))
        rows.append((f"delete {args.changed} articles: full build (before)", *clock(old_full)[:2], ""))

        state, old_state = bm25.state(), old_index.state()
        from assistant.index import bm25_segments
        rows.append(("merge the segments into one (no tokenising)",
                     *clock(lambda: bm25_segments.merge("m", list(zip(state.segments, state.dead))), args.repeat)[:2],
                     f"{len(state.segments)} segments, {sum(s.n_chunks for s in state.segments)} rows"))
        for label, index in (("before", old_index), ("segments", bm25)):
            def score(index=index, k=[0]):
                k[0] += 1  # a new text each time: no cached scores
                q = f"{QUESTIONS[k[0] % len(QUESTIONS)]} {k[0]}"
                index.chunk_scores(q), index.best_sentence_scores(q), index.sentence_overlap(q)
            wall, cpu, _ = clock(score, 5 * len(QUESTIONS))
            rows.append((f"score one question (3 arrays), {label}", wall, cpu, ""))
        assert len(state.ids) == len(old_state.ids)
        del assistant, store

        for label, module_dir, module, folder in (
                ("before", tmp, "lexical_old", tmp / "old-bm25"),
                ("segments", ROOT, "assistant.index.lexical", bm25.folder)):
            out = subprocess.run([sys.executable, "-c", COLD.format(root=str(ROOT), data=str(data), folder=str(folder),
                                                                    module_dir=str(module_dir), module=module)],
                                 capture_output=True, text=True, cwd=ROOT)
            if out.returncode:
                raise SystemExit(out.stderr[-3000:])
            got = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append((f"cold start in a new process: load, {label}", got["load_s"], None,
                         f"open Chroma {got['open_s']:.2f} s, then first question "
                         f"{got['first_query_s'] * 1000:.0f} ms; process CPU {got['cpu_s']:.2f} s {got['stats'] or ''}"))
        print(f"{len(records)} articles, {chunks} chunks ({args.changed} held back, then added, then {args.changed} "
              f"deleted); {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
              f"Python {platform.python_version()}\n")
        print("| step | wall ms | CPU ms | note |\n| --- | ---: | ---: | --- |")
        for name, wall, cpu, note in rows:
            print(f"| {name} | {wall * 1000:.1f} | {'' if cpu is None else f'{cpu * 1000:.1f}'} | {note} |")


if __name__ == "__main__":
    main()
