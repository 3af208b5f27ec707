"""Sentence vectors packed into one text field per chunk: int8 rows with a scale each, base64.

An index keeps 7-9 sentence vectors per chunk. As records of their own in Chroma, each is a point of
a second HNSW graph: most of an ingest's write time and, at 100,000 chunks, more than half of the
server's memory (docs/research/speed.md). They are never searched on their own: retrieval scores the
sentences of the chunks its other rankings found, and answers score the sentences of the passages
they quote. So an index keeps them as one record per chunk in ``NAME_sentence_sets`` (the vector a
placeholder, like the article table) with the matrix packed into its metadata.

Each row is quantised symmetrically: ``q = round(127 * x / max|x|)``, kept with ``max|x| / 127``.
For MiniLM's unit vectors this keeps cosines within ~1e-3 of the float32 ones
(tests/test_sentence_packing.py) at a quarter of the bytes; base64 adds a third.
"""

from __future__ import annotations

import base64

import numpy as np

FORMAT = "i8-row-scale-v1"


def pack(matrix: np.ndarray) -> str:
    """``matrix`` (rows × dim, float) as text: base64 of float32 scales then int8 rows."""
    rows = np.asarray(matrix, dtype=np.float32)
    if rows.ndim != 2:
        raise ValueError(f"expected a 2-d matrix of sentence vectors, got shape {rows.shape}")
    peak = np.abs(rows).max(axis=1) if len(rows) else np.zeros(0, dtype=np.float32)
    scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    quantised = np.clip(np.rint(rows / scale[:, None]), -127, 127).astype(np.int8)
    return base64.b64encode(scale.tobytes() + quantised.tobytes()).decode("ascii")


def unpack(text: str, rows: int, dim: int) -> np.ndarray:
    """The float32 matrix :func:`pack` stored (``rows`` × ``dim``)."""
    raw = base64.b64decode(text)
    if len(raw) != rows * 4 + rows * dim:
        raise ValueError(f"packed sentence vectors hold {len(raw)} bytes, expected {rows * (4 + dim)} "
                         f"for {rows} rows of {dim}")
    scale = np.frombuffer(raw, dtype=np.float32, count=rows)
    quantised = np.frombuffer(raw, dtype=np.int8, offset=rows * 4).reshape(rows, dim)
    return quantised.astype(np.float32) * scale[:, None]
