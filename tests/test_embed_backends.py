"""Embedding backends: ONNX Runtime (fp32 and int8) against sentence-transformers on PyTorch, the
export cache, length batching, and an index that refuses vectors of another backend."""

from __future__ import annotations

import random
import re
import shutil

import numpy as np
import pytest

from conftest import SEED


def _real_texts() -> list[str]:
    """Chunk-length windows (80-200 words) and single sentences of the bundled article: mixed lengths."""
    body = SEED.read_text(encoding="utf-8")
    words = body.split()
    chunks = [" ".join(words[start:start + width]) for start, width in
              [(0, 200), (40, 160), (120, 200), (200, 120), (300, 200), (365, 200), (10, 80), (450, 110)]]
    sentences = [s.strip() for s in re.split(r"(?<=[.!?”])\s+", body) if len(s.split()) >= 3]
    return chunks + sentences[:30] + ["Putin", "What did the expert say about China?"]


TEXTS = _real_texts()


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def onnx_fp32(onnx_cache):
    from assistant.embed import make_embedder
    from assistant.settings import BUNDLED_MODEL

    return make_embedder(BUNDLED_MODEL, "onnx-fp32", 32, onnx_cache)


@pytest.fixture(scope="session")
def onnx_int8(onnx_cache):
    from assistant.embed import make_embedder
    from assistant.settings import BUNDLED_MODEL

    return make_embedder(BUNDLED_MODEL, "onnx-int8", 32, onnx_cache)


@pytest.fixture(scope="session")
def torch_vectors(embedder):
    return embedder.embed(TEXTS)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_texts_are_real_and_of_mixed_length(embedder):
    lengths = embedder.count_tokens(TEXTS)
    assert len(TEXTS) >= 30 and max(lengths) >= 200 and min(lengths) <= 3


def test_onnx_fp32_gives_the_pytorch_vectors(onnx_fp32, torch_vectors):
    vectors = onnx_fp32.embed(TEXTS)
    assert vectors.shape == torch_vectors.shape and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert _cosines(vectors, torch_vectors).min() > 0.9999


def test_onnx_int8_is_close_to_pytorch(onnx_int8, torch_vectors):
    vectors = onnx_int8.embed(TEXTS)
    assert vectors.shape == torch_vectors.shape and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = _cosines(vectors, torch_vectors)
    assert cosines.mean() > 0.98 and cosines.min() > 0.95
    # still the same space: each text's nearest PyTorch vector is (nearly always) its own
    assert (np.argmax(vectors @ torch_vectors.T, axis=1) == np.arange(len(TEXTS))).mean() >= 0.95


def test_tokens_and_limits_match_pytorch(onnx_int8, embedder):
    assert onnx_int8.count_tokens(TEXTS) == embedder.count_tokens(TEXTS)
    assert onnx_int8.max_tokens == embedder.max_tokens == 256
    long = " ".join(["sanctions"] * 600)  # truncated to 256 word pieces like sentence-transformers does
    assert _cosines(onnx_int8.embed([long]), embedder.embed([long]))[0] > 0.98


def test_identities_name_model_and_backend(onnx_fp32, onnx_int8, embedder):
    assert onnx_int8.identity == "all-MiniLM-L6-v2/onnx-int8"
    assert onnx_fp32.identity == "all-MiniLM-L6-v2/onnx-fp32"
    assert embedder.identity == "all-MiniLM-L6-v2/torch"


def test_length_batches_cover_every_text_once_within_the_budget():
    from assistant.embed.embedders import length_batches

    rng = random.Random(3)
    lengths = [rng.randint(3, 256) for _ in range(300)]
    batches = length_batches(lengths, token_budget=1024, max_texts=64)
    assert sorted(i for batch in batches for i in batch) == list(range(300))
    for batch in batches:
        widest = max(lengths[i] for i in batch)
        assert lengths[batch[0]] == widest and len(batch) <= 64
        assert len(batch) * widest <= 1024 or len(batch) == 1
    assert len(batches) < 300 / 3  # short texts share batches


def test_order_is_kept_under_length_batching(onnx_cache, torch_vectors):
    """A small token budget cuts shuffled texts into many batches; rows still follow the input."""
    from assistant.embed.embedders import OnnxEmbedder
    from assistant.settings import BUNDLED_MODEL

    small = OnnxEmbedder(BUNDLED_MODEL, "onnx-fp32", cache_dir=onnx_cache, token_budget=300)
    order = list(range(len(TEXTS)))
    random.Random(7).shuffle(order)
    vectors = small.embed([TEXTS[i] for i in order])
    assert _cosines(vectors, torch_vectors[order]).min() > 0.9999
    one_by_one = np.vstack([small.embed([TEXTS[i]]) for i in order[:6]])
    assert _cosines(vectors[:6], one_by_one).min() > 0.9999
    assert small.embed([]).shape == (0, 384)


def test_the_export_is_made_once_and_reused(onnx_int8, onnx_cache):
    from assistant.embed import make_embedder
    from assistant.settings import BUNDLED_MODEL

    path = onnx_int8.model_path
    assert path.parent == onnx_cache and path.suffix == ".onnx"
    before = path.stat().st_mtime_ns
    again = make_embedder(BUNDLED_MODEL, "onnx-int8", 16, onnx_cache)
    assert again.model_path == path and path.stat().st_mtime_ns == before
    assert sorted(p.suffix for p in onnx_cache.iterdir() if p.name.startswith(path.stem)) == [".json", ".onnx"]
    assert not [p for p in onnx_cache.iterdir() if p.name.startswith(".")]  # no temporary files left
    assert _cosines(again.embed(TEXTS[:5]), onnx_int8.embed(TEXTS[:5])).min() > 0.9999


def test_a_damaged_export_is_made_again(onnx_fp32, tmp_path, torch_vectors):
    from assistant.embed import make_embedder
    from assistant.settings import BUNDLED_MODEL

    cache = tmp_path / "models"
    cache.mkdir()
    for file in onnx_fp32.model_path.parent.glob(onnx_fp32.model_path.stem + ".*"):
        shutil.copy2(file, cache / file.name)
    copied = cache / onnx_fp32.model_path.name
    with open(copied, "r+b") as handle:  # cut short, as by a crash or a full disk
        handle.truncate(copied.stat().st_size // 2)
    redone = make_embedder(BUNDLED_MODEL, "onnx-fp32", 32, cache)
    assert redone.model_path == copied and copied.stat().st_size == onnx_fp32.model_path.stat().st_size
    assert _cosines(redone.embed(TEXTS[:4]), torch_vectors[:4]).min() > 0.9999


def test_unknown_backend_is_a_config_error(tmp_path):
    from assistant.embed import make_embedder
    from assistant.errors import ConfigError

    with pytest.raises(ConfigError, match="ASSISTANT_EMBEDDING_BACKEND"):
        make_embedder("bundled:all-MiniLM-L6-v2", "onnx-int4", 32, tmp_path)


# --- an index knows its embedder ------------------------------------------------------------------

def _fix_named(message: str, backend: str) -> bool:
    return f"ASSISTANT_EMBEDDING_BACKEND={backend}" in message and "ingest" in message


def test_an_index_embedded_with_pytorch_refuses_int8(make_assistant, embedder, onnx_fp32, onnx_int8):
    from assistant.errors import ConfigError
    from assistant.index.store import check_embedder

    assistant = make_assistant()
    assistant.ingest([SEED])
    store = assistant.store
    assert store.count() > 0
    check_embedder(store, embedder, record=True)
    assert store.embedder_identity() == "all-MiniLM-L6-v2/torch"
    store.bump_revision()  # other metadata updates keep the identity
    assert store.embedder_identity() == "all-MiniLM-L6-v2/torch"

    check_embedder(store, onnx_fp32)  # the same vectors: accepted
    with pytest.raises(ConfigError) as refused:
        check_embedder(store, onnx_int8)
    message = str(refused.value)
    assert "all-MiniLM-L6-v2/torch" in message and "all-MiniLM-L6-v2/onnx-int8" in message
    assert _fix_named(message, "torch")
    assert store.embedder_identity() == "all-MiniLM-L6-v2/torch"  # a refusal records nothing


def test_an_index_embedded_with_int8_refuses_pytorch(tmp_path, embedder, onnx_int8, onnx_fp32):
    from assistant import Settings
    from assistant.errors import ConfigError
    from assistant.index.store import ChunkStore, check_embedder, make_client
    from assistant.models import Article, Chunk

    store = ChunkStore(make_client(Settings(data_dir=tmp_path / "data")), "int8news")
    assert store.embedder_identity() is None
    check_embedder(store, onnx_int8, record=True)  # an empty index takes any embedder and records it
    article = Article(title="Expert on Putin", body=SEED.read_text(encoding="utf-8")[:600], source="Test")
    chunks = [Chunk(id=f"{article.id}:{i}", article_id=article.id, position=i, text=article.body[i * 300:(i + 1) * 300],
                    start=i * 300, end=(i + 1) * 300) for i in range(2)]
    store.add_article(article, chunks, onnx_int8.embed([c.text for c in chunks]))

    reopened = ChunkStore(make_client(Settings(data_dir=tmp_path / "data")), "int8news")
    assert reopened.embedder_identity() == "all-MiniLM-L6-v2/onnx-int8"
    check_embedder(reopened, onnx_int8)
    for other in (embedder, onnx_fp32):
        with pytest.raises(ConfigError) as refused:
            check_embedder(reopened, other, record=True)
        assert _fix_named(str(refused.value), "onnx-int8")
    assert reopened.embedder_identity() == "all-MiniLM-L6-v2/onnx-int8"


def test_an_index_from_before_identities_counts_as_pytorch(make_assistant, embedder, onnx_int8):
    from assistant.errors import ConfigError
    from assistant.index.store import check_embedder

    assistant = make_assistant()
    assistant.indexer.ingest_paths([SEED])  # the indexer alone writes no identity, as ingest did before backends
    store = assistant.store
    assert store.embedder_identity() is None
    with pytest.raises(ConfigError) as refused:
        check_embedder(store, onnx_int8, record=True)
    assert _fix_named(str(refused.value), "torch") and store.embedder_identity() is None
    check_embedder(store, embedder, record=True)
    assert store.embedder_identity() == "all-MiniLM-L6-v2/torch"


# --- the default: 'auto' ---------------------------------------------------------------------------

@pytest.mark.parametrize("recorded, has_vectors, chosen", [
    (None, False, "openvino-int8"),                        # a new index: the fastest backend
    ("all-MiniLM-L6-v2/onnx-int8", True, "onnx-int8"),
    ("all-MiniLM-L6-v2/onnx-fp32", True, "onnx-fp32"),     # built before int8 was the default: kept
    ("all-MiniLM-L6-v2/torch", True, "onnx-fp32"),         # the same vectors as torch, faster
    (None, True, "onnx-fp32"),                             # built before identities (PyTorch vectors)
    ("all-MiniLM-L6-v2/openvino-int8", True, "openvino-int8"),
])
def test_auto_follows_the_index_and_gives_a_new_one_int8(recorded, has_vectors, chosen):
    from assistant.embed import choose_backend

    assert choose_backend("auto", recorded, has_vectors) == chosen
    assert choose_backend("torch", recorded, has_vectors) == "torch"  # a backend set by hand is kept


def test_the_default_settings_build_int8_for_a_new_index_and_keep_an_fp32_index_working(tmp_path):
    from assistant import Settings, build_assistant
    from assistant.errors import ConfigError

    assert Settings().embedding_backend == "auto"
    new = build_assistant(Settings(data_dir=tmp_path / "new"))
    new.ingest([SEED])
    assert new.store.embedder_identity() == "all-MiniLM-L6-v2/openvino-int8"

    old = build_assistant(Settings(data_dir=tmp_path / "old", embedding_backend="onnx-fp32"))
    old.ingest([SEED])
    question = "What did the expert say about China?"
    expected = [p.chunk_id for p in old.retrieve(question, 4)[1]]
    reopened = build_assistant(Settings(data_dir=tmp_path / "old"))  # auto: the index's backend
    assert [p.chunk_id for p in reopened.retrieve(question, 4)[1]] == expected
    assert reopened.ask(question).citations
    with pytest.raises(ConfigError) as refused:
        build_assistant(Settings(data_dir=tmp_path / "old", embedding_backend="onnx-int8"))
    assert _fix_named(str(refused.value), "onnx-fp32")


# --- OpenVINO: the default for a new index -------------------------------------------------------

@pytest.fixture(scope="session")
def openvino_int8(onnx_cache):
    from assistant.embed import make_embedder
    from assistant.settings import BUNDLED_MODEL

    return make_embedder(BUNDLED_MODEL, "openvino-int8", 32, onnx_cache)


def test_openvino_int8_is_close_to_pytorch_and_closer_than_onnx_int8(openvino_int8, onnx_int8, torch_vectors):
    vectors = openvino_int8.embed(TEXTS)
    assert vectors.shape == torch_vectors.shape and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = _cosines(vectors, torch_vectors)
    assert cosines.mean() > 0.99 and cosines.min() > 0.97
    assert cosines.mean() >= _cosines(onnx_int8.embed(TEXTS), torch_vectors).mean() - 0.002
    assert (np.argmax(vectors @ torch_vectors.T, axis=1) == np.arange(len(TEXTS))).all()
    assert openvino_int8.identity == "all-MiniLM-L6-v2/openvino-int8"
    assert openvino_int8.count_tokens(TEXTS) == onnx_int8.count_tokens(TEXTS)


def test_openvino_spans_come_from_the_same_pass(openvino_int8):
    text = TEXTS[0]
    cut = text.index(" ", len(text) // 2)
    vectors, spans = openvino_int8.embed_with_spans([text], [[(0, cut), (cut + 1, len(text))]])
    assert _cosines(vectors, openvino_int8.embed([text])).min() > 0.999
    assert spans[0].shape == (2, vectors.shape[1]) and np.allclose(np.linalg.norm(spans[0], axis=1), 1.0, atol=1e-5)
    assert _cosines(spans[0][:1], openvino_int8.embed([text[:cut]]))[0] > 0.8  # the first half, read in context


def test_the_openvino_export_is_made_once_whole_and_made_again_when_damaged(openvino_int8, onnx_cache, tmp_path):
    from assistant.embed import make_embedder
    from assistant.settings import BUNDLED_MODEL

    path = openvino_int8.model_path
    assert path.parent == onnx_cache and path.suffix == ".xml"
    assert sorted(p.suffix for p in onnx_cache.iterdir() if p.name.startswith(path.stem)) == [".bin", ".json", ".xml"]
    assert not [p for p in onnx_cache.iterdir() if p.name.startswith(".")]  # no temporary files or folders left
    before = {p.name: p.stat().st_mtime_ns for p in onnx_cache.iterdir()}
    again = make_embedder(BUNDLED_MODEL, "openvino-int8", 16, onnx_cache)
    assert again.model_path == path and {p.name: p.stat().st_mtime_ns for p in onnx_cache.iterdir()} == before

    cache = tmp_path / "models"
    shutil.copytree(onnx_cache, cache)
    weights = cache / path.with_suffix(".bin").name
    with open(weights, "r+b") as handle:  # cut short, as by a crash or a full disk
        handle.truncate(weights.stat().st_size // 2)
    redone = make_embedder(BUNDLED_MODEL, "openvino-int8", 32, cache)
    assert redone.model_path == cache / path.name and weights.stat().st_size == path.with_suffix(".bin").stat().st_size
    assert _cosines(redone.embed(TEXTS[:6]), openvino_int8.embed(TEXTS[:6])).min() > 0.9999


def test_an_index_embedded_with_onnx_int8_refuses_openvino_int8_and_back(openvino_int8, onnx_int8, tmp_path):
    from assistant import Settings
    from assistant.errors import ConfigError
    from assistant.index.store import ChunkStore, check_embedder, make_client
    from assistant.models import Article, Chunk

    article = Article(title="Expert on Putin", body=SEED.read_text(encoding="utf-8")[:600], source="Test")
    chunks = [Chunk(id=f"{article.id}:{i}", article_id=article.id, position=i, text=article.body[i * 300:(i + 1) * 300],
                    start=i * 300, end=(i + 1) * 300) for i in range(2)]
    for n, (first, second) in enumerate(((onnx_int8, openvino_int8), (openvino_int8, onnx_int8))):
        store = ChunkStore(make_client(Settings(data_dir=tmp_path / f"data-{n}")), "news")
        check_embedder(store, first, record=True)
        store.add_article(article, chunks, first.embed([c.text for c in chunks]))
        with pytest.raises(ConfigError) as refused:
            check_embedder(store, second)
        assert _fix_named(str(refused.value), first.backend) and second.identity in str(refused.value)
        assert store.embedder_identity() == first.identity
