"""The REST API through FastAPI's TestClient: answers, uploads, limits, errors, the API key."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from conftest import CORPUS

SEED_QUESTION = "What did the expert say about China?"


@pytest.fixture
def make_client(make_assistant):
    """A TestClient over a fresh index holding the bundled article; keywords override settings."""
    from assistant.apps.api import create_api

    def make(seed: bool = True, **overrides):
        assistant = make_assistant(**overrides)
        if seed:
            assistant.ingest([CORPUS])
        return TestClient(create_api(assistant, assistant.settings), raise_server_exceptions=False)
    return make


@pytest.fixture(scope="module")
def client(tmp_path_factory, embedder):
    """One read-only API over the bundled article for the tests that change nothing."""
    from assistant import Settings, build_assistant
    from assistant.apps.api import create_api

    assistant = build_assistant(Settings(data_dir=tmp_path_factory.mktemp("api-index")), embedder=embedder)
    assistant.ingest([CORPUS])
    return TestClient(create_api(assistant, assistant.settings), raise_server_exceptions=False)


def article_file(tmp_path, name="story.json", **fields):
    record = {"title": "Harbour bridge reopens", "body": "The harbour bridge reopened on Monday after repairs. "
              "Engineers replaced forty steel cables.", "source": "Port Gazette", "published_at": "2024-03-04",
              "category": "local"} | fields
    path = tmp_path / name
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def assert_error(response, status: int, kind: str, *words: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["type"] == kind and error["status"] == status
    assert "Traceback" not in response.text
    for word in words:
        assert word in error["message"], error["message"]
    return error


def test_ask_returns_a_cited_answer(client):
    response = client.post("/api/ask", json={"question": SEED_QUESTION, "k": 3})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["abstained"] is False and answer["question"] == SEED_QUESTION
    assert [c["n"] for c in answer["citations"]] == list(range(1, len(answer["citations"]) + 1))
    assert all(f"[{c['n']}]" in answer["answer"] for c in answer["citations"])
    first = answer["citations"][0]
    passage = next(p for p in answer["passages"] if p["chunk_id"] == first["chunk_id"])
    assert passage["text"][first["start"] - passage["start"]:first["end"] - passage["start"]] == first["quote"]
    assert len(answer["passages"]) <= 3 and {"retrieve", "answer", "total"} <= set(answer["timings_ms"])


def test_follow_up_question_refers_back_through_history(client):
    first = client.post("/api/ask", json={"question": SEED_QUESTION}).json()
    turn = {key: first[key] for key in ("question", "answer", "citations")}
    follow = client.post("/api/ask", json={"question": "What else did he say?", "history": [turn]}).json()
    assert follow["question"] == "What else did he say?" and not follow["abstained"]
    assert "Zhelikhovsky" in follow["trace"]["standalone_question"]
    assert {c["start"] for c in follow["citations"]}.isdisjoint({c["start"] for c in first["citations"]})


def test_ask_with_filters_that_exclude_everything_abstains(client):
    response = client.post("/api/ask", json={"question": SEED_QUESTION, "filters": {"sources": ["Nowhere Times"]}})
    assert response.status_code == 200
    assert response.json()["abstained"] is True and response.json()["passages"] == []


@pytest.mark.parametrize("body, status, kind, word", [
    ({"question": "x" * 1001}, 422, "validation_error", "1001 characters"),
    ({"question": "   "}, 422, "validation_error", "blank"),
    ({}, 422, "validation_error", "question"),
    ({"question": "China?", "k": 0}, 422, "validation_error", "k"),
    ({"question": "China?", "filters": {"since": "not a date"}}, 422, "validation_error", "since"),
    ({"question": "China?", "mode": "poetry"}, 422, "validation_error", "mode"),
])
def test_ask_rejects_bad_requests(client, body, status, kind, word):
    assert_error(client.post("/api/ask", json=body), status, kind, word)


def test_ask_llm_when_not_configured_is_unavailable(client):
    # The request chose what this server does not offer: a 4xx (a load balancer reads 503 as "down").
    error = assert_error(client.post("/api/ask", json={"question": "China?", "mode": "llm"}), 422,
                         "validation_error", "mode", "ASSISTANT_ANSWER_MODE=llm")
    assert error["details"][0]["where"] == "mode"


def test_malformed_json_is_400(client):
    response = client.post("/api/ask", content=b'{"question": ', headers={"content-type": "application/json"})
    assert_error(response, 400, "bad_request", "not valid JSON")


def test_search_with_filters(client):
    hits = client.get("/api/search", params={"q": "Beijing", "k": 2}).json()
    assert hits["query"] == "Beijing" and 1 <= len(hits["passages"]) <= 2
    assert "Beijing" in " ".join(p["text"] for p in hits["passages"])
    none = client.get("/api/search", params={"q": "Beijing", "source": ["Nowhere Times"]}).json()
    assert none["passages"] == [] and none["filters"]["sources"] == ["Nowhere Times"]
    assert_error(client.get("/api/search", params={"q": "Beijing", "until": "soon"}), 422, "validation_error",
                 "until")
    assert_error(client.get("/api/search"), 422, "validation_error", "q")


def test_upload_list_ask_and_delete(make_client, tmp_path):
    client = make_client()
    good = article_file(tmp_path)
    bad = tmp_path / "broken.jsonl"
    bad.write_text('{"title": "No body here"}\nnot json\n', encoding="utf-8")
    with good.open("rb") as g, bad.open("rb") as b:
        response = client.post("/api/articles", files=[("files", ("story.json", g, "application/json")),
                                                       ("files", ("broken.jsonl", b, "application/x-ndjson"))])
    assert response.status_code == 201, response.text
    report = response.json()
    assert (report["files"], report["added"], report["failed"]) == (2, 1, 2)
    assert {e["where"] for e in report["errors"]} == {"broken.jsonl:1", "broken.jsonl:2"}
    assert all("/tmp" not in e["where"] for e in report["errors"]), "errors name the file as uploaded"
    uploaded = report["uploaded"][0]
    assert uploaded["title"] == "Harbour bridge reopens" and uploaded["origin"] == "upload:story.json"

    listing = client.get("/api/articles").json()
    assert listing["total"] == 2
    row = next(a for a in listing["articles"] if a["id"] == uploaded["id"])
    assert (row["source"], row["published_at"][:10], row["chunks"]) == ("Port Gazette", "2024-03-04", 1)

    answer = client.post("/api/ask", json={"question": "When did the harbour bridge reopen?",
                                           "filters": {"sources": ["Port Gazette"]}}).json()
    assert answer["citations"] and answer["citations"][0]["article_id"] == uploaded["id"]
    assert "Monday" in answer["citations"][0]["quote"]

    again = client.post("/api/articles", files={"files": ("story.json", good.read_bytes(), "application/json")})
    assert again.status_code == 200 and again.json()["unchanged"] == 1, "nothing new: 200, not 201"

    assert client.delete(f"/api/articles/{uploaded['id']}").json() == {"deleted": uploaded["id"]}
    assert client.get("/api/articles").json()["total"] == 1
    assert_error(client.delete(f"/api/articles/{uploaded['id']}"), 404, "not_found", uploaded["id"])


def test_upload_refusals(make_client, tmp_path):
    client = make_client(seed=False, max_upload_mb=0.01, max_upload_files=2)
    story = article_file(tmp_path).read_bytes()
    assert_error(client.post("/api/articles", files={"files": ("notes.pdf", b"%PDF-1.4", "application/pdf")}),
                 415, "unsupported_media_type", "notes.pdf", ".jsonl")
    assert_error(client.post("/api/articles", files={"files": ("big.txt", b"x" * 20_000, "text/plain")}),
                 413, "too_large", "MB")
    three = [("files", (f"s{i}.json", story, "application/json")) for i in range(3)]
    assert_error(client.post("/api/articles", files=three), 413, "too_large", "3 files")
    assert_error(client.post("/api/articles", files={"files": ("empty.json", b"[]", "application/json")}),
                 400, "bad_request")
    assert_error(client.post("/api/articles", files={"files": ("bad.json", b"{", "application/json")}),
                 400, "bad_request", "bad.json")
    assert_error(client.post("/api/articles", data={"x": "1"}), 422, "validation_error", "files")
    assert client.get("/api/articles").json()["total"] == 0, "refused uploads index nothing"


def test_upload_without_content_length_is_capped(make_client):
    client = make_client(seed=False, max_upload_mb=0.01)
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.txt\"\r\n"
            f"Content-Type: text/plain\r\n\r\n").encode() + b"y" * 200_000 + f"\r\n--{boundary}--\r\n".encode()

    def chunks():
        for i in range(0, len(body), 8192):
            yield body[i:i + 8192]
    response = client.post("/api/articles", content=chunks(),
                           headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert_error(response, 413, "too_large", "limit")


def test_health_and_unknown_routes(client):
    from assistant.answer.local_llm import installed

    health = client.get("/api/health").json()
    modes = ["extractive"] + (["local"] if installed() is None else [])  # the local-llm extra offers its model
    assert health == {"status": "ok", "articles": 1, "chunks": health["chunks"], "answer_modes": modes,
                      "auth_required": False, "parts": {part: "ok" for part in (
                          "index", "bm25", "embedding_model", "retrieval")}} and health["chunks"] >= 1
    assert_error(client.get("/api/nothing/here"), 404, "not_found", "/api/nothing/here")
    assert_error(client.get("/api/ask"), 405, "method_not_allowed", "GET")
    # Every method gets the API's error format, with what the path does take.
    for method in ("TRACE", "OPTIONS", "PUT", "PATCH"):
        response = client.request(method, "/api/ask")
        assert_error(response, 405, "method_not_allowed", method)
        assert response.headers["allow"] == "POST"
    assert client.request("TRACE", "/api/articles/some-id").headers["allow"] == "DELETE"
    query = client.request("QUERY", "/api/search")  # a method no route knows: still the API's format
    assert_error(query, 405, "method_not_allowed", "QUERY") and query.headers["allow"] == "GET"
    assert_error(client.request("PROPFIND", "/api/nothing"), 404, "not_found")


def test_index_unavailable_is_503_and_surprises_are_500_without_details(make_client, monkeypatch):
    from assistant.errors import IndexUnavailable

    client = make_client(seed=False)
    shared = client.app.state.assistant

    def down(*args, **kwargs):
        raise IndexUnavailable("Cannot reach the Chroma server at localhost:8000; start it with `chroma run`")
    monkeypatch.setattr(shared.assistant.store, "article_counts", down)  # what /api/health reads
    assert_error(client.get("/api/health"), 503, "unavailable", "chroma run")

    def broken(*args, **kwargs):
        raise RuntimeError("secret internal detail /srv/index")
    monkeypatch.setattr(shared.assistant, "ask", broken)
    monkeypatch.setattr(shared.assistant, "ask_stream", broken)
    response = client.post("/api/ask", json={"question": "China?"})
    assert_error(response, 500, "internal_error", "server log")
    assert "secret" not in response.text


def test_api_key_required_on_every_call(make_client):
    client = make_client(api_key="s3cret-key")
    calls = [("get", "/api/health", {}), ("get", "/api/articles", {}), ("get", "/api/search?q=China", {}),
             ("post", "/api/ask", {"json": {"question": "China?"}}), ("delete", "/api/articles/x", {}),
             ("post", "/api/articles", {"files": {"files": ("a.txt", b"T\n\nbody", "text/plain")}})]
    for method, url, kwargs in calls:
        assert_error(getattr(client, method)(url, **kwargs), 401, "unauthorized", "X-API-Key")
    wrong = client.get("/api/health", headers={"X-API-Key": "guess"})
    assert_error(wrong, 401, "unauthorized", "Wrong API key")
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/health", headers={"X-API-Key": "s3cret-key"}).json()["auth_required"] is True
    assert client.get("/api/health", headers={"Authorization": "Bearer s3cret-key"}).status_code == 200


def test_openapi_documents_every_endpoint(client):
    schema = client.get("/openapi.json").json()
    assert {("/api/ask", "post"), ("/api/search", "get"), ("/api/articles", "get"), ("/api/articles", "post"),
            ("/api/articles/{article_id}", "delete"), ("/api/health", "get")} <= {
        (path, method) for path, ops in schema["paths"].items() for method in ops}
    assert "ErrorResponse" in schema["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_whole_app_serves_chat_at_root_and_api_beside_it(make_assistant):
    from assistant.apps.server import create_app

    assistant = make_assistant()
    with TestClient(create_app(assistant, assistant.settings)) as client:
        page = client.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert client.get("/api/health").json()["articles"] == 0
        assert_error(client.get("/api/missing"), 404, "not_found")
        assert client.get("/docs").status_code == 200


def test_api_key_also_guards_the_web_chat(make_assistant):
    from assistant.apps.server import create_app

    assistant = make_assistant(api_key="k3y")
    client = TestClient(create_app(assistant, assistant.settings))
    assert client.get("/config").status_code == 401, "the chat's config needs a login"
    assert client.post("/login", data={"username": "me", "password": "guess"}).status_code == 400
    assert client.post("/login", data={"username": "me", "password": "k3y"}).json() == {"success": True}
    assert client.get("/config").status_code == 200
    assert_error(client.get("/api/health"), 401, "unauthorized")  # the REST API still wants the key itself


def test_warm_up_at_start_searches_and_never_raises(make_client, monkeypatch, caplog):
    """``assistant serve`` runs one search in the background at start (loading the vector indexes
    before the first user asks); an index that is down then is left for the first request to report."""
    import logging

    from assistant.apps.server import warm_up
    from assistant.errors import IndexUnavailable

    client = make_client()
    shared = client.app.state.assistant
    searched = []
    real_search = shared.assistant.search
    monkeypatch.setattr(shared.assistant, "search", lambda *a, **k: searched.append(a) or real_search(*a, **k))
    warm_up(shared)
    assert searched, "the warm-up searched the index"
    assert client.post("/api/ask", json={"question": "What did the expert say about China?"}).json()["citations"]

    def down(*args, **kwargs):
        raise IndexUnavailable("Cannot reach the Chroma server at localhost:8000; start it with `chroma run`")
    monkeypatch.setattr(shared.assistant, "search", down)
    with caplog.at_level(logging.INFO, logger="assistant.apps.server"):
        warm_up(shared)
    assert "warm-up search failed" in caplog.text


def test_assistant_serve_starts_a_real_server_that_answers_and_says_how_long_it_took(tmp_path):
    """The command users run: a fresh data dir (it indexes the bundled corpus first), then the REST API
    and the web chat on a port; stderr says what the start cost, stage by stage."""
    import os
    import re
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path / "data"), "ASSISTANT_CORPUS_DIR": str(CORPUS),
           "ASSISTANT_FEED_REFRESH_MINUTES": "0", "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    log = tmp_path / "serve.log"
    with open(log, "wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--port", str(port)], env=env,
                                   stdout=subprocess.DEVNULL, stderr=sink)
    try:
        deadline, health = time.monotonic() + 240, None
        while health is None and time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as response:
                    health = json.load(response)
            except OSError:
                time.sleep(0.3)
        assert health is not None, log.read_text(errors="replace")[-2000:]
        assert health["articles"] == 1 and health["chunks"] > 0
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/ask",
                                         json.dumps({"question": SEED_QUESTION}).encode(),
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = json.load(response)
        assert answer["citations"] and "[1]" in answer["answer"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
            assert response.status == 200 and b"gradio" in response.read().lower()
    finally:
        process.terminate()
        process.wait(30)
    output = log.read_text(errors="replace")
    assert "The index is empty; indexing" in output
    started = re.search(r"Started in ([\d.]+) s \(assistant ([\d.]+) s, index checks ([\d.]+) s, web app ([\d.]+) s\)",
                        output)
    assert started, output[-2000:]
    total, *parts = map(float, started.groups())
    assert abs(total - sum(parts)) <= 0.15  # the stages add up (each rounded to 0.1 s)
