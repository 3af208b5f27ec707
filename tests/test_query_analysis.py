import pytest

from assistant.query.analysis import aliases, analyze, named_days

SOURCES = ["Fortune", "The Age", "TechCrunch", "FOX News - Health", "FOX News - Lifestyle",
           "Cnbc | World Business News Leader", "The Roar | Sports Writers Blog", "Live Science: The Most Interesting Articles"]


def test_aliases_drop_sections_and_slogans():
    assert aliases("FOX News - Health") == {"FOX News - Health", "FOX News"}
    assert aliases("The Roar | Sports Writers Blog") == {"The Roar | Sports Writers Blog", "The Roar"}
    assert aliases("Live Science: The Most Interesting Articles") >= {"Live Science"}


def test_outlets_are_matched_as_proper_names_only():
    plan = analyze("Did he spend his fortune in the age of AI, as 'Fortune' and The Age reported?", SOURCES)
    assert [(m.alias, m.sources) for m in plan.mentions] == [("Fortune", ["Fortune"]), ("The Age", ["The Age"])]
    assert plan.mentions[0].start == plan.query.index("'Fortune'") + 1


def test_one_name_can_stand_for_several_sections_and_case_of_acronyms_varies():
    plan = analyze("What did CNBC and Fox News say about sleep?", SOURCES)
    assert plan.source_groups == [["Cnbc | World Business News Leader"], ["FOX News - Health", "FOX News - Lifestyle"]]


def test_named_days_in_both_orders_without_repeats():
    q = "Between the report published on November 1, 2023, the one of 7th October 2023 and November 1, 2023?"
    assert named_days(q) == ["2023-11-01", "2023-10-07"]
    assert named_days("on February 30, 2023 or in October") == []


def test_clauses_split_at_joining_words_but_not_inside_outlet_names():
    sources = ["The Independent - Life and Style", "CBSSports.com", "Business Today | Latest Stock Market And Economy News"]
    plan = analyze("Between the report from CBSSports.com published on October 12, 2023, about the couple's rumored "
                   "romance, and the report from The Independent - Life and Style published on December 6, 2023, "
                   "was there a change in the reported relationship status?", sources)
    assert plan.clauses == ["Between the report from CBSSports.com published on October 12",
                            "about the couple's rumored romance",
                            "the report from The Independent - Life and Style published on December 6",
                            "was there a change in the reported relationship status"]
    assert plan.clause_sources == [["CBSSports.com"], [], ["The Independent - Life and Style"], []]
    slogan = analyze("Did Business Today | Latest Stock Market And Economy News say the index fell sharply?", sources)
    assert slogan.clause_sources == [["Business Today | Latest Stock Market And Economy News"]]


def test_clauses_lose_the_quote_marks_around_them():
    plan = analyze("Who, according to 'The Age', 'has a net worth of $180 million' and “won the title fight”?", ["The Age"])
    assert plan.clauses == ["has a net worth of $180 million", "won the title fight"]


def test_content_leaves_out_the_outlets_and_days_named():
    plan = analyze("Did the TechCrunch report of October 6, 2023 say FTX misused funds, while The Verge "
                   "reported (7 October 2023) the verge of collapse?", ["TechCrunch", "The Verge"])
    assert plan.content == "Did the report of say FTX misused funds, while reported ( ) the verge of collapse?"
    assert analyze("Who won the match?", ["TechCrunch"]).content == "Who won the match?"


@pytest.mark.parametrize("question, latest", [
    ("What is the latest on the Riverton desalination plant?", True),
    ("What's the latest news about the strike?", True),
    ("Any newest reports on the flooding?", True),
    ("What is new with OpenAI?", True),
    ("Which company, recently reported by TechCrunch to be profitable, faces criticism?", False),
    ("What did Apple's latest product launch include?", False),
    ("Does the article from Business Today | Latest Stock Market And Economy News India discuss Italy?", False),
    ("Are the Seahawks currently on a winning streak?", False),
])
def test_asking_for_the_newest_coverage_is_told_from_naming_something_recent(question, latest):
    from assistant.query.timeframes import parse_timeframe

    assert parse_timeframe(question).latest is latest
