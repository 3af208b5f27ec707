"""Embedding: one :class:`~assistant.embed.embedders.Embedder` interface, four backends."""

from __future__ import annotations

from pathlib import Path

BACKENDS = ("torch", "onnx-int8", "onnx-fp32", "openvino-int8")
AUTO = "auto"
# Chosen by measurement (docs/research/backend-choice.md): ingest 1.6x onnx-int8's speed, closer to fp32, retrieval of the
# default within 0.005 of fp32 on every question set.
NEW_INDEX_BACKEND = "openvino-int8"


def choose_backend(setting: str, recorded: str | None, has_vectors: bool) -> str:
    """The backend to run for the ``ASSISTANT_EMBEDDING_BACKEND`` ``setting``.

    ``auto`` follows the index: the backend its identity records (``MODEL/BACKEND``), ``onnx-fp32``
    for an index with vectors but no identity (built with PyTorch before identities existed: the
    same vectors), and :data:`NEW_INDEX_BACKEND` for an empty index. An index built before the
    default changed thus keeps working, and a new one gets the fastest backend. Any other setting
    is taken as it is (a mismatch with the index is then refused, naming the fix)."""
    if setting != AUTO:
        return setting
    if recorded:
        backend = recorded.rpartition("/")[2]
        if backend in BACKENDS:
            return "onnx-fp32" if backend == "torch" else backend
    return "onnx-fp32" if has_vectors else NEW_INDEX_BACKEND


def make_embedder(model: str, backend: str, batch_size: int = 32, cache_dir: Path | None = None):
    """The embedder for ``model`` on ``backend`` (one of :data:`BACKENDS`).

    ``cache_dir`` (e.g. ``<data_dir>/models``) keeps the ONNX and OpenVINO exports, made on first use
    from the local weights and reused after; the torch backend does not use it.
    """
    from assistant.errors import ConfigError

    if backend == "torch":
        from assistant.embed.embedders import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(model, batch_size)
    if backend in ("onnx-int8", "onnx-fp32", "openvino-int8"):
        from assistant.embed.embedders import OnnxEmbedder

        return OnnxEmbedder(model, backend, cache_dir=cache_dir, batch_size=batch_size)
    raise ConfigError(f"Unknown embedding backend {backend!r}: set ASSISTANT_EMBEDDING_BACKEND to one of "
                      f"{', '.join(BACKENDS)}")


__all__ = ["AUTO", "BACKENDS", "NEW_INDEX_BACKEND", "choose_backend", "make_embedder"]
