"""Embedding: one :class:`~assistant.embed.embedders.Embedder` interface, three backends."""

from __future__ import annotations

from pathlib import Path

BACKENDS = ("torch", "onnx-int8", "onnx-fp32")


def make_embedder(model: str, backend: str, batch_size: int, cache_dir: Path):
    """The embedder for ``model`` on ``backend`` (one of :data:`BACKENDS`).

    ``cache_dir`` (e.g. ``<data_dir>/models``) keeps the ONNX exports, made on first use from the
    local weights and reused after; the torch backend does not use it.
    """
    from assistant.errors import ConfigError

    if backend == "torch":
        from assistant.embed.embedders import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(model, batch_size)
    if backend in ("onnx-int8", "onnx-fp32"):
        from assistant.embed.embedders import OnnxEmbedder

        return OnnxEmbedder(model, backend, cache_dir=cache_dir, batch_size=batch_size)
    raise ConfigError(f"Unknown embedding backend {backend!r}: set ASSISTANT_EMBEDDING_BACKEND to one of "
                      f"{', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "make_embedder"]
