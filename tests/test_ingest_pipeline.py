"""The ingest pipeline: groups embedded one ahead of the writes, new articles written in batches,
and the writer's view of the index (article states) read from the article table."""

from __future__ import annotations

import pytest

from test_reliability import place, write_stories


class FailingEmbedder:
    """The real embedder, except that embedding call number ``fail_at`` raises (a fault injected
    mid-ingest, after earlier groups were written)."""

    def __init__(self, inner, fail_at: int = 0):
        self.inner, self.fail_at, self.calls, self.texts = inner, fail_at, 0, 0

    def embed(self, texts, *args, **kwargs):
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("embedding device lost")
        self.texts += len(texts)
        return self.inner.embed(texts, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _scan_states(store) -> dict:
    return {aid: (records.content_hash or "", records.sentence_vectors)
            for aid, records in store.scan().items() if records.final}


def test_an_ingest_of_several_groups_indexes_every_article_with_its_sentences(make_assistant, tmp_path, capsys):
    folder = tmp_path / "stories"
    write_stories(folder, range(300), sentences=3)  # one chunk each: three embedding groups of 128
    assistant = make_assistant()
    report = assistant.ingest([folder], progress=True)
    assert (report.added, report.failed, report.chunks_embedded) == (300, 0, 300)
    assert [item["status"] for item in report.items] == ["added"] * 300
    assert assistant.store.article_counts() == (300, 300)
    assert report.sentences_embedded == 900
    assert "300/300 articles" in capsys.readouterr().err  # the bar counts articles besides chunks/s
    town = place(299)  # written in the last group
    passages = assistant.retrieve(f"What did the mayor of {town} say the plan would cost?", 3)[1]
    assert passages[0].article_id == next(r["article_id"] for r in assistant.articles()
                                          if r["title"].startswith(town))
    assert "302 million" in passages[0].text


def test_an_embedding_failure_mid_ingest_keeps_the_groups_written_and_a_rerun_finishes(
        make_assistant, embedder, tmp_path):
    from assistant import Settings, build_assistant

    folder = tmp_path / "stories"
    write_stories(folder, range(300), sentences=3)
    data = tmp_path / "data"
    failing = FailingEmbedder(embedder, fail_at=3)  # group 1: chunks + sentences; group 2's chunks fail
    assistant = build_assistant(Settings(data_dir=data), embedder=failing)
    with pytest.raises(RuntimeError, match="embedding device lost"):
        assistant.ingest([folder])
    articles, chunks = assistant.store.article_counts()
    assert 0 < articles < 300 and chunks == articles, "the first group is written whole, nothing after it"
    assert not assistant.store.interrupted()
    assert set(assistant.store.article_states()) == {r["article_id"] for r in assistant.articles()}

    counting = FailingEmbedder(embedder)
    again = build_assistant(Settings(data_dir=data), embedder=counting)
    report = again.ingest([folder])  # finishes the journaled ingest first, then finds nothing left to do
    assert report.failed == 0 and again.store.article_counts() == (300, 300)
    assert counting.texts == 4 * (300 - articles), "only the articles not written are embedded: a chunk, 3 sentences"
    assert again.store.article_states() == _scan_states(again.store)


def test_article_states_from_the_table_agree_with_a_scan_of_the_chunks(make_assistant, embedder, tmp_path):
    from assistant.ingest.readers import read_paths

    v1, v2 = tmp_path / "v1", tmp_path / "v2"
    write_stories(v1, range(6))
    write_stories(v2, range(4), version=2)
    assistant = make_assistant()
    assistant.ingest([v1])
    store = assistant.store
    assert store.article_table_current()
    assert store.article_states() == _scan_states(store)
    assert all(has for _, has in store.article_states().values())

    assistant.ingest([v2], prune=True)  # 4 changed, 2 pruned
    states = store.article_states()
    assert len(states) == 4 and states == _scan_states(store)

    # An article written without sentence vectors (as by an earlier version) is named by both.
    extra = tmp_path / "extra"
    write_stories(extra, [42])
    article = next(iter(read_paths([extra]).articles))
    chunks = assistant.indexer.chunker.chunk(article)
    store.add_article(article, chunks, embedder.embed([c.text for c in chunks]), None)
    assert store.articles_without_sentence_vectors() == {article.id}
    assert store.article_states()[article.id] == (article.content_hash, False)
    assert store.article_states() == _scan_states(store)
    report = assistant.indexer.complete_sentence_vectors()
    assert report.sentences_backfilled == 1 and store.articles_without_sentence_vectors() == set()
    assert report.unchanged == len(states)  # the four others


def test_sentence_mean_chunk_vectors_are_the_mean_of_title_and_sentences(make_assistant, embedder, tmp_path):
    """The variant docs/research/chunk-vectors.md measured (not the default): one pass over sentences."""
    import numpy as np

    folder = tmp_path / "stories"
    write_stories(folder, range(3), sentences=6)
    assistant = make_assistant()
    assistant.indexer.chunk_vectors = "sentence-mean"
    report = assistant.ingest([folder])
    assert report.added == 3 and report.stages["embed_chunks"] >= 0
    chunk_ids = [c.id for c in assistant.store.iter_chunks()]
    chunks, vectors = assistant.store.get_with_embeddings(chunk_ids)
    sentences = assistant.store.sentence_vectors_of(chunks)
    titles = {r["article_id"]: r["title"] for r in assistant.articles()}
    for chunk, vector in zip(chunks, vectors):
        expected = embedder.embed([titles[chunk.metadata["article_id"]]])[0] + sentences[chunk.id].sum(axis=0)
        expected /= np.linalg.norm(expected)
        assert float(vector @ expected) > 0.9999
        own = embedder.embed([f"{titles[chunk.metadata['article_id']]}\n{chunk.text}"])[0]
        assert float(vector @ own) < 0.9999, "not the chunk's own forward pass"
    town = place(2)
    top = assistant.retrieve(f"How much did the mayor of {town} say the harbour plan would cost?", 1)[1][0]
    assert "5 million" in top.text
