"""Ingestion into real Chroma with the real model: idempotency, replacement, pruning, bad input."""

import json

import numpy as np

from conftest import CORPUS


def write_article(folder, name, title, body, **meta):
    front = "".join(f"{k}: {v}\n" for k, v in meta.items())
    path = folder / name
    path.write_text(f"---\ntitle: {title}\n{front}---\n{body}\n", encoding="utf-8")
    return path


def test_second_run_embeds_nothing(make_assistant):
    assistant = make_assistant()
    first = assistant.ingest([CORPUS])
    assert (first.added, first.failed) == (1, 0) and first.chunks_embedded >= 3
    second = assistant.ingest([CORPUS])
    assert (second.added, second.updated, second.unchanged, second.chunks_embedded) == (0, 0, 1, 0)
    assert "nothing embedded" in second.summary()
    assert assistant.store.count() == first.chunks_embedded


def test_changed_article_replaces_its_chunks(make_assistant, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    path = write_article(docs, "a.md", "Harbour news", "The ferry was late on Monday. Passengers waited.",
                         source="Gazette", url="https://example.org/ferry")
    assistant = make_assistant()
    assistant.ingest([docs])
    old_ids = {c.id for c in assistant.store.iter_chunks()}
    write_article(docs, "a.md", "Harbour news", "The zeppelin arrived early on Tuesday.",
                  source="Gazette", url="https://example.org/ferry")
    report = assistant.ingest([docs])
    assert (report.updated, report.added) == (1, 0)
    texts = [c.text for c in assistant.store.iter_chunks()]
    assert texts == ["The zeppelin arrived early on Tuesday."]
    assert {c.id for c in assistant.store.iter_chunks()} == old_ids  # same article id, new content
    assert assistant.search("zeppelin")[0].text.startswith("The zeppelin")
    assert not [p for p in assistant.search("ferry passengers waited") if "ferry" in p.text]


def test_prune_removes_only_with_flag(make_assistant, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    write_article(docs, "a.md", "Alpha", "Alpha story body.")
    gone = write_article(docs, "b.md", "Beta", "Beta story body.")
    assistant = make_assistant()
    assert assistant.ingest([docs]).added == 2
    gone.unlink()
    assert assistant.ingest([docs]).removed == 0
    assert len(assistant.articles()) == 2
    report = assistant.ingest([docs], prune=True)
    assert report.removed == 1
    assert [a["title"] for a in assistant.articles()] == ["Alpha"]
    assert all("Beta" not in p.title for p in assistant.search("Beta story"))


def test_bad_files_are_reported_and_the_rest_indexed(make_assistant, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    write_article(docs, "good.md", "Good one", "A perfectly fine article.")
    (docs / "broken.json").write_text('{"title": "x", "body": ', encoding="utf-8")
    (docs / "records.jsonl").write_text(
        json.dumps({"title": "Line one", "body": "Fine body."}) + "\n" + json.dumps({"title": "No body"}) + "\n",
        encoding="utf-8",
    )
    assistant = make_assistant()
    assistant.ingest([CORPUS])
    report = assistant.ingest([docs])
    assert report.added == 2 and report.failed == 2
    where = sorted(e.where for e in report.errors)
    assert any("broken.json" in w for w in where) and any("records.jsonl:2" in w for w in where)
    titles = {a["title"] for a in assistant.articles()}
    assert {"Good one", "Line one"} <= titles
    assert len(titles) == 3, "the article indexed before the bad batch is still there"


def test_bm25_follows_changes_made_by_another_process(make_assistant, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    write_article(docs, "a.md", "Alpha", "Quokkas are small marsupials.")
    reader = make_assistant()
    writer = make_assistant()
    writer.ingest([docs])
    assert reader.search("quokkas", k=1)[0].title == "Alpha"
    assert "Beta" not in [p.title for p in reader.search("wombats burrows", k=5)]
    write_article(docs, "b.md", "Beta", "Wombats dig burrows.")
    writer.ingest([docs])
    # The same question again: scores kept for it must not outlive the index they came from.
    assert reader.search("wombats burrows", k=1)[0].title == "Beta"
    assert reader.bm25.chunk_scores("wombats burrows").max() > 0


def _sentence_rows(assistant) -> dict[str, int]:
    chunks = list(assistant.store.iter_chunks())
    return {cid: len(m) for cid, m in assistant.store.sentence_vectors([c.id for c in chunks]).items()}


def test_every_sentence_of_every_chunk_gets_its_own_vector(make_assistant, embedder):
    from assistant.text.sentences import split_sentences

    assistant = make_assistant()
    report = assistant.ingest([CORPUS])
    chunks = list(assistant.store.iter_chunks())
    stored = assistant.store.sentence_vectors([c.id for c in chunks])
    assert {cid: len(m) for cid, m in stored.items()} == {c.id: len(split_sentences(c.text)) for c in chunks}
    assert all(c.metadata["sentences"] == len(stored[c.id]) for c in chunks)
    by_record_id = assistant.store.sentence_vectors_of(chunks)  # the fast path retrieval uses
    assert by_record_id.keys() == stored.keys() and all(np.array_equal(by_record_id[k], stored[k]) for k in stored)
    # Overlapping chunks share sentences: each distinct sentence is embedded once.
    assert report.sentences_embedded < sum(len(m) for m in stored.values())
    chunk = max(chunks, key=lambda c: len(split_sentences(c.text)))
    start, end = split_sentences(chunk.text)[2]
    expected = embedder.embed([chunk.text[start:end]])[0]
    # Stored as int8 with a scale per row: within half a quantisation step of the fresh embedding.
    assert np.abs(stored[chunk.id][2] - expected).max() <= np.abs(expected).max() / 254 + 1e-6
    assert float(stored[chunk.id][2] @ expected) / float(np.linalg.norm(stored[chunk.id][2])) > 0.9995


def test_sentence_vectors_follow_changed_and_pruned_articles(make_assistant, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    write_article(docs, "a.md", "Harbour news", "The ferry was late on Monday. Passengers waited. Nobody knew why.",
                  source="Gazette")
    b = write_article(docs, "b.md", "Market news", "Fish prices rose. Traders were pleased.", source="Gazette")
    assistant = make_assistant()
    assistant.ingest([docs])
    assert sorted(_sentence_rows(assistant).values()) == [2, 3]
    write_article(docs, "a.md", "Harbour news", "The zeppelin arrived early on Tuesday.", source="Gazette")
    assistant.ingest([docs])
    assert sorted(_sentence_rows(assistant).values()) == [1, 2]  # the old sentences of a.md are gone
    b.unlink()
    assistant.ingest([docs], prune=True)
    assert list(_sentence_rows(assistant).values()) == [1]
    assert assistant.store.sentences.count() == 1


def test_an_index_without_sentence_vectors_gets_them_without_reembedding_chunks(make_assistant, tmp_path):
    """An index written by an earlier version (chunks only) is completed by the next ingest."""
    from assistant.ingest.readers import read_paths

    assistant = make_assistant()
    article = read_paths([CORPUS]).articles[0]
    chunks = assistant.indexer.chunker.chunk(article, reserved_tokens=16)
    assistant.store.add_article(article, chunks, assistant.indexer.embedder.embed([c.text for c in chunks]))
    assert _sentence_rows(assistant) == {}
    report = assistant.ingest([CORPUS])
    assert (report.unchanged, report.chunks_embedded, report.sentences_backfilled) == (1, 0, 1)
    assert "sentence vectors added to 1 articles indexed earlier" in report.summary()
    assert set(_sentence_rows(assistant)) == {c.id for c in chunks}
    stored = list(assistant.store.iter_chunks())
    assert [c.metadata["sentences"] for c in stored] == [len(m) for m in
                                                         map(assistant.store.sentence_vectors_of(stored).get,
                                                             [c.id for c in stored])]
    again = assistant.ingest([CORPUS])
    assert (again.sentences_backfilled, again.sentences_embedded) == (0, 0)
    assert "nothing embedded" in again.summary()
