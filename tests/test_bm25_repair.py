"""A damaged BM25 file is found before use, rebuilt from Chroma and written again (issue 32).

Real embedded Chroma and the bundled model. Each kind of damage (truncated, deleted, garbage, the
wrong size, a manifest naming the wrong revision) is done to the files of a saved index; the next
start answers the same question with the same citations, says in the log what it repaired, and
the files on disk load cleanly again (the start after that loads them without building).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from test_reliability import place, write_stories

from assistant.filters import SearchFilters
from assistant.index import bm25_segments as seg

QUESTION = f"What did {place(3)} approve?"


def _segment_files(data: Path) -> list[Path]:
    return sorted(p for p in (data / "bm25").rglob("segments/*/*") if p.is_file())


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00garbage" * 16)


def _grow(path: Path) -> None:
    with open(path, "ab") as f:
        f.write(b"\x00" * 64)


def _wrong_revision(data: Path) -> None:
    manifest = next((data / "bm25").rglob("manifests/*.json"))
    record = json.loads(manifest.read_text())
    record["revision"] += 7
    manifest.write_text(json.dumps(record))


DAMAGE = {
    "vectors.npy truncated": lambda data: _truncate(next((data / "bm25").rglob("vectors.npy"))),
    "c_rows.npy deleted": lambda data: next((data / "bm25").rglob("c_rows.npy")).unlink(),
    "s_tf.npy garbage": lambda data: _garbage(next((data / "bm25").rglob("s_tf.npy"))),
    "c_indptr.npy the wrong size": lambda data: _grow(next((data / "bm25").rglob("c_indptr.npy"))),
    "segment.json truncated": lambda data: _truncate(next((data / "bm25").rglob("segment.json"))),
    "every segment file garbage": lambda data: [_garbage(p) for p in _segment_files(data)],
    "manifest of the wrong revision": _wrong_revision,
    "manifest garbage": lambda data: _garbage(next((data / "bm25").rglob("manifests/*.json"))),
}


@pytest.fixture
def indexed(make_assistant, tmp_path):
    folder, data = tmp_path / "stories", tmp_path / "data"
    write_stories(folder, range(6), sentences=6)
    first = make_assistant(data_dir=data)
    first.ingest([folder])
    answer = first.ask(QUESTION)
    assert answer.citations
    return data, [c.chunk_id for c in answer.citations]


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_file_is_rebuilt_and_written_again(indexed, make_assistant, caplog, damage):
    data, cited = indexed
    DAMAGE[damage](data)
    caplog.set_level(logging.WARNING, logger="assistant.index.lexical")
    after = make_assistant(data_dir=data)
    answer = after.ask(QUESTION)
    assert [c.chunk_id for c in answer.citations] == cited
    assert after.bm25.stats["repairs"] == 1 and after.bm25.stats["full_builds"] == 1
    assert any("BM25 index file damaged" in r.getMessage() for r in caplog.records)
    for folder in {p.parent for p in _segment_files(data)}:
        seg.Segment.load(folder)  # whole again: no SegmentDamaged
    again = make_assistant(data_dir=data)
    again.bm25.ensure_fresh()
    assert again.bm25.stats["loads"] == 1 and again.bm25.stats["full_builds"] == 0
    assert again.bm25.stats["repairs"] == 0


def test_a_truncated_file_is_refused_naming_it_before_any_array_is_used(indexed):
    data, _ = indexed
    vectors = next((data / "bm25").rglob("vectors.npy"))
    _truncate(vectors)
    with pytest.raises(seg.SegmentDamaged) as caught:
        seg.Segment.load(vectors.parent)
    assert caught.value.path == vectors and "header announces" in caught.value.problem


def test_files_damaged_while_serving_do_not_stop_answers_and_health_repairs_them(indexed, make_assistant, caplog):
    """Truncating a segment's vectors while a server holds the index: a filtered question (which
    reads the vectors) still answers (once a bus error), and /api/health finds and rewrites it."""
    from assistant.apps.api import create_api

    data, cited = indexed
    serving = make_assistant(data_dir=data)
    api = TestClient(create_api(serving, serving.settings), raise_server_exceptions=False)
    assert api.get("/api/health").json()["parts"]["bm25"] == "ok"
    vectors = next((data / "bm25").rglob("vectors.npy"))
    _truncate(vectors)
    filters = SearchFilters(sources=sorted(serving.bm25.sources())[:1])
    assert serving.search(QUESTION, filters=filters)
    asked = api.post("/api/ask", json={"question": QUESTION})
    assert asked.status_code == 200 and [c["chunk_id"] for c in asked.json()["citations"]] == cited
    caplog.set_level(logging.WARNING, logger="assistant.index.lexical")
    health = api.get("/api/health")
    assert health.status_code == 200 and health.json()["parts"]["bm25"].startswith("ok (repaired 1 damaged files")
    assert "vectors.npy" in health.json()["parts"]["bm25"]
    assert seg.Segment.load(vectors.parent).vectors.shape[0] > 0  # rewritten whole
    assert api.get("/api/health").json()["parts"]["bm25"] == "ok"


def test_health_names_the_part_that_fails(indexed, make_assistant):
    from assistant.apps.api import create_api

    data, _ = indexed
    serving = make_assistant(data_dir=data)

    class BrokenModel:
        def embed(self, texts, progress=False):
            raise RuntimeError("the model file is gone")

    serving.indexer.embedder = BrokenModel()
    health = TestClient(create_api(serving, serving.settings), raise_server_exceptions=False).get("/api/health")
    assert health.status_code == 503 and health.json()["status"] == "unavailable"
    message = health.json()["error"]["message"]
    assert message.startswith("Unhealthy: embedding_model: failed: RuntimeError: the model file is gone"), message
    assert [d["part"] for d in health.json()["error"]["details"]] == ["embedding_model"]
