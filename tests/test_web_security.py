"""Who may change what the index holds, over HTTP (issue 32): cross-site writes, Gradio's CORS,
the web chat's upload caps, throttled keys and logins, unknown fields, the spec's limits.

Real index (embedded Chroma, the bundled model); the whole app (REST API and web chat) where the
web chat's own endpoints are concerned.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from assistant.apps.api.guards import Throttle

STORY = {"title": "Harbour bridge reopens", "source": "Harbour Ledger", "published_at": "2024-05-01",
         "body": "The harbour bridge reopened on Monday after repairs. Engineers said the cables were replaced."}


def story_file(name="story.json", **fields) -> tuple:
    return ("files", (name, json.dumps({**STORY, **fields}).encode(), "application/json"))


@pytest.fixture
def api(make_assistant):
    from assistant.apps.api import create_api

    def make(**overrides):
        assistant = make_assistant(**overrides)
        return TestClient(create_api(assistant, assistant.settings), raise_server_exceptions=False)
    return make


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "http://localhost:3000"},  # another port is another origin
    {"Origin": "null"},  # a sandboxed frame or a file: page
    {"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"},
    {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain's page
])
def test_writes_from_another_sites_page_are_refused_without_a_key(api, headers):
    client = api()
    planted = client.post("/api/articles", files=[story_file()], headers=headers)
    assert planted.status_code == 403 and planted.json()["error"]["type"] == "forbidden", planted.text
    assert "another site" in planted.json()["error"]["message"]
    assert client.get("/api/articles").json()["total"] == 0
    for method, path in (("DELETE", "/api/articles/some-id"), ("POST", "/api/feeds"), ("DELETE", "/api/feeds")):
        assert client.request(method, path, headers=headers, params={"url": "http://x.example/f"}).status_code == 403


def test_the_servers_own_pages_and_non_browser_clients_may_write(api):
    client = api()
    assert client.post("/api/articles", files=[story_file("a.json")],
                       headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}).status_code == 201
    assert client.post("/api/articles", files=[story_file("b.json", title="Ferry resumes", body="The ferry resumed on Tuesday. Crews said the pier is safe.")]).status_code == 201
    assert client.get("/api/articles").json()["total"] == 2
    # Reading is not a write: a page elsewhere may still not read the answer (no CORS), but it is not refused here.
    assert client.get("/api/health", headers={"Origin": "http://evil.example"}).status_code == 200


def test_with_a_key_a_cross_site_write_needs_it(api):
    client = api(api_key="s3cret")
    evil = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
    assert client.post("/api/articles", files=[story_file()], headers=evil).status_code == 403
    assert client.post("/api/articles", files=[story_file()], headers={**evil, "X-API-Key": "wrong"}).status_code == 401
    assert client.post("/api/articles", files=[story_file()],
                       headers={**evil, "X-API-Key": "s3cret"}).status_code == 201


def test_wrong_api_keys_are_throttled_per_address(api):
    client = api(api_key="s3cret")
    statuses = [client.get("/api/health", headers={"X-API-Key": f"guess-{i}"}).status_code for i in range(8)]
    assert statuses[:5] == [401] * 5 and set(statuses[6:]) == {429}, statuses
    limited = client.get("/api/health", headers={"X-API-Key": "guess-again"})
    assert limited.json()["error"]["type"] == "too_many_requests" and int(limited.headers["retry-after"]) >= 1


def test_a_throttle_lets_a_few_failures_pass_then_waits_longer_each_time():
    now = [0.0]
    waited = []
    throttle = Throttle(free=3, window=60, step=0.5, longest=2.0, clock=lambda: now[0], sleep=waited.append)
    for _ in range(7):
        assert throttle.check("login", lambda: False) is False
    assert waited == [0.5, 1.0, 1.5, 2.0]  # the 4th to 7th attempts, up to the longest wait
    assert throttle.check("login", lambda: True) is True and waited[-1] == 2.0  # the right password still works
    assert throttle.wait_for("someone else") == 0
    now[0] += 61  # the failures are out of the window
    assert throttle.wait_for("login") == 0


def test_web_logins_are_slowed_after_a_few_failures():
    from assistant.apps.api.guards import password_check

    waited = []
    check = password_check("k3y", Throttle(free=5, sleep=waited.append))
    assert [check("me", f"guess-{i}") for i in range(8)] == [False] * 8
    assert len(waited) == 3 and 0 < waited[0] < waited[1] < waited[2]  # the 6th to 8th waited, longer each time
    assert check("me", "k3y") is True


def test_unknown_request_fields_are_refused_naming_them(api):
    client = api()
    for body, field in (({"question": "Who reopened the bridge?", "since": "2024-01-01"}, "since"),
                        ({"question": "Who?", "filters": {"source": ["Harbour Ledger"]}}, "filters.source"),
                        ({"url": "https://example.com/rss.xml", "fetchh": False}, "fetchh")):
        path = "/api/feeds" if "url" in body else "/api/ask"
        refused = client.post(path, json=body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["message"].startswith(f"{field}: unknown field"), refused.json()


def test_the_openapi_spec_states_the_limits(api):
    spec = api(max_upload_files=7, max_question_chars=500).get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert schemas["AskRequest"]["properties"]["question"]["maxLength"] == 500
    assert schemas["AskRequest"]["additionalProperties"] is False
    files = next(s["properties"]["files"] for name, s in schemas.items() if name.startswith("Body_upload_articles"))
    assert files["maxItems"] == 7
    assert schemas["FeedRequest"]["properties"]["url"]["format"] == "uri"
    assert "RFC 2822" in schemas["RequestFilters"]["properties"]["since"]["description"]
    assert "plain text" in spec["info"]["description"]  # `answer` is documented as text to escape, not HTML


# --- the whole app: the web chat's own endpoints --------------------------------------------------

@pytest.fixture
def whole_app(make_assistant):
    from assistant.apps.server import create_app

    assistant = make_assistant(max_upload_files=3, max_upload_mb=0.05)
    with TestClient(create_app(assistant, assistant.settings), raise_server_exceptions=False) as client:
        yield client


def test_gradios_cors_does_not_cover_the_api(whole_app):
    preflight = whole_app.options("/api/articles/some-id", headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "DELETE"})
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code == 405 and preflight.headers["allow"] == "DELETE"
    deleted = whole_app.delete("/api/articles/some-id", headers={"Origin": "http://localhost:3000"})
    assert deleted.status_code == 403


def test_the_web_chats_uploads_are_capped_per_request(whole_app):
    small = [("files", (f"s{i}.json", b"{}", "application/json")) for i in range(3)]
    assert whole_app.post("/gradio_api/upload", files=small).status_code == 200
    too_many = [("files", (f"s{i}.json", b"{}", "application/json")) for i in range(4)]
    refused = whole_app.post("/gradio_api/upload", files=too_many)
    assert refused.status_code == 413 and "At most 3 files" in refused.json()["error"]["message"]
    # Each file under the 52 KB a file may have, together over the 52 KB (and the multipart overhead) of a request.
    too_big = [("files", (f"b{i}.json", b"x" * 50_000, "application/json")) for i in range(3)]
    assert whole_app.post("/gradio_api/upload", files=too_big).status_code == 413
    cross_site = whole_app.post("/gradio_api/upload", files=small, headers={"Origin": "http://evil.example"})
    assert cross_site.status_code == 403
