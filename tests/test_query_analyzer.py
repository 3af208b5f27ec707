"""The one question reader: outlets as source or subject, event days vs publication dates, relative
time against a reference date, clauses that keep both parties, follow-ups."""

from datetime import date

from assistant.answer.abstention import missing_names, names, names_absent
from assistant.filters import SearchFilters
from assistant.models import Passage
from assistant.query.analyzer import QueryAnalyzer

SOURCES = ["Fox News", "TechCrunch", "The Verge", "Reuters"]


def reader(**kwargs) -> QueryAnalyzer:
    return QueryAnalyzer(lambda: SOURCES, **kwargs)


def test_an_outlet_the_question_is_about_is_not_its_source():
    plan = reader().analyze("Did Fox News settle with Dominion?")
    assert plan.subject_outlets == ["Fox News"]
    assert plan.outlets == [] and plan.source_groups == []
    assert plan.request.outlets == []  # the answer is not restricted to Fox News's own articles
    assert "Fox News" in plan.content  # its name is part of what the evidence must say


def test_an_outlet_named_as_the_source_is_one():
    for question in ("According to TechCrunch, what did the startup raise?",
                     "What did the TechCrunch article say about the startup?",
                     "Which startup raised money, as reported by 'TechCrunch'?",
                     "What did TechCrunch report about the startup?"):
        plan = reader().analyze(question)
        assert plan.outlets == ["TechCrunch"], question
        assert "TechCrunch" not in plan.content, question


def test_outlets_joined_by_and_share_their_role():
    plan = reader().analyze("Did Reuters and The Verge report the same price?")
    assert plan.outlets == ["Reuters", "The Verge"]


def test_the_day_of_an_event_is_not_a_publication_filter():
    plan = reader().analyze("What happened in the attack on October 7, 2023?", as_of=date(2023, 12, 1))
    assert plan.filters is None and "time_filter" not in plan.notes
    assert plan.dates == ["2023-10-07"]  # still a day the question names


def test_a_day_that_dates_a_publication_filters_around_it():
    plan = reader().analyze("What did the article published on October 7, 2023 say about prices?")
    assert plan.filters.since == "2023-10-06T00:00:00Z" and plan.filters.until == "2023-10-08T00:00:00Z"


def test_this_week_is_read_from_the_reference_date_not_the_archive():
    plan = reader().analyze("What did Reuters report this week?", as_of=date(2023, 11, 16))  # a Thursday
    assert plan.reference_date == date(2023, 11, 16)
    assert plan.filters.since == "2023-11-13T00:00:00Z" and plan.filters.until == "2023-11-16T00:00:00Z"
    assert plan.notes["time_filter"]["reference_date"] == "2023-11-16"
    default = reader(reference_date=date(2024, 2, 2)).analyze("What happened this week?")
    assert default.filters.since == "2024-01-29T00:00:00Z"
    assert reader().analyze("What happened this week?").reference_date == date.today()


def test_apple_and_google_stay_in_one_clause():
    plan = reader().analyze("What did Apple and Google agree on about app store fees?")
    assert plan.clauses == ["What did Apple and Google agree on about app store fees"]
    two = reader().analyze("Did the court fine the bank for the leak and did the regulator open a new inquiry?")
    assert two.clauses == ["Did the court fine the bank for the leak", "did the regulator open a new inquiry"]


def test_filters_the_user_set_win_over_time_words_and_are_not_carried_to_the_next_question():
    given = SearchFilters(since="2030-01-01")
    first = reader().analyze("What happened last week?", filters=given, as_of=date(2023, 11, 16))
    assert first.filters.since == "2030-01-01T00:00:00Z" and "time_filter" not in first.notes
    turn = {"question": "What happened at the port?", "answer": "I could not find this.",
            "filters": None}
    second = reader().analyze("Why did the harbour close?", history=[turn], filters=None)
    assert second.filters is None  # a cleared filter stays cleared


def test_unindexed_outlet_named_as_source_is_reported():
    plan = reader().analyze("What did the Bloomberg article say about chip prices?")
    assert plan.unknown_outlets == ["Bloomberg"] and plan.request.unknown_outlets == ["Bloomberg"]


def test_names_a_question_uses_and_which_the_passages_never_mention():
    assert names("How much did Erling Haaland's move to Manchester City cost?") == [
        ["erling", "haaland"], ["manchester", "city"]]
    assert names("What did the U.S. say in March?") == []
    passage = Passage(chunk_id="a:0", article_id="a", title="Haaland breaks record", source="Reuters",
                      text="The striker scored twice for City on Saturday.", start=0, end=46)
    assert missing_names("How much did Erling Haaland's move to Manchester City cost?", [passage]) == []
    assert missing_names("What did Kylian Mbappé say about Madrid?", [passage]) == ["Kylian Mbappé", "Madrid"]
    assert names_absent("What did Kylian Mbappé say about Madrid?", [passage]) == ["Kylian Mbappé", "Madrid"]
    # one part of a multi-part question outside the passages: not a reason to decline
    assert names_absent("Did Haaland score for City while Mbappé was injured?", [passage]) == []


def test_of_a_hyphenated_compound_only_the_capitalised_pieces_are_the_name():
    assert names("Which Paris-based startup did Google-owned YouTube fund?") == [["paris"], ["google", "youtube"]]
    assert names("Who produced the Iranian-Australian film Shayda?") == [["iranian", "australian"], ["shayda"]]
    startup = Passage(chunk_id="c:0", article_id="c", title="Funding round", source="Wire", start=0, end=60,
                      text="The startup, founded in Paris last year, raised money from Chinese-owned funds.")
    assert missing_names("Which Paris-based startup raised money?", [startup]) == []
    assert missing_names("What did the Chinese investors pay?", [startup]) == []  # a piece of "Chinese-owned"
    assert missing_names("Which Berlin-based startup raised money?", [startup]) == ["Berlin-based"]


def test_a_word_capitalised_only_because_it_starts_the_question_is_not_a_name():
    assert names("Through how many rounds did the Singapore battery keep its charge?") == [["singapore"]]
    assert names("Tim Cook said what about the iPhone?") == [["tim", "cook"]]  # a run: a name
    assert names("NASA launched what?") == [["nasa"]]  # an acronym is a name wherever it stands
    uae = Passage(chunk_id="b:0", article_id="b", title="Oil output", source="Wire",
                  text="The U.A.E. said it would raise output.", start=0, end=38)
    assert missing_names("What did the UAE say about oil output?", [uae]) == []
    assert missing_names("What did Qatar say about oil output?", [uae]) == ["Qatar"]
