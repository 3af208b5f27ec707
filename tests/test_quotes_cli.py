"""Who said what (issue 16): ``assistant quotes PERSON [--about TOPIC] [--json]`` and the
QuoteFinder under it — every statement verbatim with its span, names matched like questions match
speakers, topics by shared words or similar meaning (measured here on the bundled article)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import assistant.apps.cli as cli
from assistant.answer.quotes import QuoteFinder
from conftest import SEED
from assistant.ingest.readers import read_file

BODY = read_file(SEED).articles[0].body  # as indexed: page furniture (a caption, a "Read also" link) left out
EXPERT = "Stanislav Zhelikhovsky"
TITLE = "It would be beneficial for Putin to stop military operations now"

# The expert's statements about each topic, by how they begin (hand-labelled; quotes.py states the
# precision and recall measured on them).
TOPICS = {
    "China": ["The international affairs expert noted", "He noted that Moscow", "At the same time, China’s",
              "Therefore, China is very beneficial", "In his opinion, Putin made", "But again, I want to emphasize"],
    "negotiations": ["Russian dictator Vladimir Putin would", "The international affairs expert noted",
                     "“That’s why now Putin", "He repeatedly recalls the negotiations"],
    "Putin": ["Russian dictator Vladimir Putin would", "“That’s why now Putin", "He repeatedly recalls the negotiations",
              "That then, let’s say", "Although it is completely clear", "In his opinion, Putin made"],
    "weapons": ["And, naturally, Russia now really needs", "The international affairs expert noted"],
    "occupied territories": ["“It would be very beneficial for Russia", "Although it is completely clear",
                             "And it was actually a shameful escape", "“That is, to stop military operations",
                             "Although she will actually not own"],
    "the Constitution": ["Although she will actually not own"],
}


@pytest.fixture
def run(seed_index, monkeypatch):
    runner = CliRunner()
    return lambda *args: runner.invoke(cli.main, list(args), catch_exceptions=False, obj=seed_index)


def test_quotes_lists_every_statement_of_the_expert_verbatim(run, seed_index):
    result = run("quotes", "Zhelikhovsky")
    assert result.exit_code == 0, result.output
    found = seed_index.quotes("Zhelikhovsky")
    assert len(found) == 19 and {q.speaker for q in found} == {EXPERT}
    assert result.output.startswith(f"{EXPERT}: 19 statements in 1 article.")
    assert "95.4% of 175 labelled sentences" in result.output, "the measured attribution accuracy is stated"
    assert TITLE in result.output and "undated · outlet unknown" in result.output
    for q in found:
        assert BODY[q.start:q.end] == q.sentence
        assert q.sentence in result.output and f"(characters {q.start}–{q.end}, " in result.output
    assert "“…Therefore, China is very beneficial for Russia in this regard,” Zhelikhovsky said." in result.output
    # The journalist's "This opinion was expressed … by Stanislav Zhelikhovsky" says who spoke; it is not
    # his statement (the sentence before it is, and is listed).
    assert not any(q.sentence.startswith("This opinion was expressed") for q in found)
    assert any(q.sentence.startswith("Russian dictator Vladimir Putin would now benefit") for q in found)


def test_quotes_json_holds_the_verbatim_sentence_span_and_article(run):
    result = run("quotes", "stanislav ZHELIKHOVSKY", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["person"] == "stanislav ZHELIKHOVSKY" and data["about"] is None and data["count"] == 19
    assert "attribution_eval" in data["attribution_accuracy"]
    for q in data["quotes"]:
        assert BODY[q["start"]:q["end"]] == q["sentence"]
        assert q["speaker"] == EXPERT and q["kind"] in ("quote", "reported")
        assert q["title"].startswith(TITLE) and q["article_id"]
        assert {"published_at", "source", "url", "author", "role", "cue"} <= set(q)
    assert [q["start"] for q in data["quotes"]] == sorted(q["start"] for q in data["quotes"]), "reading order"


def test_quotes_about_a_topic(run):
    result = run("quotes", "Zhelikhovsky", "--about", "China", "--json")
    data = json.loads(result.output)
    assert result.exit_code == 0 and data["about"] == "China"
    assert 3 <= data["count"] < 20
    assert all("China" in q["sentence"] or "Beijing" in q["sentence"] or "PRC" in q["sentence"] for q in data["quotes"])
    text = run("quotes", "Zhelikhovsky", "--about", "China").output
    assert text.startswith(f"{EXPERT}: {data['count']} statements about “China” in 1 article.")


def test_another_speaker_of_the_same_article(run):
    data = json.loads(run("quotes", "Putin", "--json").output)
    assert data["count"] == 3 and {q["speaker"] for q in data["quotes"]} == {"Vladimir Putin"}
    assert all(BODY[q["start"]:q["end"]] == q["sentence"] for q in data["quotes"])


def test_unknown_person_says_so_and_exits_1(run):
    result = run("quotes", "Angela Merkel")
    assert result.exit_code == 1
    assert "No statements attributed to “Angela Merkel” in the 1 indexed article" in result.output
    as_json = run("quotes", "Angela Merkel", "--json")
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["count"] == 0


def test_a_topic_the_person_never_spoke_about_says_so_and_exits_1(run):
    result = run("quotes", "Zhelikhovsky", "--about", "football")
    assert result.exit_code == 1
    assert f"None of the 19 statements attributed to {EXPERT} is about “football”" in result.output


@pytest.mark.parametrize("args", [("quotes", ""), ("quotes", "   "), ("quotes", "Zhelikhovsky", "--about", " ")])
def test_blank_person_or_topic_is_a_usage_error(run, args):
    result = run(*args)
    assert result.exit_code == 2 and "is blank" in result.output


def test_topic_rule_measured_on_the_bundled_article(seed_index, embedder):
    """The figures quotes.py states: precision 0.90, recall 0.79 over 6 topics × 20 statements."""
    finder = QuoteFinder(seed_index.store, embedder)
    statements = finder.quotes(EXPERT)
    tp = fp = fn = 0
    for topic, beginnings in TOPICS.items():
        gold = {q.start for q in statements if q.sentence.startswith(tuple(beginnings))}
        assert len(gold) == len(beginnings), topic
        kept = {q.start for q in finder.quotes(EXPERT, about=topic)}
        tp, fp, fn = tp + len(kept & gold), fp + len(kept - gold), fn + len(gold - kept)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert (round(precision, 2), round(recall, 2)) == (0.90, 0.79)
    words_only = QuoteFinder(seed_index.store)  # no embedder: shared words alone
    assert all(q.score is None for q in words_only.quotes(EXPERT, about="China"))
    assert len(words_only.quotes(EXPERT, about="China")) < len(finder.quotes(EXPERT, about="China"))


def test_the_finder_follows_the_index(make_assistant, tmp_path):
    assistant = make_assistant()
    assert assistant.quotes("Lopez") == []
    path = tmp_path / "harbour.json"
    path.write_text(json.dumps([{
        "title": "Harbour reopens", "source": "Gazette", "published_at": "2023-10-02", "url": "https://gazette.example/h",
        "body": "The city harbour reopened after storm repairs. “The harbour is safe again,” said harbour master "
                "Ana López. She said the repairs cost less than planned."}]), encoding="utf-8")
    assert assistant.ingest([path]).failed == 0
    found = assistant.quotes("ana lopez")  # accents and case ignored, as questions match speakers
    assert [q.speaker for q in found] == ["Ana López", "Ana López"]
    assert found[0].source == "Gazette" and found[0].published_at.startswith("2023-10-02")
    assert found[0].url == "https://gazette.example/h" and found[0].kind == "quote"
    with pytest.raises(ValueError):
        assistant.quotes("  ")
