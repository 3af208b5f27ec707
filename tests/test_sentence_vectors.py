"""Sentence vectors pooled from the chunk's own forward pass (OnnxEmbedder.embed_with_spans) and
the indexer's three ways of making them: pooled, separate, none."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.ingest.indexer import embedding_text
from assistant.models import Article
from assistant.text.sentences import split_sentences
from conftest import SEED
from assistant.ingest.readers import read_file

BODY = read_file(SEED).articles[0].body  # as indexed: page furniture (a caption, a "Read also" link) left out
QUESTION = "What did the expert say about China?"


def assert_stored(stored, expected):
    """Sentence vectors are stored as int8 with a scale per row: each value within half a step."""
    expected = np.asarray(expected, dtype=np.float32)
    assert stored.shape == expected.shape
    assert (np.abs(stored - expected).max(axis=1) <= np.abs(expected).max(axis=1) / 254 + 1e-6).all()

@pytest.fixture(scope="module")
def onnx():
    """The default backend, exported once per machine (the cache an assistant uses)."""
    from assistant.embed import make_embedder
    from assistant.settings import BUNDLED_MODEL

    return make_embedder(BUNDLED_MODEL, "onnx-fp32", 32, None)


@pytest.fixture(scope="module")
def chunks():
    """Paragraphs of the bundled article under a title, with their sentences' spans in that text."""
    paragraphs = [p for p in BODY.split("\n\n") if len(p) > 200][:8]
    article = Article(title="Kremlin and the expert", body=BODY)
    lead = len(embedding_text(article, ""))
    texts = [embedding_text(article, p) for p in paragraphs]
    spans = [[(lead + a, lead + b) for a, b in split_sentences(p)] for p in paragraphs]
    return texts, spans


def test_pooled_vectors_one_unit_row_per_span(onnx, chunks):
    texts, spans = chunks
    vectors, pooled = onnx.embed_with_spans(texts, spans)
    assert vectors.shape == (len(texts), 384)
    assert [m.shape for m in pooled] == [(len(s), 384) for s in spans]
    assert sum(len(s) for s in spans) > len(texts)  # several sentences per chunk
    norms = np.linalg.norm(np.concatenate(pooled), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)


def test_the_chunk_vectors_are_those_of_embed(onnx, chunks):
    texts, spans = chunks
    vectors, _ = onnx.embed_with_spans(texts, spans)
    np.testing.assert_array_equal(vectors, onnx.embed(texts))


def test_pooled_vectors_are_close_to_but_not_the_separate_ones(onnx, chunks):
    texts, spans = chunks
    _, pooled = onnx.embed_with_spans(texts, spans)
    pooled = np.concatenate(pooled)
    alone = onnx.embed([t[a:b] for t, own in zip(texts, spans) for a, b in own])
    cosines = (pooled * alone).sum(axis=1)
    # Seen on these paragraphs: mean 0.79 (a sentence read in its chunk's context, not on its own).
    assert 0.7 < cosines.mean() < 0.95
    assert cosines.max() < 0.999
    # Each pooled vector is nearest to its own sentence's separate vector far more often than not.
    assert (np.argmax(pooled @ alone.T, axis=1) == np.arange(len(alone))).mean() > 0.8


def test_a_span_past_the_model_window_gets_a_zero_row(onnx):
    text = "Short start. " + "word " * 400 + "The end is cut off."
    start = text.index("The end")
    vectors, pooled = onnx.embed_with_spans([text], [[(0, 12), (start, len(text))]])
    assert np.linalg.norm(pooled[0][0]) == pytest.approx(1.0, abs=1e-5)
    assert not pooled[0][1].any()


def test_no_spans_and_no_texts(onnx):
    vectors, pooled = onnx.embed_with_spans(["Only a chunk."], [[]])
    assert vectors.shape == (1, 384) and pooled[0].shape == (0, 384)
    vectors, pooled = onnx.embed_with_spans([], [])
    assert vectors.shape[0] == 0 and pooled == []


def _assistant(tmp_path, onnx, mode):
    from assistant import Settings, build_assistant

    assistant = build_assistant(Settings(data_dir=tmp_path / mode), embedder=onnx)
    assistant.indexer.sentence_vectors = mode
    return assistant


@pytest.mark.parametrize("mode", ["pooled", "separate", "none"])
def test_an_ingest_answers_with_citations_in_every_mode(tmp_path, onnx, mode):
    from conftest import CORPUS

    assistant = _assistant(tmp_path, onnx, mode)
    report = assistant.ingest([CORPUS])
    assert report.failed == 0 and report.added == 1
    chunks = assistant.store.article_chunks(report.items[0]["article_id"])
    stored = assistant.store.sentence_vectors_of(chunks)
    if mode == "none":
        assert stored == {} and report.sentences_embedded == 0
        assert all(c.metadata["sentences"] == 0 for c in chunks)
    else:
        assert set(stored) == {c.id for c in chunks}
        assert [len(stored[c.id]) for c in chunks] == [len(split_sentences(c.text)) for c in chunks]
        assert report.sentences_embedded == len({(c.metadata["start"] + a) for c in chunks
                                                 for a, _ in split_sentences(c.text)})
    answer = assistant.ask(QUESTION)
    assert not answer.abstained and answer.citations
    assert "Zhelikhovsky" in answer.answer
    for c in answer.citations:
        assert BODY[c.start:c.end] == c.quote
    again = assistant.ingest([CORPUS])  # nothing left to add: no backfill in any mode
    assert (again.chunks_embedded, again.sentences_backfilled, again.sentences_embedded) == (0, 0, 0)


def test_pooled_ingest_stores_the_pooled_vectors_and_skips_the_second_pass(tmp_path, onnx):
    from conftest import CORPUS

    assistant = _assistant(tmp_path, onnx, "pooled")
    calls: list[int] = []
    real = onnx.embed

    class Counting:
        def __getattr__(self, name):
            return getattr(onnx, name)

        def embed(self, texts, progress=False):
            calls.append(len(texts))
            return real(texts)

    assistant.indexer.embedder = Counting()
    report = assistant.ingest([CORPUS])
    assert report.chunks_embedded >= 2 and report.sentences_embedded > report.chunks_embedded
    assert calls == []  # one forward pass per chunk (embed_with_spans), no embed() of sentences
    chunk = assistant.store.article_chunks(report.items[0]["article_id"])[0]
    title = chunk.metadata["title"]
    lead = len(title) + 1
    _, pooled = onnx.embed_with_spans([f"{title}\n{chunk.text}"],
                                      [[(lead + a, lead + b) for a, b in split_sentences(chunk.text)]])
    assert_stored(assistant.store.sentence_vectors_of([chunk])[chunk.id], pooled[0])


def test_an_embedder_without_spans_gets_the_second_pass(make_assistant, embedder):
    assert not hasattr(embedder, "embed_with_spans")  # the torch backend
    from conftest import CORPUS

    assistant = make_assistant(sentence_vectors="pooled")
    assert assistant.indexer.sentence_vectors == "pooled"  # ASSISTANT_SENTENCE_VECTORS reaches the indexer
    report = assistant.ingest([CORPUS])
    chunks = assistant.store.article_chunks(report.items[0]["article_id"])
    stored = assistant.store.sentence_vectors_of(chunks)
    first = chunks[0]
    alone = embedder.embed([first.text[a:b] for a, b in split_sentences(first.text)])
    assert_stored(stored[first.id], alone)


def test_sentences_past_the_window_are_embedded_on_their_own(tmp_path, onnx):
    """A zero row from embed_with_spans (a sentence the model did not see) is filled by a second pass."""
    from conftest import CORPUS

    class Cut:
        def __getattr__(self, name):
            return getattr(onnx, name)

        def embed_with_spans(self, texts, spans):
            vectors, pooled = onnx.embed_with_spans(texts, spans)
            for matrix in pooled:
                matrix[-1:] = 0.0  # as if each chunk's last sentence were past the window
            return vectors, pooled

    assistant = _assistant(tmp_path, onnx, "pooled")
    assistant.indexer.embedder = Cut()
    report = assistant.ingest([CORPUS])
    chunks = assistant.store.article_chunks(report.items[0]["article_id"])
    stored = assistant.store.sentence_vectors_of(chunks)
    for chunk in chunks:
        spans = split_sentences(chunk.text)
        assert_stored(stored[chunk.id][-1:], onnx.embed([chunk.text[slice(*spans[-1])]]))
        np.testing.assert_allclose(np.linalg.norm(stored[chunk.id], axis=1), 1.0, atol=2e-3)


def test_the_setting_defaults_to_separate_and_names_a_bad_value(monkeypatch):
    from pydantic import ValidationError

    from assistant import Settings

    assert Settings().sentence_vectors == "separate"
    monkeypatch.setenv("ASSISTANT_SENTENCE_VECTORS", "pooled")
    assert Settings().sentence_vectors == "pooled"
    monkeypatch.setenv("ASSISTANT_SENTENCE_VECTORS", "mean")
    with pytest.raises(ValidationError, match="sentence_vectors"):
        Settings()
