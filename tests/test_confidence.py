"""Confidence you can see: what the question asks read against the passages, and the three outcomes
(an answer, the closest passages with a caveat, a decline) from the real answerer on a small corpus."""

from __future__ import annotations

import json
import sys

import pytest

from assistant.answer.abstention import missing_names
from assistant.answer.answer_types import (DATE, NAMED, NUMBER, PERSON, PLACE, answer_kind, asks_for_several,
                                           holds_kind, lists_things, question_parts)
from assistant.answer.confidence import focus
from assistant.evaluation.datasets import EvalQuestion, Evidence
from assistant.models import Passage
from conftest import ROOT


def passage(text: str, article_id: str = "a1", title: str = "A story", url: str | None = None) -> Passage:
    return Passage(chunk_id=f"{article_id}:0", article_id=article_id, text=text, title=title, url=url)


@pytest.mark.parametrize("question, kind", [
    ("Who bought Twitter in 2022?", PERSON),
    ("Which 2024 Republican presidential candidate was asked to stop using Eminem's rap songs?", PERSON),
    ("When did the rail strike end?", DATE),
    ("What year did the band split?", DATE),
    ("How much did Google pay Apple to be the default search engine?", NUMBER),
    ("How many people were evacuated?", NUMBER),
    ("What percentage of voters backed the plan?", NUMBER),
    ("Where will the summit be held?", PLACE),
    ("Which country may be officially changing its name?", PLACE),
    ("Which company makes the Vision Pro headset?", NAMED),
    ("Which team won the Rugby World Cup?", NAMED),
    ("Why did the talks collapse?", None),
    ("What did the minister say about the budget?", None),
    ("Who won the final and when was it played?", PERSON),  # a two-part question: its first part
])
def test_the_kind_of_answer_a_question_asks_for(question, kind):
    assert answer_kind(question) == kind


def test_a_sentence_holds_the_kind_only_with_a_thing_the_question_lacks():
    assert holds_kind(NUMBER, "About $18 billion of that went directly to Apple.", "How much did Google pay Apple?")
    assert not holds_kind(NUMBER, "Google pays Apple to be the default.", "How much did Google pay Apple?")
    assert holds_kind(DATE, "The strike ended on Tuesday after a deal.", "When did the rail strike end?")
    assert not holds_kind(DATE, "The rail strike ended after talks.", "When did the rail strike end?")
    assert not holds_kind(DATE, "It was the longest strike of 2023.", "When did the 2023 rail strike end?")
    who = "Which Republican candidate was asked to stop using Eminem's songs?"
    assert holds_kind(PERSON, "Vivek Ramaswamy was asked to stop using them.", who)
    assert not holds_kind(PERSON, "The candidate was asked by Eminem to stop.", who)  # Eminem is in the question
    assert holds_kind(None, "Anything.", "Why?") is None


def test_names_are_matched_as_people_write_them():
    text = ("Eminem’s publisher asked Vivek Ramaswamy to stop. The French government objected. "
            "Democrats voted against it. Mr. Biden said so.")
    found = [passage(text)]
    assert missing_names("Who was asked to stop using Eminem's songs?", found) == []  # curly possessive
    assert missing_names("What did France say?", found) == []  # demonym
    assert missing_names("What did the Democrat leader say?", found) == []  # plural
    assert missing_names("What did Joe Biden say?", found) == []  # a surname for the full name
    assert missing_names("What did the Bidens say?", found) == []
    assert missing_names("What did Germany say about Graceland?", found) == ["Germany", "Graceland"]


def test_several_things_and_two_part_questions():
    assert asks_for_several("What AI uses does the EU AI Act ban?")
    assert asks_for_several("Which countries have signed the treaty?")
    assert not asks_for_several("How much did Google pay Apple?")
    assert not asks_for_several("What does the company sell?")
    assert lists_things("It bans social scoring, emotion recognition at work and untargeted scraping of faces.")
    assert lists_things("The bans include: social scoring and predictive policing.")
    assert not lists_things("The path to passing looks clear.")
    assert question_parts("Who won the final and when was it played?") == ["Who won the final", "when was it played?"]
    assert question_parts("Who won the semi-final between New Zealand and Argentina?") == [
        "Who won the semi-final between New Zealand and Argentina?"]
    assert focus("When did the rail strike end?") == "the rail strike end"


def test_the_negative_twin_leaves_out_the_gold_articles_and_keeps_the_related_ones(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from answers import twin_of, without_gold

    question = EvalQuestion(question="Who won?", answer="Ann", evidence=[
        Evidence(fact="Ann won the vote.", title="Vote result", url="https://n.example/vote")])
    passages = [
        passage("Ann won the vote. Turnout was high.", "gold-by-url", "Vote", "https://n.example/vote"),
        passage("Turnout was high.", "gold-by-title", "Vote result", "https://other.example/x"),
        passage("Officials said Ann won the vote. It was close.", "copy", "Count", "https://copy.example/a"),  # holds the fact
        passage("Other paragraph of the article.", "gold-passage", "P", "https://n.example/vote#passage-2"),
        *[passage(f"Related story {i} about the vote.", f"rel{i}", f"Related {i}") for i in range(12)],
    ]
    kept = without_gold(question, passages, k=10)
    assert [p.article_id for p in kept] == [f"rel{i}" for i in range(10)]
    twin = twin_of(question)
    assert twin.answerable is False and twin.question == question.question and twin.id.endswith("~twin")


# --- the three outcomes, from the real answerer over a small corpus ---------------------------

ARTICLES = [
    {"title": "Eminem asks Vivek Ramaswamy to stop using his songs", "source": "Wire", "published_at": "2023-08-29",
     "url": "https://wire.example/eminem",
     "body": "Eminem's music publisher has asked Republican presidential candidate Vivek Ramaswamy to stop using "
             "the rapper's songs at his campaign events.\n\nRamaswamy rapped Lose Yourself at the Iowa State Fair "
             "earlier in the month.\n\nThe publisher said the campaign had no licence to play the music."},
    {"title": "Rail workers walk out over pay", "source": "Wire", "published_at": "2023-10-02",
     "url": "https://wire.example/rail",
     "body": "Rail workers walked out across the country in a dispute over pay and conditions.\n\nUnion leaders "
             "and the train operators met again for talks, but no agreement was reached.\n\nPassengers faced "
             "cancelled services at many stations as the rail strike went on."},
    {"title": "Pineapple farmers expect a record harvest", "source": "Farm News", "published_at": "2023-09-01",
     "url": "https://farm.example/pineapple",
     "body": "Pineapple farmers on the island expect a record harvest after a wet spring.\n\nGrowers said prices "
             "at the market had fallen as supply rose."},
]


@pytest.fixture
def small_index(make_assistant, tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "news.jsonl").write_text("\n".join(json.dumps(a) for a in ARTICLES) + "\n", encoding="utf-8")
    assistant = make_assistant()
    report = assistant.ingest([folder])
    assert report.failed == 0 and report.added == 3
    return assistant


def test_an_answer_that_answers_is_high(small_index):
    answer = small_index.ask("Which Republican presidential candidate was asked to stop using Eminem's songs?")
    assert answer.confidence == "high" and not answer.abstained
    assert "Vivek Ramaswamy" in answer.answer and answer.citations
    assert answer.confidence_reason and "Not a sure answer" not in answer.answer


def test_closest_passages_are_low_and_the_caveat_names_what_is_missing(small_index):
    answer = small_index.ask("When did the rail strike end?")
    assert answer.confidence == "low" and not answer.abstained
    assert answer.confidence_reason == "none of these passages gives a date for the rail strike end"
    assert answer.answer.startswith("Not a sure answer: none of these passages gives a date for the rail strike end.")
    assert answer.citations and all(c.article_id for c in answer.citations)
    assert any("rail" in c.title.lower() for c in answer.citations)



def test_a_decline_only_when_nothing_relevant_was_found(small_index):
    answer = small_index.ask("What is the recommended tyre pressure for a mountain bike?")
    assert answer.confidence == "none" and answer.abstained and not answer.citations
    assert answer.confidence_reason
    assert answer.answer.startswith("I could not find this in the indexed articles")


def test_a_two_part_question_gets_a_sentence_for_each_part(small_index):
    answer = small_index.ask("Who was asked to stop using Eminem's songs and where did Ramaswamy rap Lose Yourself?")
    assert not answer.abstained
    quotes = " ".join(c.quote for c in answer.citations)
    assert "Vivek Ramaswamy to stop using" in quotes and "at the Iowa State Fair" in quotes
