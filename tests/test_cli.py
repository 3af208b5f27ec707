"""The CLI contract: command names, JSON fields, exit codes, ASSISTANT_DATA_DIR."""

import json

import pytest
from click.testing import CliRunner

import assistant.apps.cli as cli
from conftest import CORPUS


@pytest.fixture
def run(embedder, monkeypatch):
    from assistant import Settings, build_assistant

    # Share the session's loaded model; settings still come from the environment.
    factory = lambda **overrides: build_assistant(Settings(**overrides), embedder=embedder)  # noqa: E731
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli.main, list(map(str, args)), catch_exceptions=False, obj=factory)
    return invoke


def test_ingest_then_ask_json_contract(run, tmp_path):
    first = run("ingest", CORPUS)
    assert first.exit_code == 0, first.output
    assert "Indexed 1 new" in first.output
    again = run("ingest", CORPUS)
    assert "nothing embedded" in again.output
    assert (tmp_path / "data" / "chroma").is_dir(), "the index lives in ASSISTANT_DATA_DIR"

    result = run("ask", "What did the expert say about China?", "--json")
    data = json.loads(result.output)
    assert {"question", "answer", "abstained", "citations", "passages", "timings_ms"} <= set(data)
    assert data["abstained"] is False
    citation = data["citations"][0]
    assert set(citation) >= {"n", "article_id", "title", "source", "author", "published_at", "url",
                             "chunk_id", "quote", "start", "end", "score"}
    assert "[1]" in data["answer"]
    assert data["passages"][0]["text"] and "title" in data["passages"][0]


def test_search_json_with_filters(run):
    run("ingest", CORPUS)
    hits = json.loads(run("search", "Beijing", "--json", "--k", "2").output)
    assert 1 <= len(hits) <= 2 and "Beijing" in " ".join(h["text"] for h in hits)
    none = json.loads(run("search", "Beijing", "--json", "--source", "Nowhere Times").output)
    assert none == []
    dated = json.loads(run("search", "Beijing", "--json", "--since", "2020-01-01").output)
    assert dated == [], "the seed article states no date, so a date filter excludes it"


def test_ingest_exit_status_counts_failures(run, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[{\"title\": \"t\"}]", encoding="utf-8")
    result = run("ingest", CORPUS, bad)
    assert result.exit_code == 1
    assert "bad.json[0]" in result.output and "1 failed" in result.output


def test_bad_filter_is_a_clear_error(run):
    run("ingest", CORPUS)
    result = run("search", "x", "--since", "not-a-date")
    assert result.exit_code == 2 and "not-a-date" in result.output
