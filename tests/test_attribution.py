"""Who said what: attribution accuracy over the labelled quotes, and the seed article's hard cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answer.attribution import attribute
from assistant.answer.attribution_eval import (accuracy, bundled_bodies, evaluate, load_labels, multihop_bodies,
                                                  summary)
from assistant.answer.quotations import find_quotations
from conftest import CORPUS, SEED

LABELS = Path(__file__).parent / "data" / "quotes.jsonl"
BODY = SEED.read_text(encoding="utf-8").split("\n", 1)[1].lstrip("\n")
EXPERT = "Stanislav Zhelikhovsky"


def speaker_of(speech, sentence: str) -> str | None:
    at = speech.body.index(sentence)
    return speech.at(at, at + len(sentence)).speaker


@pytest.fixture(scope="module")
def seed_speech():
    return attribute(BODY)


def test_labelled_set_is_large_and_split():
    items = load_labels(LABELS)
    assert len([i for i in items if i.speaker]) >= 40
    assert {i.corpus for i in items} == {"bundled", "multihop"}
    assert {i.split for i in items} == {"dev", "holdout", "holdout2"}


def test_bundled_quotes_are_all_attributed():
    outcomes = evaluate(load_labels(LABELS), {"bundled": bundled_bodies(CORPUS)})
    assert len(outcomes) >= 15 and all(o.found for o in outcomes)
    wrong = [(o.item.sentence[:50], o.predicted) for o in outcomes if not o.correct]
    assert not wrong


@pytest.mark.benchmark_data
def test_attribution_accuracy_on_multihop_quotes(multihop_dir):
    """Recorded in docs/answers.md. Dev labels were looked at while writing the rules; each held-out
    set was labelled first and measured once before any rule was changed for it."""
    outcomes = evaluate(load_labels(LABELS), {"bundled": bundled_bodies(CORPUS),
                                              "multihop": multihop_bodies(multihop_dir / "corpus.json")})
    assert all(o.found for o in outcomes), "every labelled sentence is found verbatim in its article"
    result = summary(outcomes)
    assert result["all"]["sentences"] >= 170
    assert accuracy(outcomes) >= 0.93
    assert result["holdout"]["accuracy"] >= 0.88 and result["holdout2"]["accuracy"] >= 0.85


def test_pronoun_after_a_named_expert(seed_speech):
    assert speaker_of(seed_speech, "And a lot is actually said about this,” he said.") == EXPERT


def test_role_noun_finds_the_person_introduced_with_it(seed_speech):
    assert speaker_of(seed_speech, "The international affairs expert noted that the visits") == EXPERT
    assert seed_speech.role_of(EXPERT) == "candidate of political sciences and international affairs expert"


def test_every_sentence_of_a_multi_sentence_quote_gets_the_closing_speaker(seed_speech):
    # "He" inside the quotation is Putin, but the speaker is the expert quoted.
    assert speaker_of(seed_speech, "He repeatedly recalls the negotiations in Istanbul") == EXPERT
    assert speaker_of(seed_speech, "So they will further strengthen this “axis of evil.”") == EXPERT


def test_reported_speech_follows_the_nearest_subject(seed_speech):
    assert speaker_of(seed_speech, "He stated that the basis for the “dialogue”") == "Vladimir Putin"
    assert speaker_of(seed_speech, "In his opinion, Putin made his first visit") == EXPERT
    assert speaker_of(seed_speech, "Read also: Ukrainian servicemen") is None


def test_nested_quotes_stay_inside_their_quotation():
    quotations = find_quotations(BODY)
    dumped = BODY.index("“dumped”")
    outer = [q for q in quotations if q.start <= dumped < q.end]
    assert len(outer) == 1 and BODY[outer[0].start:outer[0].start + 12] == "“That’s why "


def test_quote_continued_in_a_new_paragraph_keeps_its_speaker():
    body = ("Coach Mary Brown was upbeat.\n\n“We played well,” Brown said.\n\n“The young players grew up today.\n\n"
            "“We will be back.”\n\nThe club’s next game is on Sunday.")
    speech = attribute(body)
    assert speaker_of(speech, "The young players grew up today.") == "Mary Brown"
    assert speaker_of(speech, "“We will be back.”") == "Mary Brown"
    assert speaker_of(speech, "The club’s next game is on Sunday.") is None


def test_an_organisation_mention_is_not_given_a_place_or_a_sentence_opening_word():
    """"The regional water authority said …" after "Water restrictions in the Aren valley …": the
    authority is not "Water" (the word opening a sentence) nor "Aren" (a valley): nobody is named."""
    body = ("Water restrictions in the Aren valley were eased on Friday after heavy rain refilled the reservoirs. "
            "The regional water authority said supplies were back to normal. "
            "Residents of Aren had faced a hosepipe ban since June. "
            "The authority added that it would keep monitoring the levels.")
    speech = attribute(body)
    assert speaker_of(speech, "The regional water authority said") is None
    assert speaker_of(speech, "The authority added that") is None


def test_an_organisation_named_with_its_head_noun_is_still_found():
    body = ("The Aren Valley Water Authority lifted the hosepipe ban on Friday. "
            "The authority said supplies were back to normal.")
    assert speaker_of(attribute(body), "The authority said") == "Aren Valley Water Authority"


def test_a_sentence_saying_only_who_spoke_is_marked_as_a_frame(seed_speech):
    at = seed_speech.body.index("This opinion was expressed")
    frame = seed_speech.at(at, at + 40)
    assert frame.speaker == EXPERT and frame.frame
    statement = seed_speech.body.index("Russian dictator Vladimir Putin would now benefit")
    assert seed_speech.at(statement, statement + 40).speaker == EXPERT and not seed_speech.at(statement, statement + 40).frame
