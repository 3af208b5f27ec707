"""Chroma client/server mode against a real `chroma run` process started here."""

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from assistant.errors import IndexUnavailable
from conftest import CORPUS

pytestmark = [pytest.mark.server, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = free_port()
    log = tmp_path_factory.mktemp("chroma-log") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [exe, "run", "--path", str(tmp_path_factory.mktemp("chroma-server")), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT,
        )
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail(f"chroma server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.3)
    yield port
    proc.terminate()
    proc.wait(timeout=20)


def test_ingest_search_and_answer_through_the_server(chroma_server, make_assistant, tmp_path):
    settings = dict(chroma_url=f"http://127.0.0.1:{chroma_server}", collection="server_news")
    writer = make_assistant(**settings)
    report = writer.ingest([CORPUS])
    assert report.added == 1 and report.failed == 0
    assert writer.ingest([CORPUS]).chunks_embedded == 0
    # A second client on another machine (its own data dir) sees the same index and BM25 rebuilds from it.
    reader = make_assistant(data_dir=tmp_path / "other-client", **settings)
    assert reader.store.count() == writer.store.count() > 0
    answer = reader.ask("What did the expert say about China?")
    assert not answer.abstained
    assert any("Beijing" in c.quote or "China" in c.quote for c in answer.citations)
    assert reader.bm25.search("Zhelikhovsky", 3)


def test_unreachable_server_says_how_to_fix_it(make_assistant):
    with pytest.raises(IndexUnavailable, match="chroma run"):
        make_assistant(chroma_url=f"http://127.0.0.1:{free_port()}")


def test_another_client_keeps_answering_when_an_older_index_is_packed(chroma_server, make_assistant, tmp_path):
    """A client that opened the server's index in the older sentence layout finds the packed one
    when another client packs it (the collection it had open is gone)."""
    from test_sentence_packing import as_older_index

    settings = dict(chroma_url=f"http://127.0.0.1:{chroma_server}", collection="older_news")
    writer = make_assistant(**settings)
    writer.ingest([CORPUS])
    vectors = as_older_index(writer.store)
    question = "What did the expert say about China?"
    reader = make_assistant(data_dir=tmp_path / "reader", **settings)
    assert not reader.store.packed_sentences
    before = [p.chunk_id for p in reader.retrieve(question, 5)[1]]
    packer = make_assistant(data_dir=tmp_path / "packer", **settings)
    assert packer.indexer.complete_sentence_vectors().sentences_repacked == len(vectors)
    assert [p.chunk_id for p in reader.retrieve(question, 5)[1]] == before
    assert reader.store.packed_sentences
