"""Sentence vectors packed one record per chunk, and indexes that keep the older layout."""

import numpy as np
import pytest

from assistant.index import packing
from conftest import CORPUS


def test_packed_rows_keep_cosines_and_shape():
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(9, 384)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    text = packing.pack(rows)
    back = packing.unpack(text, 9, 384)
    assert back.shape == (9, 384) and back.dtype == np.float32
    cosines = (back * rows).sum(axis=1) / np.linalg.norm(back, axis=1)
    assert cosines.min() > 0.9995
    # A quarter of float32's bytes, plus a scale per row, in base64.
    assert len(text) == 4 * ((9 * (384 + 4) + 2) // 3)
    query = rows[4] + 0.1 * rows[7]
    assert int(np.argmax(back @ query)) == 4


def test_a_zero_row_and_a_wrong_length_are_handled():
    rows = np.zeros((2, 8), dtype=np.float32)
    rows[1, 3] = -0.5
    back = packing.unpack(packing.pack(rows), 2, 8)
    assert np.array_equal(back[0], np.zeros(8)) and back[1, 3] == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="hold 24 bytes, expected 32 for 2 rows of 12"):
        packing.unpack(packing.pack(rows), 2, 8 + 4)
    with pytest.raises(ValueError, match="2-d"):
        packing.pack(np.zeros(8))


def test_a_new_index_keeps_one_sentence_record_per_chunk(make_assistant):
    assistant = make_assistant()
    assistant.ingest([CORPUS])
    store = assistant.store
    chunks = list(store.iter_chunks())
    assert store.packed_sentences
    assert store.sentences.name.endswith("_sentence_sets")
    with_sentences = [c for c in chunks if c.metadata["sentences"] > 0]
    assert store.sentences.count() == len(with_sentences)
    got = store.sentences.get(ids=[with_sentences[0].id], include=["metadatas"])
    assert got["metadatas"][0]["n"] == with_sentences[0].metadata["sentences"]


def test_an_index_made_with_one_record_per_sentence_is_read_and_written_in_that_layout(make_assistant, tmp_path):
    """An index from before the packed layout: its NAME_sentences collection is used as it is."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("---\ntitle: Harbour news\nsource: Gazette\n---\n"
                               "The ferry was late on Monday. Passengers waited for hours.\n", encoding="utf-8")
    first = make_assistant()
    first.store.client.create_collection(f"{first.store.name}_sentences", embedding_function=None)
    assistant = make_assistant()  # opened after the legacy collection exists, as an old index would be
    assert not assistant.store.packed_sentences
    assistant.ingest([docs])
    chunk = next(iter(assistant.store.iter_chunks()))
    rows = assistant.store.sentences.get(include=["metadatas"])
    assert sorted(rows["ids"]) == [f"{chunk.id}/0", f"{chunk.id}/1"]
    vectors = assistant.store.sentence_vectors([chunk.id])[chunk.id]
    assert vectors.shape == (2, 384)
    passages = assistant.retrieve("Why did passengers wait for the ferry?", 3)[1]
    assert passages[0].chunk_id == chunk.id and passages[0].scores["dense_sentence_rank"] == 1
