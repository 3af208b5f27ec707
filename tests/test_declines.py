"""Declines say why and what to do next; a filter set for one question does not stick to the next."""

from assistant.filters import SearchFilters


def test_empty_index_decline_names_where_the_index_is(make_assistant, tmp_path):
    answer = make_assistant().ask("What did the expert say about China?")
    assert answer.abstained and answer.trace["abstain_reason"] == "empty index"
    assert str((tmp_path / "data").resolve()) in answer.answer and "assistant ingest" in answer.answer


def test_decline_under_a_filter_names_the_filter_and_how_many_articles_it_leaves(seed_index):
    answer = seed_index.ask("What did the expert say about China?", filters=SearchFilters(since="2030-01-01"))
    assert answer.abstained and not answer.citations
    assert answer.trace["decline"]["filters"] == "(published from 2030-01-01)"
    assert answer.trace["decline"]["articles_left"] == 0
    assert "published from 2030-01-01" in answer.answer and "clear the filters" in answer.answer
    assert "statements" not in answer.answer  # not blamed on the speaker


def test_a_cleared_filter_does_not_stick_to_the_next_question(seed_index):
    declined = seed_index.ask("What did the expert say about China?", filters=SearchFilters(since="2030-01-01"))
    assert declined.abstained
    again = seed_index.ask("What did the expert say about China?", history=[declined])  # filter cleared
    assert not again.abstained and again.citations
    other = seed_index.ask("Why is Putin raising the topic of negotiations?", history=[declined, again])
    assert not other.abstained and other.trace["filters"]["since"] is None
