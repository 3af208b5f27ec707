"""Contract tests: every bundled retrieval profile (its retrievers, fusion and reranker, built by the
one factory) honours the retriever's interface on a real index; the analyzer's plan is complete;
a bad profile is refused with the file and the fix named."""

import json

import pytest

from assistant.errors import ConfigError
from assistant.filters import SearchFilters
from assistant.models import Article
from assistant.retrieve.profile import bundled_profiles, load_profile

ARTICLES = [
    Article(title="Harbour reopens", body="The city harbour reopened after storm repairs. Fishing boats returned. "
            "“The harbour is safe again,” said harbour master Ana Lopez.", source="Gazette",
            published_at="2023-10-02T09:00:00Z", category="business", url="https://g.example/1"),
    Article(title="Storm damages harbour", body="A storm damaged the harbour wall on Monday. Repairs will take weeks, "
            "engineer Tom Reed said.", source="Herald", published_at="2023-09-20T09:00:00Z", category="science",
            url="https://h.example/2"),
    Article(title="Harbour festival", body="The harbour festival drew crowds to watch the fishing boats. Tickets sold "
            "out in an hour.", source="Herald", published_at="2023-11-15T18:30:00Z", category="entertainment",
            url="https://h.example/3"),
    Article(title="Chip maker profits", body="The chip maker reported record profits as the shortage eased. Its shares "
            "rose five percent.", source="Ledger", published_at="2023-11-01T08:00:00Z", category="business",
            url="https://l.example/4"),
]
PROFILES = bundled_profiles()


def test_the_bundled_profiles_include_the_default_the_floors_and_multihop():
    assert {"default", "dense", "bm25", "hybrid", "multihop"} <= set(PROFILES)


@pytest.fixture(scope="module")
def index(tmp_path_factory, embedder):
    from assistant import Settings, build_assistant

    data = tmp_path_factory.mktemp("contracts")
    assistant = build_assistant(Settings(data_dir=data), embedder=embedder)
    assert assistant.indexer.ingest_articles(ARTICLES).added == len(ARTICLES)
    return data


@pytest.fixture(params=PROFILES)
def profiled(request, index, embedder):
    from assistant import Settings, build_assistant

    return build_assistant(Settings(data_dir=index, profile=request.param), embedder=embedder)


def test_retriever_returns_at_most_k_distinct_passages_best_first(profiled):
    passages = profiled.search("harbour storm repairs", k=3)
    assert 1 <= len(passages) <= 3
    assert len({p.chunk_id for p in passages}) == len(passages)
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    assert passages[0].title in {"Storm damages harbour", "Harbour reopens"}  # the two about storm repairs
    assert profiled.search("harbour storm repairs", k=1)[0].chunk_id == passages[0].chunk_id


def test_retriever_honours_filters(profiled):
    only = profiled.search("harbour boats", k=10, filters=SearchFilters(sources=["Herald"], since="2023-10-01"))
    assert [p.title for p in only] == ["Harbour festival"]
    assert profiled.search("harbour boats", k=10, filters=SearchFilters(sources=["Nobody"])) == []


def test_retriever_gives_nothing_for_an_empty_question(profiled):
    assert profiled.search("   ", k=5) == []


def test_answer_cites_what_was_retrieved(profiled):
    answer = profiled.ask("What did the harbour master say?")
    assert not answer.abstained and answer.citations
    assert {c.chunk_id for c in answer.citations} <= {p.chunk_id for p in answer.passages}
    assert answer.trace["profile"] == profiled.profile.name


def test_plan_of_the_analyzer_has_every_part(profiled):
    plan = profiled.analyzer.analyze("What did the Herald report about the harbour last week?")
    assert plan.outlets == ["Herald"] and plan.query == plan.question
    assert plan.timeframe.is_filter and plan.reference_date is not None
    assert plan.clauses and plan.followup.how == "unchanged"


def test_unknown_profile_and_bad_profile_file_name_the_fix(tmp_path, make_assistant):
    with pytest.raises(ConfigError, match="No retrieval profile 'nonsense'.*default"):
        make_assistant(profile="nonsense")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "bad", "fusion": {"rrf_k": 0}}))
    with pytest.raises(ConfigError) as err:
        load_profile(bad)
    assert str(bad) in str(err.value) and "fusion.rrf_k" in str(err.value)
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps({"name": "typo", "fusion": {"dense_wieght": 2}}))
    with pytest.raises(ConfigError, match="dense_wieght"):
        load_profile(typo)
