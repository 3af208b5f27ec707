"""The article table (assistant/index/articles.py): one record per article, kept with its chunks.

Real Chroma in temp dirs (embedded, and a `chroma run` server), the real bundled model. After every
kind of write — ingest, update, prune, delete, kill -9 mid-write and the repair — the table must
say exactly what the chunks say, and the bodies must be the articles' own; an index built before
the table existed is read correctly from its chunks until the next writer fills the table.
"""

from __future__ import annotations

import pickle
import shutil
from collections import Counter
from pathlib import Path

import pytest

from test_reliability import CRASH_SCRIPT, ChromaProcess, place, run_crash, story, write_stories


def read_articles(folder: Path) -> dict:
    from assistant.ingest.readers import read_paths

    return {a.id: a for a in read_paths([folder]).articles}


def chunk_rows(store) -> dict[str, dict]:
    """What the chunks say of each article in place: its fields and chunk count (the old way of listing)."""
    rows: dict[str, dict] = {}
    for chunk in store.iter_chunks():
        m = chunk.metadata
        row = rows.setdefault(m["article_id"], {
            "title": m["title"], "source": m["source"] or None, "published_at": m["published_at"] or None,
            "url": m["url"] or None, "content_hash": m["content_hash"], "chunks": 0})
        row["chunks"] += 1
    return rows


def assert_table_agrees(assistant, articles: dict) -> None:
    """The table is current, holds no staged record, and says what the chunks say; bodies are the articles'."""
    from assistant.service.shared import SharedAssistant

    store = assistant.store
    assert store.article_table_current() and not store.interrupted()
    raw = store.article_table.get(include=["metadatas"])
    assert sorted(raw["ids"]) == sorted(articles), "one record per article, no staged ones"
    chunks = chunk_rows(store)
    assert sorted(chunks) == sorted(articles)
    records = {r.article_id: r for r in store.article_records(bodies=True)}
    assert sorted(records) == sorted(articles)
    for aid, article in articles.items():
        r = records[aid]
        assert (r.title, r.source, r.published_at, r.url) == (article.title, article.source, article.published_at,
                                                              article.url)
        assert {k: chunks[aid][k] for k in ("title", "source", "published_at", "url")} == \
            {"title": r.title, "source": r.source, "published_at": r.published_at, "url": r.url}
        assert (r.content_hash, r.chunk_count) == (article.content_hash, chunks[aid]["chunks"])
        assert r.content_hash == chunks[aid]["content_hash"]
        assert r.body == article.body
        assert store.article_record(aid) == r
    rows = assistant.articles()
    assert [(row["id"], row["chunks"]) for row in rows] == \
        [(aid, chunks[aid]["chunks"]) for aid in sorted(articles, key=lambda a: (
            articles[a].published_at or "", articles[a].title), reverse=True)]
    assert SharedAssistant(assistant).counts() == (len(articles), store.count())


def test_the_table_follows_ingest_update_prune_and_delete(make_assistant, tmp_path):
    from assistant.answer.quotes import QuoteFinder

    folder = tmp_path / "stories"
    write_stories(folder, [0], sentences=12)  # several chunks
    write_stories(folder, range(1, 5))
    assistant = make_assistant()
    assert assistant.articles() == [] and assistant.store.article_record("nope") is None
    assert assistant.ingest([folder]).added == 5
    articles = read_articles(folder)
    assert_table_agrees(assistant, articles)
    assert max(r["chunks"] for r in assistant.articles()) > 1

    write_stories(folder, [0], version=2, sentences=4)  # fewer chunks, new text
    write_stories(folder, [1], version=2, sentences=14)  # more chunks
    write_stories(folder, [5])
    report = assistant.ingest([folder])
    assert (report.updated, report.added) == (2, 1)
    articles = read_articles(folder)
    assert_table_agrees(assistant, articles)

    (folder / "story_003.json").unlink()
    assert assistant.ingest([folder], prune=True).removed == 1
    articles = read_articles(folder)
    assert_table_agrees(assistant, articles)

    gone = story(4)
    gone_id = next(aid for aid, a in articles.items() if a.url == gone["url"])
    assert assistant.delete_article(gone_id)
    del articles[gone_id]
    assert_table_agrees(assistant, articles)
    assert assistant.store.article_record(gone_id) is None
    bodies = {a.article_id: a.body for a in QuoteFinder(assistant.store).articles()}
    assert bodies == {aid: a.body for aid, a in articles.items()}


def metadata_of(store) -> dict:
    return dict(store.client.get_collection(store.name).metadata)


def _old_style(store) -> None:
    """Make ``store``'s index look written before the table existed: no table, no mark of one (then
    open it again: ``store`` still holds the dropped table)."""
    from assistant.index.store import TABLE_AT_KEY, TABLE_ID_KEY

    store.client.delete_collection(store.article_table.name)
    store.collection.modify(metadata={k: v for k, v in metadata_of(store).items()
                                      if k not in (TABLE_ID_KEY, TABLE_AT_KEY)})  # modify() replaces it all


def test_an_index_built_before_the_table_is_read_from_its_chunks_then_filled(make_assistant, tmp_path):
    folder = tmp_path / "stories"
    write_stories(folder, [0], sentences=12)
    write_stories(folder, range(1, 4))
    built = make_assistant()
    built.ingest([folder])
    articles = read_articles(folder)
    expected = built.articles()
    _old_style(built.store)

    old = make_assistant()  # reopened by this version
    assert not old.store.article_table_current() and old.store.article_table.count() == 0
    assert old.articles() == expected, "read from the chunks, never an empty table"
    assert old.store.article_counts() == (len(expected), old.store.count())
    assert old.store.article_record(expected[0]["id"]).body == articles[expected[0]["id"]].body
    with old.store.session():  # the first writer fills it (so does a server start: recover() takes the session)
        pass
    assert old.store.article_table.count() == len(articles)
    assert_table_agrees(old, articles)  # bodies rebuilt from the chunks are the articles' own here
    report = old.ingest([folder])
    assert (report.added, report.updated, report.chunks_embedded) == (0, 0, 0)
    assert_table_agrees(old, articles)

    # A writer that does not keep the table (an older version) deletes an article's chunks and bumps
    # the revision the old way: readers see the table is behind and read the chunks; the next session fills it.
    victim = expected[1]["id"]
    old.store.collection.delete(where={"article_id": victim})
    metadata = metadata_of(old.store)
    old.store.collection.modify(metadata={**metadata, "revision": metadata["revision"] + 2})
    assert not old.store.article_table_current()
    assert victim not in {r["id"] for r in old.articles()}
    assert old.ingest([folder]).added == 1  # written again: its chunks were gone
    assert_table_agrees(old, articles)


def test_a_second_store_on_the_same_data_dir_sees_the_first_ones_writes(make_assistant, tmp_path):
    from assistant.service.shared import SharedAssistant

    folder = tmp_path / "stories"
    write_stories(folder, range(3))
    writer, reader = make_assistant(), make_assistant()
    assert reader.articles() == [] and SharedAssistant(reader).counts() == (0, 0)
    writer.ingest([folder])
    assert reader.articles() == writer.articles() and len(reader.articles()) == 3
    assert_table_agrees(reader, read_articles(folder))
    listed = reader.articles()  # the reader keeps this listing while the index's revision stays
    write_stories(folder, [1], version=2, sentences=9)
    writer.ingest([folder])
    assert reader.articles() == writer.articles() != listed, "a write elsewhere is listed at once"
    changed = reader.store.article_record(next(r["id"] for r in reader.articles() if place(1) in r["title"]))
    assert "version 2" in changed.body and changed.chunk_count == len(writer.store.article_chunks(changed.article_id))
    assert next(r["chunks"] for r in reader.articles() if r["id"] == changed.article_id) == changed.chunk_count
    assert writer.delete_article(changed.article_id)
    assert reader.store.article_record(changed.article_id) is None
    assert changed.article_id not in {r["id"] for r in reader.articles()} and len(reader.articles()) == 2
    assert SharedAssistant(reader).counts() == (2, writer.store.count())
    assert_table_agrees(reader, {aid: a for aid, a in read_articles(folder).items() if aid != changed.article_id})


# --- kill -9 mid-write ---------------------------------------------------------------------------------
V1 = {0: 12, 1: 4, 2: 4, 3: 4}  # story number -> sentences
V2 = {0: 5, 1: 10, 3: 4, 4: 4}  # 0 and 1 changed (fewer and more chunks), 2 pruned, 4 added
# Where the ingest of V2 dies (the step hook of assistant/index/store.py, the N-th time it is reached):
# a changed article's new version half staged, whole staged, its old chunks deleted, its new chunks in
# place but not its record; a new article's record written but not its chunks; a pruned article's chunks
# deleted but not its record; every write done but the section not settled.
CRASHES = [("sentences", 1), ("staged", 1), ("delete", 1), ("chunks", 1), ("sentences", 5), ("deleted", 1),
           ("bump", 1)]


def _write_version(folder: Path, counts: dict, changed=()) -> None:
    for n, sentences in counts.items():
        write_stories(folder, [n], 2 if n in changed else 1, sentences)


def test_kill_9_mid_write_leaves_a_table_the_repair_makes_agree(make_assistant, embedder, tmp_path):
    from assistant import Settings, build_assistant

    v1, v2 = tmp_path / "v1", tmp_path / "v2"
    _write_version(v1, V1)
    _write_version(v2, V2, changed=(0, 1))
    template = build_assistant(Settings(data_dir=tmp_path / "template"), embedder=embedder)
    template.ingest([v1])
    articles_v1, articles_v2 = read_articles(v1), read_articles(v2)
    ahead = template.indexer.embed_ahead(list(articles_v2.values()))
    template.store.client.close()
    job, script = tmp_path / "job.pickle", tmp_path / "crash_ingest.py"
    job.write_bytes(pickle.dumps((list(articles_v2.values()), ahead, embedder.identity)))
    script.write_text(CRASH_SCRIPT)
    setup = {"script": script, "job": job}
    by_hash = {a.content_hash: a for a in [*articles_v1.values(), *articles_v2.values()]}
    outcomes = Counter()
    for i, (step, nth) in enumerate(CRASHES):
        data = tmp_path / f"trial{i}"
        shutil.copytree(tmp_path / "template", data)
        ended, _ = run_crash(setup, data, {"ASSISTANT_TEST_CRASH_AT": step, "ASSISTANT_TEST_CRASH_AFTER": str(nth)})
        assert ended == "crashed", f"the ingest did not reach {step} #{nth}"
        assistant = build_assistant(Settings(data_dir=data), embedder=embedder)
        assert assistant.store.interrupted()
        assert not assistant.store.article_table_current(), "a crashed writer's table waits for the repair"
        rows = _rows_from_chunks(assistant.store)
        assert assistant.articles() == rows, "readers read the chunks meanwhile"
        assert assistant.store.article_counts() == (len(rows), sum(r["chunks"] for r in rows))
        done = assistant.store.repair()
        outcomes[step] += 1
        # Repaired alone (the journal not replayed yet): the table says what the chunks say, and each
        # body is that of the version in place (old or new).
        in_place = {aid: by_hash[row["content_hash"]] for aid, row in chunk_rows(assistant.store).items()}
        assert_table_agrees(assistant, in_place)
        if (step, nth) == ("chunks", 1):
            assert done["records_promoted"] == 1 and done["records_rebuilt"] == 0, done
        report = assistant.ingest([v2], prune=True)  # replays the journal
        assert report.failed == 0
        assert_table_agrees(assistant, articles_v2)
        assistant.store.client.close()
        shutil.rmtree(data, ignore_errors=True)
    assert sum(outcomes.values()) == len(CRASHES)


def _rows_from_chunks(store) -> list[dict]:
    """Assistant.articles() as it was before the table: every chunk read."""
    rows: dict[str, dict] = {}
    for chunk in store.iter_chunks():
        m = chunk.metadata
        row = rows.setdefault(m["article_id"], {
            "id": m["article_id"], "article_id": m["article_id"], "title": m.get("title", ""),
            "source": m.get("source") or None, "author": m.get("author") or None,
            "published_at": m.get("published_at") or None, "category": m.get("category") or None,
            "url": m.get("url") or None, "chunks": 0, "furniture_dropped": int(m.get("furniture_dropped") or 0)})
        row["chunks"] += 1
    return sorted(rows.values(), key=lambda r: (r["published_at"] or "", r["title"]), reverse=True)


# --- server mode -----------------------------------------------------------------------------------------
@pytest.mark.server
@pytest.mark.slow
def test_server_mode_two_machines_share_the_table(make_assistant, tmp_path):
    server = ChromaProcess(tmp_path / "chroma-server", tmp_path / "chroma.log").start()
    try:
        settings = dict(chroma_url=f"http://127.0.0.1:{server.port}", collection="table_news")
        folder = tmp_path / "stories"
        write_stories(folder, range(3))
        writer = make_assistant(data_dir=tmp_path / "machine-a", **settings)
        writer.ingest([folder])
        reader = make_assistant(data_dir=tmp_path / "machine-b", **settings)  # another machine: own data dir
        assert_table_agrees(reader, read_articles(folder))
        write_stories(folder, [2], version=2, sentences=9)
        write_stories(folder, [3])
        writer.ingest([folder])
        assert_table_agrees(reader, read_articles(folder))
        expected = reader.articles()
        _old_style(writer.store)  # as if built before the table; then upgraded on a third machine
        upgraded = make_assistant(data_dir=tmp_path / "machine-c", **settings)
        assert not upgraded.store.article_table_current()
        assert upgraded.articles() == expected, "no table: read from the chunks"
        with upgraded.store.session():  # its first writer session fills the table
            pass
        assert_table_agrees(upgraded, read_articles(folder))
        assert_table_agrees(make_assistant(data_dir=tmp_path / "machine-d", **settings), read_articles(folder))
    finally:
        server.stop()
