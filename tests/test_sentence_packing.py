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


def as_older_index(store) -> dict[str, np.ndarray]:
    """Turn a packed index into what an earlier version wrote: one record (and HNSW point) per
    sentence in NAME_sentences, id CHUNK/k, and no NAME_sentence_sets. Returns the vectors."""
    ids = [c.id for c in store.iter_chunks()]
    vectors = store.sentence_vectors(ids)
    legacy = store.client.create_collection(f"{store.name}_sentences", embedding_function=None)
    for chunk in store.iter_chunks():
        matrix = vectors[chunk.id]
        legacy.add(ids=[f"{chunk.id}/{k}" for k in range(len(matrix))], embeddings=matrix,
                   metadatas=[{"article_id": chunk.metadata["article_id"], "chunk_id": chunk.id, "k": k}
                              for k in range(len(matrix))])
    store.client.delete_collection(f"{store.name}_sentence_sets")
    return vectors


@pytest.fixture
def older_index(make_assistant, tmp_path):
    """A two-article index in the layout of an earlier version, and the vectors it holds."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("---\ntitle: Harbour news\nsource: Gazette\n---\n"
                               "The ferry was late on Monday. Passengers waited for hours.\n", encoding="utf-8")
    first = make_assistant()
    first.ingest([CORPUS, docs])
    vectors = as_older_index(first.store)
    return docs, vectors


def test_an_older_index_is_read_in_its_own_layout(make_assistant, older_index):
    docs, vectors = older_index
    assistant = make_assistant()  # opened after the change, as an old index would be
    assert not assistant.store.packed_sentences
    ferry = next(c for c in assistant.store.iter_chunks() if "ferry" in c.text)
    assert np.array_equal(assistant.store.sentence_vectors([ferry.id])[ferry.id], vectors[ferry.id])
    passages = assistant.retrieve("Why did passengers wait for the ferry?", 3)[1]
    assert passages[0].chunk_id == ferry.id and passages[0].scores["dense_sentence_rank"] == 1


def test_the_server_start_packs_an_older_index_without_embedding(make_assistant, older_index):
    from assistant.apps.server import prepare_index

    docs, vectors = older_index
    assistant = make_assistant()
    other = make_assistant()  # another process with the index open, as the older layout
    question = "Why did passengers wait for the ferry?"
    before = [(p.chunk_id, p.scores["dense_sentence_rank"]) for p in assistant.retrieve(question, 5)[1]]
    assert not other.store.packed_sentences
    said = []
    prepare_index(assistant, echo=said.append)
    store = assistant.store
    assert store.packed_sentences and store.sentences.name.endswith("_sentence_sets")
    assert f"{store.name}_sentences" not in [c.name for c in store.client.list_collections()]
    assert store.sentences.count() == len(vectors)
    assert said and f"sentence vectors of {len(vectors)} chunks moved to one record per chunk" in said[-1]
    assert "not embedded again" in said[-1]
    for chunk_id, matrix in store.sentence_vectors(list(vectors)).items():
        assert matrix.shape == vectors[chunk_id].shape
        assert np.abs(matrix - vectors[chunk_id]).max() < 0.01  # int8 rows: half a step of their scale
    assert [(p.chunk_id, p.scores["dense_sentence_rank"]) for p in assistant.retrieve(question, 5)[1]] == before
    # The other one reads the packed layout from its next question on.
    assert [(p.chunk_id, p.scores["dense_sentence_rank"]) for p in other.retrieve(question, 5)[1]] == before
    assert other.store.packed_sentences
    again = assistant.indexer.complete_sentence_vectors()
    assert (again.sentences_repacked, again.sentences_embedded) == (0, 0)


def test_an_ingest_into_an_older_index_packs_it_first(make_assistant, older_index, tmp_path):
    docs, vectors = older_index
    assistant = make_assistant()
    (docs / "b.md").write_text("---\ntitle: Market day\nsource: Gazette\n---\n"
                               "Farmers sold apples in the square. Prices rose.\n", encoding="utf-8")
    report = assistant.ingest([CORPUS, docs])
    assert (report.added, report.sentences_repacked) == (1, len(vectors))
    assert report.as_dict()["sentences_repacked"] == len(vectors)
    store = assistant.store
    assert store.packed_sentences
    apples = next(c for c in store.iter_chunks() if "apples" in c.text)
    assert store.sentences.get(ids=[apples.id], include=["metadatas"])["metadatas"][0]["n"] == 2
    assert store.sentences.count() == len(vectors) + 1


def test_a_crash_while_packing_leaves_the_older_layout_working(make_assistant, older_index, tmp_path):
    import os
    import subprocess
    import sys

    make_assistant()  # the data directory of the fixture
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False", ASSISTANT_DATA_DIR=str(data),
               ASSISTANT_TEST_CRASH_AT="packed")
    script = ("from assistant import Settings, build_assistant\n"
              "build_assistant(Settings()).indexer.complete_sentence_vectors()\n")
    ended = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert ended.returncode == -9, ended.stderr[-2000:]  # killed at the step, like kill -9
    docs, vectors = older_index
    assistant = make_assistant()
    assert not assistant.store.packed_sentences  # the switch had not happened
    ferry = next(c for c in assistant.store.iter_chunks() if "ferry" in c.text)
    assert assistant.retrieve("Why did passengers wait for the ferry?", 3)[1][0].chunk_id == ferry.id
    report = assistant.indexer.complete_sentence_vectors()
    assert report.sentences_repacked == len(vectors) and assistant.store.packed_sentences
    assert assistant.store.sentences.count() == len(vectors)
