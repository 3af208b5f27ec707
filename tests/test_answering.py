"""Extractive answers on real indexes: speakers, dates, outlets, abstention, follow-ups, verification."""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner

from assistant.query.timeframes import parse_timeframe
from assistant.answer.verification import Verifier, split_cited
from assistant.apps.cli import main
from assistant.models import Article
from conftest import SEED
from assistant.ingest.readers import read_file

BODY = read_file(SEED).articles[0].body  # as indexed: page furniture (a caption, a "Read also" link) left out
EXPERT = "Stanislav Zhelikhovsky"

HARBOUR = [
    Article(title="Harbour reopens", source="Gazette", published_at="2023-10-02T09:00:00Z", url="https://g.example/1",
            body="The city harbour reopened after storm repairs. “The harbour is safe again,” said harbour master "
                 "Ana Lopez. Fishing boats returned on Monday."),
    Article(title="Harbour closes again", source="Herald", published_at="2023-11-15T18:30:00Z", url="https://h.example/3",
            body="The city harbour closed again after new cracks were found in the harbour wall. Engineer Tom Reed "
                 "said the repairs would take until spring. Fishing boats moved to the next town."),
]


@pytest.fixture(scope="module")
def harbour(tmp_path_factory, embedder):
    from assistant import Settings, build_assistant

    assistant = build_assistant(Settings(data_dir=tmp_path_factory.mktemp("harbour")), embedder=embedder)
    assert assistant.indexer.ingest_articles(HARBOUR).added == 2
    return assistant


# --- who said what ------------------------------------------------------------------------
def test_what_did_the_expert_say_names_him_and_cites_only_his_sentences_on_the_topic(seed_index):
    answer = seed_index.ask("What did the expert say about China?")
    assert not answer.abstained and answer.citations
    assert "Zhelikhovsky" in answer.answer
    for c in answer.citations:
        assert c.speaker == EXPERT
        assert BODY[c.start:c.end] == c.quote
        assert any(word in c.quote for word in ("China", "Beijing", "PRC"))
    assert answer.trace["request"]["speaker"] == {"person": "the expert", "topic": "China", "kind": "nominal"}


def test_what_did_putin_say_excludes_the_expert(seed_index):
    answer = seed_index.ask("What did Putin say about negotiations?")
    assert not answer.abstained
    assert {c.speaker for c in answer.citations} == {"Vladimir Putin"}
    assert any("Istanbul agreements" in c.quote or "withdrawing from negotiations" in c.quote for c in answer.citations)


def test_person_who_is_not_quoted_gets_no_answer(seed_index):
    answer = seed_index.ask("What did Angela Merkel say about China?")
    assert answer.abstained and not answer.citations
    assert "Angela Merkel" in answer.answer


def test_follow_up_what_else_did_he_say_retrieves_his_other_statements(seed_index):
    first = seed_index.ask("What did the expert say about China?")
    second = seed_index.ask("What else did he say?", history=[first])
    assert second.trace["standalone_question"] == f"What did {EXPERT} say?"
    assert not second.abstained and second.citations
    assert {c.speaker for c in second.citations} == {EXPERT}
    assert not {c.start for c in first.citations} & {c.start for c in second.citations}


def test_history_may_be_plain_dicts(seed_index):
    answer = seed_index.ask("And what did he say about Beijing?", history=[
        {"question": "What did Zhelikhovsky say?", "answer": "…", "speaker": EXPERT}])
    assert answer.trace["standalone_question"] == f"What did {EXPERT} say about Beijing?"
    assert all(c.speaker == EXPERT for c in answer.citations)


# --- time and outlets ---------------------------------------------------------------------
def test_time_words_become_a_date_filter_and_the_answer_says_when(harbour):
    answer = harbour.ask("Why did the harbour close in November 2023?")
    assert answer.trace["time_filter"] == {"since": "2023-11-01T00:00:00Z", "until": "2023-11-30T00:00:00Z",
                                           "from_words": ["November 2023"],
                                           "reference_date": date.today().isoformat()}
    assert answer.citations and {c.source for c in answer.citations} == {"Herald"}
    assert "as of 15 Nov 2023" in answer.answer


def test_relative_time_is_measured_from_the_day_the_question_is_asked(harbour):
    assert harbour.reference_date() == date.today()  # not the newest article
    answer = harbour.ask("What happened to the harbour last week?", as_of=date(2023, 11, 15))
    assert answer.trace["time_filter"]["since"] == "2023-11-08T00:00:00Z"
    assert answer.trace["time_filter"]["reference_date"] == "2023-11-15"
    assert {c.source for c in answer.citations} <= {"Herald"}
    today = harbour.ask("What happened to the harbour last week?")  # nothing published in the week before today
    assert today.trace["time_filter"]["relaxed"] and today.citations


def test_comparing_outlets_groups_the_answer_by_source_and_marks_the_latest(harbour):
    answer = harbour.ask("How did the Gazette and the Herald report on the harbour repairs?")
    assert not answer.abstained and {c.source for c in answer.citations} == {"Gazette", "Herald"}
    paragraphs = answer.answer.split("\n\n")
    assert len(paragraphs) == 2
    herald = next(p for p in paragraphs if p.startswith("Herald"))
    gazette = next(p for p in paragraphs if p.startswith("Gazette"))
    assert "(as of 15 Nov 2023, latest)" in herald and "(as of 2 Oct 2023)" in gazette
    for c in answer.citations:
        assert f"[{c.n}]" in (herald if c.source == "Herald" else gazette)


def test_quoted_official_is_named_in_the_answer(harbour):
    answer = harbour.ask("What did the harbour master say?")
    assert not answer.abstained
    assert [c.speaker for c in answer.citations] == ["Ana Lopez"]
    assert "Ana Lopez" in answer.answer


def test_question_about_an_outlet_that_is_not_indexed_is_declined(harbour):
    answer = harbour.ask("What did the Bloomberg article say about the harbour repairs?")
    assert answer.abstained and not answer.citations
    assert "Bloomberg" in answer.answer and answer.trace["abstain_reason"] == "no indexed articles from Bloomberg"


def test_follow_up_keeps_the_previous_date_filter(harbour):
    first = harbour.ask("Why did the harbour close in November 2023?")
    second = harbour.ask("What did the engineer say?", history=[first])
    assert second.trace["followup"]["carried_filters"]["since"] == "2023-11-01T00:00:00Z"
    assert second.trace["filters"]["until"] == "2023-11-30T00:00:00Z"
    assert [c.speaker for c in second.citations] == ["Tom Reed"]


def test_stream_yields_text_then_the_answer(harbour):
    pieces = list(harbour.ask_stream("How did the Gazette and the Herald report on the harbour repairs?"))
    *text, answer = pieces
    assert all(isinstance(p, str) for p in text) and len(text) == 2
    assert "".join(text) == answer.answer


# --- verification -------------------------------------------------------------------------
def test_citation_markers_belong_to_the_sentence_they_follow():
    assert split_cited("Moscow asks Beijing for help [1]. China benefits. [2][3] No source here.") == [
        ("Moscow asks Beijing for help.", [1]), ("China benefits.", [2, 3]), ("No source here.", [])]


def test_verifier_keeps_supported_drops_invented_and_removes_unsupported(embedder):
    evidence = {1: "He noted that Moscow continues to broadcast its narratives and asks Beijing for help.",
                2: "Therefore, China is very beneficial for Russia in this regard,” Zhelikhovsky said."}
    verified = Verifier(embedder).verify(
        "Moscow asks Beijing for help [1][9]. China is very beneficial for Russia [2]. "
        "Russia spent 300 billion on the war [2]. Nobody cited this.", evidence)
    assert verified.text == "Moscow asks Beijing for help. [1] China is very beneficial for Russia. [2]"
    actions = [(c.action, c.reason) for c in verified.checks]
    assert actions == [("kept", "dropped citations: 9"), ("kept", ""),
                       ("removed", "no cited passage supports it"), ("removed", "cites no passage")]
    assert verified.as_trace()["invented_citations"] == [9]


def test_extractive_answers_pass_their_own_verification(seed_index):
    answer = seed_index.ask("What did the expert say about China?")
    assert answer.trace["verification"]["removed"] == 0
    assert all(d["action"] == "kept" for d in answer.trace["verification"]["decisions"])


# --- time words ---------------------------------------------------------------------------
@pytest.mark.parametrize("question, since, until", [
    ("What did TechCrunch report in November 2023?", "2023-11-01", "2023-11-30"),
    ("What happened last week?", "2023-12-18", "2023-12-25"),
    ("Which deals were announced before October?", None, "2023-09-30"),
    ("What did he say after October 7, 2023?", "2023-10-08", None),
    ("Between the report on October 7, 2023 and the one on October 30, 2023, what changed?", "2023-10-06", "2023-10-31"),
    ("What happened last month?", "2023-11-01", "2023-11-30"),
    ("in early December", "2023-12-01", "2023-12-10"),
    ("May I ask about Tesla?", None, None),
    ("In which city did Putin hold the press conference on May 17?", None, None),  # an event, not a publication
])
def test_timeframes(question, since, until):
    frame = parse_timeframe(question, date(2023, 12, 25))
    assert (frame.since and frame.since.isoformat(), frame.until and frame.until.isoformat()) == (since, until)


def test_recency_words_rank_without_filtering():
    frame = parse_timeframe("What is the latest on OpenAI?", date(2023, 12, 25))
    assert frame.recency and not frame.is_filter


# --- the chat command ---------------------------------------------------------------------
def test_chat_streams_answers_and_understands_follow_ups(seed_index, monkeypatch):
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(seed_index.settings.data_dir))
    result = CliRunner().invoke(main, ["chat"], input="What did the expert say about China?\nWhat else did he say?\n/quit\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("Zhelikhovsky") >= 4
    assert f"(understood as: What did {EXPERT} say?)" in result.output
    assert "(characters " in result.output


def test_chat_with_a_bad_setting_says_which_and_exits_2(monkeypatch, tmp_path):
    monkeypatch.setenv("ASSISTANT_PROFILE", str(tmp_path / "nowhere.json"))
    result = CliRunner().invoke(main, ["chat"], input="/quit\n")
    assert result.exit_code == 2
    assert "Error:" in result.output and "No retrieval profile" in result.output and "nowhere.json" in result.output


def test_follow_up_naming_a_new_person_is_left_alone(seed_index):
    first = seed_index.ask("What did the expert say about China?")
    second = seed_index.ask("And what did Putin say?", history=[first])
    assert second.trace["standalone_question"] == "And what did Putin say?"
    assert {c.speaker for c in second.citations} == {"Vladimir Putin"}


@pytest.mark.parametrize("question", ["What did the expert say about China?",
                                      "Who wants the military operations to stop?"])
def test_stored_sentence_vectors_give_the_same_answer_without_embedding_the_passages(seed_index, question):
    from assistant.answer.extractive import candidate_sentences

    answerer = seed_index.answerer
    embedded: list[int] = []
    real_embedder = answerer.embedder
    real_embed = real_embedder.embed

    class Counting:
        def embed(self, texts, progress=False):
            embedded.append(len(texts))
            return real_embed(texts)

    passages = seed_index.search(question, 6)
    assert answerer.stored_vectors is not None
    candidates = candidate_sentences(passages)
    answerer.attach_stored_vectors(candidates)
    assert all(c.vector is not None for c in candidates)  # every retrieved sentence has its stored vector
    with_store = answerer.answer(question, passages)
    answerer.stored_vectors = None  # the same answerer, embedding every sentence itself
    try:
        without = answerer.answer(question, passages)
        answerer.stored_vectors, answerer.embedder = seed_index.store.sentence_vectors, Counting()
        again = answerer.answer(question, passages)
    finally:
        answerer.stored_vectors, answerer.embedder = seed_index.store.sentence_vectors, real_embedder
    assert with_store.answer == without.answer == again.answer
    assert [(c.chunk_id, c.start, c.end) for c in with_store.citations] == \
        [(c.chunk_id, c.start, c.end) for c in without.citations]
    assert embedded and embedded[0] == 1  # scoring embedded the question alone
