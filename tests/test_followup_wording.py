"""Follow-ups that name only a topic ("And about negotiations?") are rewritten into a question
that says "about" once (issue 31: "What did … say about about negotiations?")."""

from __future__ import annotations

import pytest

from assistant.query.conversation import Turn, condense

EXPERT = "Stanislav Zhelikhovsky"


def test_and_about_a_topic_after_a_speaker_question_says_about_once(seed_index):
    first = seed_index.ask("What did the expert say about China?")
    assert {c.speaker for c in first.citations} == {EXPERT}
    follow = seed_index.ask("And about negotiations?", history=[first])
    assert follow.trace["standalone_question"] == f"What did {EXPERT} say about negotiations?"
    assert not follow.abstained and all(c.speaker == EXPERT for c in follow.citations)


@pytest.mark.parametrize("question, topic", [
    ("And about negotiations?", "negotiations"),
    ("What about about the talks?", "the talks"),
    ("And on the peace talks?", "the peace talks"),
    ("And regarding Iran?", "Iran"),
])
def test_the_topic_loses_its_own_preposition(question, topic):
    speaker_turn = Turn(question=f"What did {EXPERT} say about China?", speaker=EXPERT, topic="China")
    assert condense(question, [speaker_turn]).question == f"What did {EXPERT} say about {topic}?"
    topic_turn = Turn(question="What is known about China?", topic="China")  # no speaker: the topic is swapped
    assert condense(question, [topic_turn]).question == f"What is known about {topic}?"


def test_a_time_follow_up_keeps_its_words():
    turn = Turn(question="What did the council decide about trams in 2023?", topic="trams")
    assert condense("And in 2024?", [turn]).question == "What did the council decide about trams in 2024?"
