"""Moving an older index's sentence vectors into the packed layout, timed on the MultiHop index.

    python benchmarks/pack_older_index.py --index-dir .bench-pk --backend openvino-int8

Indexes made before the packed layout keep one record (and one HNSW point) per sentence in
``NAME_sentences``. The server's start and every ingest move them into ``NAME_sentence_sets``, one
record per chunk, without embedding anything (``ChunkStore.pack_sentence_vectors``). This copies
the MultiHop index of ``--index-dir`` (built by benchmarks/retrieval.py) to a temporary folder,
rewrites its sentence vectors in the older layout there, then times
``Indexer.complete_sentence_vectors`` on it, and checks that retrieval gives the same top 10 for
the first ``--questions`` MultiHop-RAG questions before and after. Writes the section "Packing an
older index" of docs/research/speed.md.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from question_sets import ROOT, machine, question_sets, replace_section  # noqa: E402


def write_older_layout(store) -> int:
    """Rewrite ``store``'s packed sentence vectors one record per sentence (the older layout)."""
    chunks = list(store.iter_chunks())
    legacy = store.client.create_collection(f"{store.name}_sentences", embedding_function=None)
    records = 0
    for i in range(0, len(chunks), 500):
        group = chunks[i:i + 500]
        vectors = store.sentence_vectors([c.id for c in group])
        ids, rows, metas = [], [], []
        for chunk in group:
            for k, row in enumerate(vectors.get(chunk.id, [])):
                ids.append(f"{chunk.id}/{k}")
                rows.append(row)
                metas.append({"article_id": chunk.metadata["article_id"], "chunk_id": chunk.id, "k": k})
        for j in range(0, len(ids), 5000):
            legacy.add(ids=ids[j:j + 5000], embeddings=rows[j:j + 5000], metadatas=metas[j:j + 5000])
        records += len(ids)
    store.client.delete_collection(f"{store.name}_sentence_sets")
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, default=ROOT / ".bench")
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "research" / "speed.md")
    args = parser.parse_args()
    from assistant import Settings, build_assistant

    multihop = next((s for s in question_sets(["multihop"])), None)
    if multihop is None or not (args.index_dir / "chroma").is_dir():
        raise SystemExit(f"needs MultiHop-RAG and its index in {args.index_dir} (run benchmarks/retrieval.py first)")
    questions = [q.question for q in multihop.answerable[: args.questions]]
    with tempfile.TemporaryDirectory(prefix="older-index-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(args.index_dir, data)

        def open_assistant():
            return build_assistant(Settings(data_dir=data, collection="multihop", embedding_backend=args.backend))

        first = open_assistant().store
        written = first.packed_sentences  # an index an earlier version wrote is used as it is
        records = write_older_layout(first) if written else first.sentences.count()
        assistant = open_assistant()
        assert not assistant.store.packed_sentences
        before = [[p.chunk_id for p in assistant.retrieve(q, 10)[1]] for q in questions]
        started = time.perf_counter()
        report = assistant.indexer.complete_sentence_vectors()
        seconds = time.perf_counter() - started
        assert assistant.store.packed_sentences and report.sentences_embedded == 0
        after = [[p.chunk_id for p in assistant.retrieve(q, 10)[1]] for q in questions]
    same = sum(b == a for b, a in zip(before, after))
    overlap = sum(len(set(b) & set(a)) for b, a in zip(before, after)) / max(1, sum(len(b) for b in before))
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "## Packing an older index",
        "",
        f"`python benchmarks/pack_older_index.py --index-dir {args.index_dir.name} --backend {args.backend}` — "
        f"{when}, {machine()}.",
        "",
        f"The MultiHop-RAG index ({report.sentences_repacked} chunks with sentence vectors) "
        f"{'rewritten in' if written else 'as an earlier version wrote it, in'} the older "
        f"layout ({records} sentence records, one HNSW point each), then brought to the packed layout the way "
        f"`assistant serve` and `assistant ingest` do it: **{seconds:.1f} s**, nothing embedded. Top 10 of the first "
        f"{len(questions)} MultiHop-RAG questions before and after: {same} identical, "
        f"{overlap:.3f} of the passages shared. " + (
            "(The older layout was written here from the packed int8 rows, so the same vectors come back: this "
            "checks that none is lost or put under another chunk.)" if written else
            "(Its float32 rows are rounded to int8 by packing: cosines within 1e-3, tests/test_sentence_packing.py.)"),
    ]
    replace_section(args.out, lines[0], lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
