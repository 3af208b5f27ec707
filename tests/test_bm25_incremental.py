"""BM25 updated by deltas (assistant/index/lexical.py, bm25_segments.py).

Real embedded Chroma in temp dirs and the bundled model. After adds, an update, a delete and a
prune, the index that was updated scores exactly like one built from every chunk (same ids, same
order, same floats), and the one built from every chunk scores like ``bm25s`` itself. Another
index on the same data dir sees a write by loading the writer's segments (nothing tokenised) or,
when none was saved, by tokenising only the new chunks; a restart loads without rebuilding.

The segments also hold the chunks' vectors: a filtered dense search over them returns exactly what
scoring every stored chunk vector that passes the filter returns, after deltas and merges too.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from test_reliability import OUTLETS, article_id, place, write_stories

from assistant.filters import SearchFilters

QUERIES = ["harbour plan council", "residents parade market", "second pier ferries cables", "mayor million",
           "the of and"]


def queries() -> list[str]:
    return QUERIES + [f"{place(n)} harbour" for n in (1, 2, 4, 9, 12)] + [f"What did {place(3)} approve in version 2?"]


def assert_same(bm25, state, reference) -> None:
    """``state`` (updated by deltas) answers exactly as ``reference`` (built from every chunk)."""
    assert state.ids == reference.ids and state.metas == reference.metas
    for query in queries():
        for kind in ("search", "search_sentences"):
            with bm25.pinned(state):
                got = getattr(bm25, kind)(query, 50)
            with bm25.pinned(reference):
                want = getattr(bm25, kind)(query, 50)
            assert [cid for cid, _ in got] == [cid for cid, _ in want], (kind, query)
            np.testing.assert_allclose([s for _, s in got], [s for _, s in want], rtol=1e-6)
        for kind in ("chunk_scores", "best_sentence_scores", "sentence_overlap"):
            with bm25.pinned(state):
                got = getattr(bm25, kind)(query)
                rows = bm25.rows(reference.ids)
            with bm25.pinned(reference):
                want = getattr(bm25, kind)(query)
            np.testing.assert_allclose(got[rows], want, rtol=1e-6, err_msg=f"{kind} {query}")


FILTERS = [SearchFilters(sources=[OUTLETS[0]]), SearchFilters(sources=OUTLETS[1:]),
           SearchFilters(since="2024-01-01", until="2024-12-31"),  # every chunk passes
           SearchFilters(since="2025-01-01")]  # none passes


def exact_dense(store, vector, n: int, filters: SearchFilters) -> list[tuple[str, float]]:
    """The ground truth: every chunk vector Chroma holds that passes ``filters``, scored, best first."""
    chunks = [c for c in store.iter_chunks(embeddings=True) if filters.matches(c.metadata)]
    sims = [float(np.dot(np.asarray(c.embedding, dtype=np.float32), vector)) for c in chunks]
    return sorted(zip([c.id for c in chunks], sims), key=lambda pair: (-pair[1], pair[0]))[:n]


def assert_dense_exact(bm25, state, embedder) -> None:
    """Filtered dense search over the state's vectors equals scoring every stored vector."""
    vectors = embedder.embed(queries()[:6])
    for vector in vectors:
        for filters in FILTERS:
            with bm25.pinned(state):
                got = bm25.dense_search(vector, 7, filters)
            want = exact_dense(bm25.store, vector, 7, filters)
            assert [cid for cid, _ in got] == [cid for cid, _ in want], filters
            np.testing.assert_allclose([s for _, s in got], [s for _, s in want], rtol=1e-5, atol=1e-6)
            assert all(filters.matches(m) for cid, m in zip(state.ids, state.metas) if cid in dict(got))


def assert_like_bm25s(bm25, state) -> None:
    """The scores of a state built from every chunk are bm25s's own (lucene, k1 1.2, b 0.75)."""
    import bm25s

    from assistant.index.lexical import _sentences, lexical_text
    from assistant.index.store import StoredChunk

    chunks = [StoredChunk(cid, bm25.store.get_chunks([cid])[0].text, m) for cid, m in zip(state.ids, state.metas)]
    model = bm25s.BM25(k1=1.2, b=0.75)
    model.index(bm25._tokenize([lexical_text(m["title"], m["source"], c.text) for c, m in zip(chunks, state.metas)]),
                show_progress=False)
    order = sorted(range(len(chunks)), key=lambda i: (chunks[i].metadata["article_id"], chunks[i].metadata["position"]))
    texts, holders = _sentences([chunks[i] for i in order])
    sentences = bm25s.BM25(k1=1.2, b=0.75)
    sentences.index(bm25._tokenize(texts), show_progress=False)
    for query in queries():
        tokens = bm25._tokenize([query])[0]
        with bm25.pinned(state):
            got, got_best = bm25.chunk_scores(query), bm25.best_sentence_scores(query)
        want = model.get_scores(tokens) if tokens else np.zeros(len(chunks))
        np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=query)
        per_sentence = sentences.get_scores(tokens) if tokens else np.zeros(len(texts))
        best = np.zeros(len(chunks), dtype=np.float32)
        for s, held_by in enumerate(holders):
            for k in held_by:
                best[order[k]] = max(best[order[k]], per_sentence[s])
        np.testing.assert_allclose(got_best, best, rtol=1e-6, err_msg=query)


def test_adds_update_delete_and_prune_equal_a_rebuild(make_assistant, tmp_path):
    folder = tmp_path / "stories"
    write_stories(folder, range(6), sentences=12)
    write_stories(folder, range(6, 10), sentences=4)
    assistant = make_assistant()
    bm25 = assistant.bm25
    assistant.ingest([folder])
    assert bm25.stats["full_builds"] == 1 and bm25.stats["deltas"] == 0
    assert len(bm25.state().ids) > 10, "several chunks per long story"
    assert_like_bm25s(bm25, bm25.rebuild())

    steps = []
    write_stories(folder, range(10, 14), sentences=12)  # adds
    steps.append(lambda: assistant.ingest([folder]))
    write_stories_v2 = (lambda: write_stories(folder, [3], version=2, sentences=14))  # an update
    steps.append(lambda: (write_stories_v2(), assistant.ingest([folder])))
    steps.append(lambda: assistant.delete_article(article_id(4)))  # a delete
    def prune():
        for n in (1, 4, 12):  # 4: deleted above, so not written again
            (folder / f"story_{n:03d}.json").unlink()
        assistant.ingest([folder], prune=True)
    steps.append(prune)
    for step in steps:
        before = bm25.stats["tokenized_chunks"]
        step()
        state = bm25.state()
        assert state.settled and bm25.stats["full_builds"] == 1, "updated by a delta, not rebuilt"
        new_chunks = bm25.stats["tokenized_chunks"] - before
        assert new_chunks <= 3 * 6, f"only the changed articles' chunks are tokenised ({new_chunks})"
        reference = bm25.rebuild()
        assert sorted(state.ids) == sorted(c.id for c in assistant.store.iter_chunks())
        assert_same(bm25, state, reference)
        assert_dense_exact(bm25, state, assistant.indexer.embedder)
    assert bm25.stats["deltas"] == len(steps)
    assert_like_bm25s(bm25, bm25.state())
    assert article_id(4) not in {m["article_id"] for m in bm25.state().metas}
    with bm25.pinned():
        assert bm25.search(place(1), 5) == [] and bm25.search(place(12), 5) == []
        assert bm25.search(f"{place(13)} harbour", 1)[0][0].startswith(article_id(13))


def test_merges_keep_scores_exact(make_assistant, tmp_path, monkeypatch):
    from assistant.index import lexical

    monkeypatch.setattr(lexical, "MAX_SEGMENTS", 2)
    folder = tmp_path / "stories"
    write_stories(folder, range(20), sentences=8)
    assistant = make_assistant()
    bm25 = assistant.bm25
    assistant.ingest([folder])
    for n in range(20, 26):
        write_stories(folder, [n], sentences=8)
        assistant.ingest([folder])
        write_stories(folder, [n - 20], version=3, sentences=8)
        assistant.ingest([folder])
    assert bm25.stats["merges"] >= 2 and bm25.stats["full_builds"] == 1
    assert len(bm25.state().segments) <= 3
    assert_same(bm25, bm25.state(), bm25.rebuild())
    assert_dense_exact(bm25, bm25.state(), assistant.indexer.embedder)


def test_segments_saved_without_vectors_are_built_again(make_assistant, tmp_path):
    """An index whose lexical segments were saved by a version that kept no vectors: the next start
    builds them again (once), and filtered dense search is exact."""
    folder, data = tmp_path / "stories", tmp_path / "data"
    write_stories(folder, range(9), sentences=8)
    make_assistant(data_dir=data).ingest([folder])
    saved = list((data / "bm25").rglob("vectors.npy"))
    assert saved, "segments keep the chunk vectors"
    for path in saved:
        path.unlink()
    again = make_assistant(data_dir=data)
    again.bm25.ensure_fresh()
    assert again.bm25.stats["full_builds"] == 1
    assert_dense_exact(again.bm25, again.bm25.state(), again.indexer.embedder)
    restarted = make_assistant(data_dir=data)
    restarted.bm25.ensure_fresh()
    assert restarted.bm25.stats["full_builds"] == 0 and restarted.bm25.stats["loads"] == 1


def test_another_index_sees_a_write_without_rebuilding_and_a_restart_loads(make_assistant, tmp_path):
    folder, data = tmp_path / "stories", tmp_path / "data"
    write_stories(folder, range(8), sentences=10)
    writer = make_assistant(data_dir=data)
    writer.ingest([folder])
    reader = make_assistant(data_dir=data)
    reader.bm25.ensure_fresh()
    assert reader.bm25.stats["loads"] == 1 and reader.bm25.stats["tokenized_chunks"] == 0, "a start loads"
    assert reader.bm25.stats["full_builds"] == 0

    write_stories(folder, [30], sentences=10)  # the writer saves its new segment: the reader loads it
    writer.ingest([folder])
    reader.bm25.ensure_fresh()
    assert reader.bm25.stats["tokenized_chunks"] == 0 and reader.bm25.stats["full_builds"] == 0
    assert reader.bm25.search(f"{place(30)} harbour", 1)[0][0].startswith(article_id(30))
    assert_same(reader.bm25, reader.bm25.state(), reader.bm25.rebuild())

    manifests = data / "bm25"
    write_stories(folder, [31], sentences=10)  # nothing saved by the writer: the reader applies the delta itself
    writer.ingest([folder])
    for manifest in manifests.rglob("manifests/*.json"):
        manifest.unlink()
    new_chunks = len(writer.store.article_chunks(article_id(31)))
    reader.bm25.ensure_fresh()
    assert reader.bm25.stats["tokenized_chunks"] == new_chunks and reader.bm25.stats["full_builds"] == 0
    assert reader.bm25.stats["deltas"] == 1
    state = reader.bm25.state()
    assert_same(reader.bm25, state, reader.bm25.rebuild())

    restarted = make_assistant(data_dir=data)  # the reader saved that state: a restart loads it whole
    restarted.bm25.ensure_fresh()
    assert restarted.bm25.stats["loads"] == 1 and restarted.bm25.stats["tokenized_chunks"] == 0
    assert restarted.bm25.stats["full_builds"] == 0 and restarted.bm25.stats["deltas"] == 0
    assert_same(restarted.bm25, restarted.bm25.state(), state)


def test_a_start_on_a_stale_copy_applies_a_delta(make_assistant, tmp_path):
    folder, data = tmp_path / "stories", tmp_path / "data"
    write_stories(folder, range(6), sentences=10)
    writer = make_assistant(data_dir=data)
    writer.ingest([folder])
    saved = next((data / "bm25").rglob("manifests"))
    kept = tmp_path / "kept"
    shutil.copytree(saved, kept)
    write_stories(folder, [40, 41], sentences=10)
    write_stories(folder, [2], version=2, sentences=10)
    writer.ingest([folder])
    writer.delete_article(article_id(5))
    shutil.rmtree(saved)  # only the older revision's copy is left (its segments are still there)
    shutil.copytree(kept, saved)
    started = make_assistant(data_dir=data)
    started.bm25.ensure_fresh()
    stats = started.bm25.stats
    changed = sum(len(writer.store.article_chunks(article_id(n))) for n in (40, 41, 2))
    assert stats["loads"] == 1 and stats["deltas"] == 1 and stats["full_builds"] == 0
    assert stats["tokenized_chunks"] == changed
    assert_same(started.bm25, started.bm25.state(), started.bm25.rebuild())


@pytest.mark.parametrize("broken", ["segment", "manifest"])
def test_a_damaged_copy_is_rebuilt(make_assistant, tmp_path, broken):
    folder, data = tmp_path / "stories", tmp_path / "data"
    write_stories(folder, range(4))
    make_assistant(data_dir=data).ingest([folder])
    if broken == "segment":
        for path in (data / "bm25").rglob("segment.json"):
            path.write_text("{")
    else:
        for path in (data / "bm25").rglob("manifests/*.json"):
            path.write_text("[")
    again = make_assistant(data_dir=data)
    again.bm25.ensure_fresh()
    assert again.bm25.stats["full_builds"] == 1
    assert again.bm25.search(f"{place(2)} harbour", 1)[0][0].startswith(article_id(2))
