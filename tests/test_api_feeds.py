"""The REST API's feeds endpoints and syndicated copies, against a local HTTP site (real index)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from live_fixtures import OTHER, WIRE, page, rss


@pytest.fixture
def api(make_assistant):
    from assistant.apps.api import create_api

    assistant = make_assistant(fetch_host_delay=0, fetch_timeout=2, fetch_allow="127.0.0.1")
    return TestClient(create_api(assistant, assistant.settings), raise_server_exceptions=False)


def test_subscribe_list_refresh_unsubscribe(site, api):
    site.add("/a/council", page("Riverton approves desalination plant", WIRE, "Riverton Post"))
    site.add("/a/gone", b"no", status=404, content_type="text/plain")
    feed = site.add("/feed.xml", rss("Riverton Post", [("Council", "/a/council", "Tue, 05 Nov 2024 10:00:00 GMT"),
                                                       ("Gone", "/a/gone", "Tue, 05 Nov 2024 11:00:00 GMT")]),
                    content_type="application/rss+xml", etag='"1"')
    created = api.post("/api/feeds", json={"url": feed})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["feed"]["url"] == feed and body["feed"]["title"] == "Riverton Post" and body["feed"]["items"] == 2
    status = {item["url"]: (item["status"], item["reason"]) for item in body["items"]}
    assert status[site.url("/a/council")][0] == "added"
    assert status[site.url("/a/gone")][0] == "failed" and "404" in status[site.url("/a/gone")][1]

    assert [f["url"] for f in api.get("/api/feeds").json()["feeds"]] == [feed]
    again = api.post("/api/feeds/refresh", json={})
    assert again.status_code == 200
    assert [i["status"] for i in again.json()[0]["items"]] == ["unchanged", "failed"]  # the failed item is retried
    unknown = api.post("/api/feeds/refresh", json={"urls": ["http://127.0.0.1:9/nope.xml"]})
    assert unknown.status_code == 404 and "not a subscribed feed" in unknown.json()["error"]["message"]

    assert api.delete("/api/feeds", params={"url": feed}).json() == {"deleted": feed}
    assert api.get("/api/feeds").json() == {"feeds": []}
    assert api.delete("/api/feeds", params={"url": feed}).status_code == 404
    assert api.get("/api/articles").json()["total"] == 1  # what the feed brought stays


def test_a_bad_feed_url_is_refused_with_the_fix(api):
    refused = api.post("/api/feeds", json={"url": "javascript:alert(1)"})
    assert refused.status_code == 400
    assert "not an http(s) URL" in refused.json()["error"]["message"]


def test_articles_and_citations_name_the_other_outlets(site, api):
    pages = [("Riverton Post", "/post/c", "Tue, 05 Nov 2024 10:00:00 GMT"),
             ("Coastal Herald", "/herald/c", "Tue, 05 Nov 2024 12:00:00 GMT")]
    for outlet, path, date in pages:
        site.add(path, page("Riverton approves desalination plant", WIRE, outlet,
                            f"<p>Republished by the {outlet} newsroom.</p>"))
        site.add(path + ".xml", rss(outlet, [("Riverton approves desalination plant", path, date)]),
                 content_type="application/rss+xml")
        assert api.post("/api/feeds", json={"url": site.url(path + ".xml")}).status_code == 201
    site.add("/snow", page("Snow closes mountain pass again", OTHER, "Coastal Herald"))
    site.add("/snow.xml", rss("Coastal Herald", [("Snow", "/snow", "Wed, 06 Nov 2024 08:00:00 GMT")]),
             content_type="application/rss+xml")
    assert api.post("/api/feeds", json={"url": site.url("/snow.xml")}).status_code == 201

    rows = {(r["source"], r["title"]): r for r in api.get("/api/articles").json()["articles"]}
    post = rows[("Riverton Post", "Riverton approves desalination plant")]
    assert post["duplicates"] == [{"source": "Coastal Herald", "url": site.url("/herald/c"),
                                   "published_at": "2024-11-05T12:00:00Z"}]
    assert rows[("Coastal Herald", "Snow")]["duplicates"] == []
    answer = api.post("/api/ask", json={"question": "Who is the mayor of Riverton?"}).json()
    story = [c for c in answer["citations"] if "desalination" in c["title"]]
    assert story and all(len(c["also_published_by"]) == 1 for c in story)
    assert len({p["article_id"] for p in answer["passages"] if "desalination" in p["title"]}) == 1
