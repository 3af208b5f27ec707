"""Copies of one story grouped in a real SQLite file: the fixtures are written for this project
(tests/data/syndication, see docs/research/syndication.md)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from assistant.errors import ConfigError
from assistant.live.syndication import (
    DEFAULT_THRESHOLD, Copy, SyndicationIndex, normalized_text, signature, text_key,
)
from assistant.models import Article

FIXTURES = Path(__file__).parent / "data" / "syndication"
ROOT = Path(__file__).resolve().parent.parent


def load(name: str) -> tuple[dict, Article]:
    head, body = (FIXTURES / f"{name}.txt").read_text(encoding="utf-8").split("\n---\n", 1)
    meta = dict(line.split(": ", 1) for line in head.splitlines())
    return meta, Article(title=meta["title"], body=body, source=meta["source"], url=meta["url"],
                         published_at=meta["published_at"])


def article(name: str) -> Article:
    return load(name)[1]


ALL = sorted(p.stem for p in FIXTURES.glob("*.txt"))


def labelled_groups() -> list[list[str]]:
    groups: dict[str, list[str]] = {}
    for name in ALL:
        meta, _ = load(name)
        groups.setdefault(meta.get("group") or f"alone:{name}", []).append(name)
    return sorted(sorted(g) for g in groups.values())


def found_groups(index: SyndicationIndex, names: list[str]) -> list[list[str]]:
    by_id = {article(n).id: n for n in names}
    groups: dict[str, list[str]] = {}
    for article_id, group in index.group_of(by_id).items():
        groups.setdefault(group, []).append(by_id[article_id])
    return sorted(sorted(g) for g in groups.values())


@pytest.fixture
def index(tmp_path):
    idx = SyndicationIndex(tmp_path / "syndication.db")
    yield idx
    idx.close()


def test_fixtures_hold_seven_stories_and_seven_hard_negatives():
    metas = [load(n)[0] for n in ALL]
    stories = {m["group"] for m in metas if "group" in m}
    negatives = [m["negative_of"] for m in metas if "negative_of" in m]
    assert len(stories) == 7 and sorted(negatives) == sorted(stories)


def test_story_in_three_outlets_is_one_group_and_each_lists_the_other_two(index):
    names = ["quake-ap", "quake-independent", "quake-wtop"]
    groups = {index.record(article(n)) for n in names}
    ap, independent, wtop = (article(n) for n in names)
    assert groups == {ap.id}  # named after the first recorded copy
    assert [c.article_id for c in index.members(ap.id)] == [ap.id, independent.id, wtop.id]  # oldest first
    assert index.copies(independent.id) == [
        Copy(ap.id, "AP News", ap.url, "2026-11-10T14:05:00Z", ap.title, True),
        Copy(wtop.id, "WTOP", wtop.url, "2026-11-10T17:40:00Z", wtop.title, True),
    ]
    assert [c.source for c in index.copies(ap.id)] == ["The Independent", "WTOP"]
    assert [c.source for c in index.copies(wtop.id)] == ["AP News", "The Independent"]
    found = index.match(article("quake-fresnobee"))
    assert found.kind == "near" and found.group == ap.id and DEFAULT_THRESHOLD <= found.similarity < 1.0
    assert index.stats() == {"articles": 3, "groups": 1, "groups_with_copies": 1, "copies": 2}


def test_exact_duplicate_matches_exactly_and_is_recorded_unindexed(index):
    ap, abc = article("quake-ap"), article("quake-abcnews")
    assert ap.body != abc.body and text_key(ap.body) == text_key(abc.body)
    index.record(ap)
    found = index.match(abc)
    assert found.kind == "exact"
    assert (found.article_id, found.group, found.similarity) == (ap.id, ap.id, 1.0)
    assert index.record(abc, indexed=False) == ap.id
    assert [(c.article_id, c.indexed) for c in index.copies(ap.id)] == [(abc.id, False)]


def test_all_fixtures_group_as_labelled_hard_negatives_separate(index):
    for name in sorted(ALL, key=lambda n: load(n)[0]["published_at"]):
        index.record(article(name))
    assert found_groups(index, ALL) == labelled_groups()
    for name in ALL:
        meta, art = load(name)
        if "negative_of" in meta:
            assert index.copies(art.id) == [], name
            assert index.match(art) is None, name
    assert index.stats() == {"articles": 30, "groups": 14, "groups_with_copies": 7, "copies": 16}


def test_update_with_half_new_paragraphs_is_not_a_copy(index):
    index.record(article("breach-ap"))
    update = article("breach-ap-update")
    assert index.match(update) is None
    assert index.record(update) == update.id


def test_edited_article_keeps_one_row_and_is_rematched(index):
    ap, independent = article("quake-ap"), article("quake-independent")
    index.record(ap)
    index.record(independent)
    edited = ap.model_copy(update={"body": article("probe-ap").body})  # same id, another text
    new_group = index.record(edited)
    assert index.stats()["articles"] == 2
    assert new_group != ap.id  # the old group id is still held by the Independent copy
    assert index.group_of([ap.id, independent.id]) == {ap.id: new_group, independent.id: ap.id}
    assert index.copies(independent.id) == []
    index.record(article("probe-space"))
    assert [c.article_id for c in index.copies(ap.id)] == [article("probe-space").id]
    # Edited back: it matches the Independent copy again and rejoins its group.
    assert index.record(ap) == ap.id
    assert index.stats() == {"articles": 3, "groups": 2, "groups_with_copies": 1, "copies": 1}


def test_forget_removes_rows_and_the_others_keep_their_group(index):
    ap, independent, wtop = (article(n) for n in ["quake-ap", "quake-independent", "quake-wtop"])
    for a in (ap, independent, wtop):
        index.record(a)
    index.forget([ap.id, "never-recorded"])
    assert index.group_of([ap.id, independent.id, wtop.id]) == {independent.id: ap.id, wtop.id: ap.id}
    assert index.copies(ap.id) == []
    assert [c.article_id for c in index.copies(wtop.id)] == [independent.id]
    # Its buckets are gone too: the forgotten text now matches a remaining member.
    assert index.match(ap).article_id in {independent.id, wtop.id}
    assert index.stats() == {"articles": 2, "groups": 1, "groups_with_copies": 1, "copies": 1}


def test_groups_persist_for_a_second_instance_and_a_second_process(tmp_path):
    path = tmp_path / "syndication.db"
    first = SyndicationIndex(path)
    first.record(article("rates-reuters"))
    second = SyndicationIndex(path)  # open at the same time, its own connection
    assert second.record(article("rates-yahoo")) == article("rates-reuters").id
    first.close()
    second.close()

    fixture = FIXTURES / "rates-marketscreener.txt"
    script = f"""
import json
from pathlib import Path
from assistant.live.syndication import SyndicationIndex, signature
from assistant.models import Article
head, body = Path({str(fixture)!r}).read_text(encoding="utf-8").split("\\n---\\n", 1)
meta = dict(line.split(": ", 1) for line in head.splitlines())
art = Article(title=meta["title"], body=body, source=meta["source"], url=meta["url"], published_at=meta["published_at"])
index = SyndicationIndex(Path({str(path)!r}))
print(json.dumps({{"group": index.record(art), "signature": signature(body).tolist()}}))
index.close()
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    reply = json.loads(done.stdout)
    market = article("rates-marketscreener")
    assert reply["group"] == article("rates-reuters").id
    assert reply["signature"] == signature(market.body).tolist()  # the same MinHash in another process

    third = SyndicationIndex(path)
    assert [c.source for c in third.copies(article("rates-reuters").id)] == ["Yahoo Finance", "MarketScreener"]
    assert third.stats()["articles"] == 3
    third.close()


def test_short_text_matches_only_exactly(index):
    words = ("Stocks rose on Tuesday as investors bet the central bank would hold rates steady "
             "while oil prices fell for a third straight session on signs of weaker demand in Asia")
    assert len(words.split()) < 50
    brief = Article(title="Markets", body=words, url="https://a.example/brief")
    index.record(brief)
    same = Article(title="Markets brief", body=words.upper() + "!", url="https://b.example/brief")
    almost = Article(title="Markets", body=words.replace("Tuesday", "Wednesday"), url="https://c.example/brief")
    longer = Article(title="Markets", body=words + " " + article("rates-reuters").body, url="https://d.example/brief")
    assert index.match(same).kind == "exact"
    assert index.match(almost) is None
    assert index.match(longer) is None
    empty = Article(title="Photo gallery", body=" — ", url="https://e.example/gallery")
    index.record(empty)
    assert index.match(empty.model_copy(update={"id": "other", "url": "https://f.example"})) is None


def test_concurrent_writers_in_threads_and_two_instances(tmp_path):
    path = tmp_path / "syndication.db"
    shared, other = SyndicationIndex(path), SyndicationIndex(path)
    names = sorted(ALL)
    errors: list[BaseException] = []

    def write(idx: SyndicationIndex, part: list[str]) -> None:
        try:
            for name in part:
                idx.record(article(name))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(shared, names[0::3])),
               threading.Thread(target=write, args=(shared, names[1::3])),
               threading.Thread(target=write, args=(other, names[2::3]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    # Whatever the interleaving, every copy finds a recorded member of its story and nothing else.
    assert found_groups(shared, ALL) == labelled_groups()
    assert shared.stats() == other.stats() == {"articles": 30, "groups": 14, "groups_with_copies": 7, "copies": 16}
    shared.close()
    other.close()


def test_normalized_text_and_keys():
    assert normalized_text("  The “Quick”—brown\tFOX’s  den. ") == "the quick brown fox s den"
    assert text_key("Ａｂｃ, DEF!") == text_key("abc def")  # NFKC: full-width letters
    assert text_key("abc def") != text_key("abc deg")
    body = article("quake-ap").body
    assert (signature(body) == signature(body)).all() and signature(body).shape == (128,)


def test_threshold_out_of_range_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="1.5"):
        SyndicationIndex(tmp_path / "s.db", threshold=1.5)
    assert not (tmp_path / "s.db").exists()
