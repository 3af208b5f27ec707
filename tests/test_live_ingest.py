"""Live news end to end: feeds and pages from a local HTTP site, through ingest, the feeds
commands, syndicated copies and freshness, into answers (real Chroma, the real bundled model)."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from assistant.apps.cli import main
from live_fixtures import OTHER, WIRE, page, rss
from live_http import LocalSite

@pytest.fixture
def cli(monkeypatch, embedder):
    """Run the CLI against the test's index, sharing the session's loaded model; no host delay."""
    from assistant.apps import cli as cli_module, feeds_cli
    from assistant import Settings, build_assistant

    monkeypatch.setenv("ASSISTANT_FETCH_HOST_DELAY", "0")
    monkeypatch.setenv("ASSISTANT_FETCH_TIMEOUT", "2")
    monkeypatch.setenv("ASSISTANT_FETCH_ALLOW", "127.0.0.1")  # the test site is on loopback
    build = lambda **overrides: build_assistant(Settings(**overrides), embedder=embedder)  # noqa: E731

    def run(*args):
        result = CliRunner().invoke(main, list(args), obj=build)
        return result
    return run


def serve_feed(site: LocalSite) -> str:
    site.add("/a/council", page("Riverton approves desalination plant", WIRE, "Riverton Post"), etag='"c1"')
    site.add("/a/snow", page("Snow closes mountain pass again", OTHER, "Riverton Post"), etag='"s1"')
    return site.add("/feed.xml", rss("Riverton Post", [
        ("Riverton approves desalination plant", "/a/council", "Tue, 05 Nov 2024 10:00:00 GMT"),
        ("Snow closes mountain pass again", "/a/snow", "Wed, 06 Nov 2024 08:30:00 +0100"),
    ]), content_type="application/rss+xml", etag='"f1"')


def test_ingest_a_feed_url_then_nothing_is_fetched_or_embedded_again(site, cli):
    feed = serve_feed(site)
    first = cli("ingest", feed, "--json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    rows = {row["url"]: row for row in report["items"]}
    assert rows[site.url("/a/council")]["status"] == "added" and rows[site.url("/a/snow")]["status"] == "added"
    assert all(set(row) >= {"url", "status", "article_id", "reason"} for row in report["items"])

    listed = json.loads(cli("articles", "--json").output)
    council = next(a for a in listed if a["title"] == "Riverton approves desalination plant")
    assert council["source"] == "Riverton Post" and council["published_at"] == "2024-11-05T10:00:00Z"
    assert council["url"] == site.url("/a/council") and council["chunks"] >= 1 and council["duplicates"] == []
    snow = next(a for a in listed if a["title"] == "Snow closes mountain pass again")
    assert snow["published_at"] == "2024-11-06T07:30:00Z"  # +0100 to UTC

    fetched_pages = len(site.requests_for("/a/council"))
    again = json.loads(cli("ingest", feed, "--json").output)
    assert again["chunks_embedded"] == 0 and again["added"] == 0 and again["updated"] == 0
    assert [row["status"] for row in again["items"]] == ["unchanged"]  # the feed answered 304
    assert site.requests_for("/feed.xml")[-1].headers.get("if-none-match") == '"f1"'
    assert len(site.requests_for("/a/council")) == fetched_pages  # its items were not fetched again


def test_every_failed_item_is_named_and_the_rest_is_indexed(site, cli):
    site.add("/a/council", page("Riverton approves desalination plant", WIRE, "Riverton Post"))
    site.add("/a/missing", b"gone", status=404, content_type="text/plain")
    site.add("/a/broken", b"oops", status=500, content_type="text/plain")
    site.add("/a/photo", b"\x89PNG\r\n\x1a\n" + b"0" * 100, content_type="image/png")
    site.add("/a/slow", page("Slow", OTHER, "Riverton Post"), delay=5)
    feed = site.add("/feed.xml", rss("Riverton Post", [
        ("Council", "/a/council", "Tue, 05 Nov 2024 10:00:00 GMT"),
        ("Missing", "/a/missing", "Tue, 05 Nov 2024 11:00:00 GMT"),
        ("Broken", "/a/broken", "Tue, 05 Nov 2024 12:00:00 GMT"),
        ("Photo", "/a/photo", "Tue, 05 Nov 2024 13:00:00 GMT"),
        ("Slow", "/a/slow", "Tue, 05 Nov 2024 14:00:00 GMT"),
    ]), content_type="application/rss+xml")
    bad = site.add("/bad.xml", "<?xml version='1.0'?><rss><channel><title>x</title><item></channel>",
                   content_type="application/rss+xml")
    result = cli("ingest", feed, bad, "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    status = {row["url"]: (row["status"], row["reason"] or "") for row in report["items"]}
    assert status[site.url("/a/council")][0] == "added"
    assert status[site.url("/a/missing")][0] == "failed" and "404" in status[site.url("/a/missing")][1]
    assert status[site.url("/a/broken")][0] == "failed" and "500" in status[site.url("/a/broken")][1]
    assert status[site.url("/a/photo")][0] == "failed" and "image/png" in status[site.url("/a/photo")][1]
    assert status[site.url("/a/slow")][0] == "failed" and "timed out" in status[site.url("/a/slow")][1]
    assert status[bad][0] == "failed" and status[bad][1]
    assert report["added"] == 1 and report["failed"] == 5


def test_a_story_in_three_outlets_is_one_group_and_each_citation_names_the_others(site, cli):
    outlets = [("Riverton Post", "/post/council", "Riverton approves desalination plant",
                "Tue, 05 Nov 2024 10:00:00 GMT", ""),
               ("Coastal Herald", "/herald/council", "Council backs Riverton water plant",
                "Tue, 05 Nov 2024 12:15:00 GMT", "<p>This story was first published by the Riverton Post.</p>"),
               ("State Wire", "/wire/council", "Riverton votes for desalination",
                "Tue, 05 Nov 2024 09:40:00 GMT", "<p>RIVERTON (State Wire) \u2014 Updated at 9:40 a.m.</p>")]
    for outlet, path, title, date, extra in outlets:
        site.add(path, page(title, WIRE, outlet, extra))
        site.add(path + ".xml", rss(outlet, [(title, path, date)]), content_type="application/rss+xml")
    site.add("/other/snow", page("Snow closes mountain pass again", OTHER, "Coastal Herald"))
    site.add("/other.xml", rss("Coastal Herald", [("Snow", "/other/snow", "Wed, 06 Nov 2024 08:00:00 GMT")]),
             content_type="application/rss+xml")
    result = cli("ingest", *[site.url(path + ".xml") for _, path, *_ in outlets], site.url("/other.xml"), "--json")
    assert result.exit_code == 0, result.output

    listed = {a["source"] + " " + a["title"]: a for a in json.loads(cli("articles", "--json").output)}
    for outlet, path, title, date, _ in outlets:
        copies = listed[f"{outlet} {title}"]["duplicates"]
        assert sorted(c["source"] for c in copies) == sorted(o for o, *_ in outlets if o != outlet)
        assert all(c["url"] and c["published_at"] for c in copies)
    assert listed["Coastal Herald Snow"]["duplicates"] == []

    asked = json.loads(cli("ask", "How much will the Riverton desalination plant cost?", "--json").output)
    assert not asked["abstained"]
    story_articles = {a["article_id"] for key, a in listed.items() if "snow" not in key.lower()}
    cited = [c for c in asked["citations"] if c["article_id"] in story_articles]
    assert cited, asked["answer"]
    assert len({p["article_id"] for p in asked["passages"] if p["article_id"] in story_articles}) == 1  # one copy
    for c in cited:
        assert len(c["also_published_by"]) == 2 and c["source"] not in {x["source"] for x in c["also_published_by"]}


def test_a_feed_listing_several_outlets_pages_keeps_each_pages_own_outlet(site, cli):
    """A digest feed links to the original and to another outlet's copy: each article is labelled
    with its page's og:site_name (not the feed's title), so the copy names the other outlet."""
    stories = [("Riverton Post", "/post/council", "Riverton approves desalination plant",
                "Tue, 05 Nov 2024 10:00:00 GMT", ""),
               ("Coastal Herald", "/herald/council", "Council backs Riverton water plant",
                "Tue, 05 Nov 2024 12:15:00 GMT", "<p>This story was first published by the Riverton Post.</p>")]
    for outlet, path, title, _, extra in stories:
        site.add(path, page(title, WIRE, outlet, extra))
    feed = site.add("/digest.xml", rss("Morning Digest", [(t, path, date) for _, path, t, date, _ in stories]),
                    content_type="application/rss+xml")
    result = cli("ingest", feed, "--json")
    assert result.exit_code == 0, result.output

    listed = {a["title"]: a for a in json.loads(cli("articles", "--json").output)}
    for outlet, _, title, _, _ in stories:
        assert listed[title]["source"] == outlet
        assert [c["source"] for c in listed[title]["duplicates"]] == [o for o, *_ in stories if o != outlet]
    asked = json.loads(cli("ask", "How much will the Riverton desalination plant cost?", "--json").output)
    cited = [c for c in asked["citations"] if c["also_published_by"]]
    assert cited, asked["answer"]
    for c in cited:
        assert c["source"] in {"Riverton Post", "Coastal Herald"}
        assert [x["source"] for x in c["also_published_by"]] == [o for o, *_ in stories if o != c["source"]]


def test_an_exact_copy_under_another_url_is_recorded_not_indexed(site, cli):
    body = page("Riverton approves desalination plant", WIRE, "Riverton Post")
    first, second = site.add("/a/council", body), site.add("/mirror/council", body)
    report = json.loads(cli("ingest", first, second, "--json").output)
    status = {row["url"]: row["status"] for row in report["items"]}
    assert status == {first: "added", second: "duplicate"}
    listed = json.loads(cli("articles", "--json").output)
    assert len(listed) == 1 and [c["url"] for c in listed[0]["duplicates"]] == [second]


def test_an_edited_article_is_updated_not_duplicated(site, cli):
    path = "/a/council"
    site.add(path, page("Riverton approves desalination plant", WIRE, "Riverton Post"), etag='"v1"')
    assert json.loads(cli("ingest", site.url(path), "--json").output)["added"] == 1
    edited = WIRE.replace("410 million dollars", "455 million dollars")
    site.add(path, page("Riverton approves desalination plant", edited, "Riverton Post"), etag='"v2"')
    report = json.loads(cli("ingest", site.url(path), "--json").output)
    assert [row["status"] for row in report["items"]] == ["updated"]
    assert site.requests_for(path)[-1].headers.get("if-none-match") == '"v1"'
    listed = json.loads(cli("articles", "--json").output)
    assert len(listed) == 1
    answer = json.loads(cli("ask", "How much will the desalination plant cost?", "--json").output)
    assert "455 million" in answer["answer"] and "410 million" not in answer["answer"]


def test_feeds_add_list_refresh_remove(site, cli):
    feed = serve_feed(site)
    added = cli("feeds", "add", feed)
    assert added.exit_code == 0, added.output
    assert "Riverton Post" in added.output and "2 new or changed" in added.output

    listed = json.loads(cli("feeds", "list", "--json").output)
    assert [f["url"] for f in listed] == [feed]
    assert listed[0]["last_status"] == "ok" and listed[0]["items"] == 2 and listed[0]["new_items"] == 2

    site.add("/a/bridge", page("Old bridge to be replaced", OTHER.replace("snow", "rust"), "Riverton Post"))
    site.add("/feed.xml", rss("Riverton Post", [
        ("Old bridge to be replaced", "/a/bridge", "Thu, 07 Nov 2024 10:00:00 GMT"),
        ("Riverton approves desalination plant", "/a/council", "Tue, 05 Nov 2024 10:00:00 GMT"),
        ("Snow closes mountain pass again", "/a/snow", "Wed, 06 Nov 2024 08:30:00 +0100"),
    ]), content_type="application/rss+xml", etag='"f2"')
    refreshed = json.loads(cli("feeds", "refresh", "--json").output)
    assert refreshed[0]["new_items"] == 1 and refreshed[0]["items"] == 3
    statuses = sorted(row["status"] for row in refreshed[0]["report"]["items"])
    assert statuses == ["added", "unchanged", "unchanged"]  # old pages answered 304
    assert site.requests_for("/a/council")[-1].headers.get("if-none-match") == '"c1"'

    site.add("/feed.xml", b"gone", status=404, content_type="text/plain")  # the feed disappears
    gone = cli("feeds", "refresh")
    assert gone.exit_code == 1 and "404" in gone.output
    assert json.loads(cli("feeds", "list", "--json").output)[0]["last_status"] == "failed"
    assert len(json.loads(cli("articles", "--json").output)) == 3  # what it brought stays

    assert cli("feeds", "remove", feed).exit_code == 0
    assert json.loads(cli("feeds", "list", "--json").output) == []
    assert len(json.loads(cli("articles", "--json").output)) == 3
    missing = cli("feeds", "remove", feed)
    assert missing.exit_code == 2 and "not a subscribed feed" in missing.output


def test_feeds_add_refuses_what_is_not_a_url(cli):
    result = cli("feeds", "add", "ftp://example.com/feed.xml")
    assert result.exit_code == 2 and "not an http(s) URL" in result.output


def test_the_server_refreshes_feeds_in_the_background_while_questions_are_answered(site, make_assistant):
    from assistant.live.schedule import FeedScheduler
    from assistant.service.shared import SharedAssistant

    feed = serve_feed(site)
    shared = SharedAssistant(make_assistant(fetch_host_delay=0, fetch_allow="127.0.0.1"))
    shared.ingest()  # the bundled article
    shared.add_feed(feed, fetch=False)
    scheduler = FeedScheduler(shared.refresh_feeds, minutes=60, first_after=0.1).start()
    try:
        answer = shared.ask("What did the expert say about China?")
        assert not answer.abstained
        deadline = time.monotonic() + 60
        while scheduler.runs < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        scheduler.stop()
    assert scheduler.runs == 1
    assert shared.feeds()[0].new_items == 2
    answer = shared.ask("Who is the mayor of Riverton?")
    assert any(c.source == "Riverton Post" for c in answer.citations), answer.answer


def test_questions_asking_for_the_latest_rank_newer_coverage_first(make_assistant):
    from datetime import date

    from assistant.models import Article

    assistant = make_assistant()
    # The oldest report matches the question's words best; only recency puts the newest first.
    bodies = {"spring": "The Riverton desalination plant is on budget, the Riverton council said of the Riverton "
                        "desalination plant in its spring report. Engineers said construction of the desalination "
                        "plant in Riverton is proceeding.",
              "summer": "The council said in its summer report that the water plant is on budget. Engineers said "
                        "construction is proceeding.",
              "autumn": "The council said in its autumn report that the water plant is over budget. Engineers said "
                        "construction has slowed."}
    dates = {"spring": "2024-03-01T09:00:00Z", "summer": "2024-06-01T09:00:00Z", "autumn": "2024-09-01T09:00:00Z"}
    assistant.indexer.ingest_articles([
        Article(title=f"Water plant update ({season})", source="Riverton Post", published_at=dates[season],
                url=f"https://example.invalid/{season}", body=body) for season, body in bodies.items()])
    assistant.bm25.ensure_fresh()
    today = date(2024, 9, 10)
    _, plain = assistant.retrieve("What about the Riverton desalination plant?", as_of=today)
    assert plain[0].published_at == dates["spring"]
    plan, latest = assistant.retrieve("What is the latest on the Riverton desalination plant?", as_of=today)
    assert latest[0].published_at == dates["autumn"]
    assert plan.notes["recency"] == {"reference_date": "2024-09-10", "half_life_days": 30.0, "asked": True}
    answer = assistant.ask("What is the latest on the Riverton desalination plant?", as_of=today)
    assert answer.citations[0].published_at == dates["autumn"]
    assert "2024-09-10" in answer.answer  # the date "latest" is measured from is said


def test_a_saved_atom_feed_file_is_read_and_its_items_fetched(site, cli, tmp_path):
    site.add("/a/council", page("Riverton approves desalination plant", WIRE, "Riverton Post"))
    site.add("/a/snow", page("Snow closes mountain pass again", OTHER, "Riverton Post"))
    feed = tmp_path / "riverton.atom"
    feed.write_text(
        "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
        f"<title>Riverton Post</title><link href='{site.url('/')}'/><id>urn:riverton</id>"
        "<updated>2024-11-06T08:00:00Z</updated>"
        f"<entry><title>Council votes</title><link href='{site.url('/a/council')}'/><id>urn:1</id>"
        "<published>2024-11-05T10:00:00Z</published><author><name>Ann Lee</name></author></entry>"
        "<entry><title>Snow again</title><link href='a/snow'/><id>urn:2</id>"  # relative to the site
        "<updated>2024-11-06T08:00:00Z</updated></entry></feed>", encoding="utf-8")
    result = cli("ingest", str(feed), "--json")
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)["items"]
    assert [(row["url"], row["status"]) for row in items] == [(site.url("/a/council"), "added"),
                                                              (site.url("/a/snow"), "added")]
    listed = {a["title"]: a for a in json.loads(cli("articles", "--json").output)}
    assert listed["Council votes"]["author"] == "Ann Lee" and listed["Council votes"]["source"] == "Riverton Post"


def test_a_page_over_the_size_limit_is_refused_and_named(site, cli, monkeypatch):
    monkeypatch.setenv("ASSISTANT_FETCH_MAX_MB", "0.1")
    big = site.add("/a/big", page("Huge", WIRE * 150, "Riverton Post"))
    small = site.add("/a/small", page("Riverton approves desalination plant", WIRE, "Riverton Post"))
    result = cli("ingest", big, small, "--json")
    assert result.exit_code == 1
    status = {row["url"]: (row["status"], row["reason"]) for row in json.loads(result.stdout)["items"]}
    assert status[small][0] == "added"
    assert status[big][0] == "failed" and "limit" in status[big][1]
