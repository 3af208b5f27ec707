"""The name a who/which question is about, guessed from its first candidates, and what the reranker reads of it."""

import math

import numpy as np
import pytest

from assistant.rerank.bridging import asks_for_name, shared_name
from assistant.models import Article
from assistant.rerank.linear import FEATURES, MISSING_RANK, features
from assistant.index.store import StoredChunk


def chunk(article_id: str, text: str) -> StoredChunk:
    return StoredChunk(f"{article_id}:0", text, {"article_id": article_id})


def test_questions_that_ask_for_a_name():
    assert asks_for_name("Who is the individual accused of fraud?")
    assert asks_for_name("  which company, according to TechCrunch, was sued?")
    assert asks_for_name("What company is associated with Gemini?")
    assert not asks_for_name("Did the Gazette report record profits?")
    assert not asks_for_name("Between the report on May 1 and the one on May 3, was there a change?")


def test_the_name_shared_by_most_articles_wins_and_the_question_names_are_skipped():
    chunks = [
        chunk("a", "Mara Quinlan’s startup Veltro raised funds. Quinlan said on Monday it would grow."),
        chunk("b", "Investors praised Quinlan. The Herald asked Veltro for comment."),
        chunk("c", "Quinlan declined to comment, Reuters said."),
        chunk("d", "Reuters reported the harbour festival drew crowds."),
    ]
    # Quinlan is in three articles, Veltro and Reuters in two; possessives and "Monday" are not names.
    assert shared_name("Who founded a startup that raised funds?", chunks) == "Quinlan"
    # A name the question already uses says nothing new.
    assert shared_name("Who founded the startup with Quinlan?", chunks) in {"Veltro", "Reuters"}
    # Only the first `top` chunks are read, and a name must recur in `min_articles` articles.
    assert shared_name("Who founded a startup?", chunks, top=1) is None
    assert shared_name("Who founded a startup?", chunks, top=1, min_articles=1) == "Quinlan"


def test_names_with_particles_stay_whole_and_never_end_in_one():
    chunks = [chunk("a", "Bank of America said Hill of the town agreed."), chunk("b", "Bank of America and Hill met.")]
    assert shared_name("Which lender agreed?", chunks, min_articles=2) in {"America", "Hill"}
    assert shared_name("Which lender agreed with Bank of America?", chunks) == "Hill"


ARTICLES = [
    Article(title="Robotics startup raises funds", source="Gazette", published_at="2023-10-02T09:00:00Z",
            body="Mara Quinlan founded the robotics startup Veltro in 2019. Quinlan said new funds came from investors."),
    Article(title="Investors back warehouse robots", source="Herald", published_at="2023-10-05T09:00:00Z",
            body="Warehouse robots drew new money this year. Quinlan told investors the robots would ship in spring."),
    Article(title="Harbour festival", source="Herald", published_at="2023-11-15T10:00:00Z",
            body="The harbour festival drew crowds. Fishing boats were decorated."),
]


@pytest.fixture
def robots(make_assistant):
    assistant = make_assistant(profile="multihop")
    assistant.indexer.ingest_articles(ARTICLES)
    return assistant


def test_retriever_bridges_who_questions_only(robots, embedder):
    retriever = robots.retriever
    question = "Who founded a robotics startup and told investors robots would ship in spring?"
    found = retriever.fused_candidates(question, clauses=True)
    pool = retriever.candidate_pool(found)
    bridge = retriever.bridge(found.plan, pool)
    assert bridge.name == "Quinlan"
    assert bridge.clauses == [f"{c} Quinlan" for c in found.plan.clauses]
    assert np.allclose(bridge.vectors, embedder.embed(bridge.clauses), atol=1e-5)

    X = features(found.plan, pool, found.vectors, robots.bm25, bridge=bridge)
    col = {name: X[:, i] for i, name in enumerate(FEATURES)}
    row = {c.metadata["title"]: i for i, c in enumerate(pool.chunks)}
    assert col["br_named"][row["Investors back warehouse robots"]] == 1.0
    assert col["br_named"][row["Harbour festival"]] == 0.0
    assert (col["bridged"] == 1.0).all()
    assert col["br_lex"][row["Investors back warehouse robots"]] > col["br_lex"][row["Harbour festival"]]
    assert col["br_ds"][row["Investors back warehouse robots"]] > col["br_ds"][row["Harbour festival"]]
    assert min(col["br_lex_rank"]) == 0.0  # log(1): some chunk is each clause's best match

    other = retriever.fused_candidates("Did the Herald report that robots would ship in spring?", clauses=True)
    assert retriever.bridge(other.plan, retriever.candidate_pool(other)) is None
    X = features(other.plan, retriever.candidate_pool(other), other.vectors, robots.bm25)
    cols = [FEATURES.index(n) for n in ("br_lex", "br_ds", "br_named", "bridged")]
    assert (X[:, cols] == 0).all()
    assert (X[:, FEATURES.index("br_lex_rank")] == math.log(MISSING_RANK)).all()


def test_search_hands_the_bridge_to_the_reranker(robots, monkeypatch):
    seen = []
    score = robots.retriever.reranker.score

    def spy(plan, pool, vectors, bridge=None):
        seen.append(bridge)
        return score(plan, pool, vectors, bridge)

    monkeypatch.setattr(robots.retriever.reranker, "score", spy)
    passages = robots.search("Who founded a robotics startup and told investors robots would ship in spring?", k=2)
    assert seen[-1].name == "Quinlan"
    assert {p.title for p in passages} == {"Robotics startup raises funds", "Investors back warehouse robots"}
    robots.search("Did the Herald report that robots would ship in spring?", k=2)
    assert seen[-1] is None
