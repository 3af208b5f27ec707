"""The learned reranker: its model file, features, loading errors, and its place in retrieval."""

import json

import numpy as np
import pytest

from assistant.errors import ConfigError
from assistant.models import Article
from assistant.query.analysis import analyze
from assistant.rerank.linear import BUNDLED_MODEL, FEATURES, LinearModel, Reranker, features


def test_linear_model_round_trips_and_predicts_like_sklearn(tmp_path):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(loc=[0, 5, -3], scale=[1, 10, 0.1], size=(2000, 3))
    y = (X[:, 0] + (X[:, 1] - 5) / 10 - (X[:, 2] + 3) / 0.1 + rng.normal(size=2000) > 0).astype(int)
    mean, scale = X.mean(axis=0), X.std(axis=0)
    fitted = LogisticRegression().fit((X - mean) / scale, y)
    model = LinearModel(["a", "b", "c"], mean, scale, fitted.coef_[0], fitted.intercept_[0], {"note": "test"})
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model.to_dict()))
    loaded = LinearModel.load(path)
    fresh = rng.normal(loc=[0, 5, -3], scale=[1, 10, 0.1], size=(300, 3))
    assert np.allclose(loaded.predict(fresh), fitted.predict_proba((fresh - mean) / scale)[:, 1], atol=1e-12)
    assert loaded.features == ["a", "b", "c"] and loaded.info == {"note": "test"}


def test_bundled_model_matches_this_versions_features():
    model = LinearModel.load(BUNDLED_MODEL)
    assert model.features == list(FEATURES)
    assert model.info["questions"] > 1000 and "cross_validated" in model.info
    p = model.predict(np.zeros((3, len(FEATURES))))
    assert p.shape == (3,) and ((0 < p) & (p < 1)).all()


@pytest.mark.parametrize("content, message", [
    ("{not json", "cannot read the reranker model"),
    ('{"format": "something else"}', "not a reranker model"),
    ("[1, 2]", "not a reranker model"),
    ('{"format": "news-assistant-linear-reranker/1", "features": ["x"]}', "broken reranker model"),
])
def test_bad_model_file_is_named_with_the_fix(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as err:
        LinearModel.load(path)
    assert str(path) in str(err.value) and message in str(err.value)
    assert "rerank.model" in str(err.value)


def test_missing_model_file_is_a_config_error(make_assistant, tmp_path):
    profile = tmp_path / "mine.json"
    profile.write_text(json.dumps({"name": "mine", "rerank": {"model": str(tmp_path / "missing.json")}}))
    with pytest.raises(ConfigError, match="missing.json not found") as err:
        make_assistant(profile=str(profile))
    assert str(profile) in str(err.value)


def test_model_for_other_features_is_refused(tmp_path):
    model = LinearModel(["x"], [0.0], [1.0], [1.0], 0.0)
    with pytest.raises(ConfigError, match="retrain it with benchmarks/train_reranker.py"):
        Reranker(model, bm25=None)


ARTICLES = [
    Article(title="Chip maker results", body="The chip maker reported record profits. Shares rose sharply on Monday.",
            source="Gazette", published_at="2023-10-02T09:00:00Z", url="https://g.example/chips"),
    Article(title="Chip shortage eases", body="Car makers said the chip shortage eased. Deliveries recovered in autumn.",
            source="Herald", published_at="2023-11-15T18:30:00Z", url="https://h.example/shortage"),
    Article(title="Harbour festival", body="The harbour festival drew crowds. Fishing boats were decorated.",
            source="Herald", published_at="2023-11-15T10:00:00Z", url="https://h.example/festival"),
]


TWO_OUTLETS = ("Did the Gazette report record chip profits on October 2, 2023, "
               "while the Herald said the chip shortage eased?")


@pytest.fixture
def news(make_assistant):
    assistant = make_assistant(profile="multihop")
    assistant.indexer.ingest_articles(ARTICLES)
    return assistant


def test_features_describe_outlet_day_and_clauses(news):
    question = TWO_OUTLETS
    retriever = news.retriever
    found = retriever.fused_candidates(question, clauses=True)
    plan = found.plan
    assert plan.clauses == ["Did the Gazette report record chip profits on October 2",
                            "the Herald said the chip shortage eased"]
    assert found.vectors.shape[0] == 1 + len(plan.clauses)
    pool = retriever.candidate_pool(found)
    X = features(plan, pool, found.vectors, news.bm25)
    assert X.shape == (len(pool), len(FEATURES)) and np.isfinite(X).all()
    col = {name: X[:, i] for i, name in enumerate(FEATURES)}
    by_title = {c.metadata["title"]: i for i, c in enumerate(pool.chunks)}
    # Both outlets are named; only the Gazette piece is from the named day.
    assert col["src_match"][by_title["Chip maker results"]] == 1.0
    assert col["day_match"][by_title["Chip maker results"]] == 1.0
    assert col["day_match"][by_title["Chip shortage eases"]] == 0.0
    assert col["n_groups"][0] == 2 and col["n_cl"][0] == 2
    # Each clause's best match ranks first for it.
    assert col["cl_rank"][by_title["Chip shortage eases"]] == 0.0  # log(1)
    assert col["cl_rank"][by_title["Chip maker results"]] == 0.0
    assert col["cl_best"][by_title["Harbour festival"]] < col["cl_best"][by_title["Chip shortage eases"]]


def test_search_orders_by_the_reranker_and_keeps_filters(news):
    passages = news.search("Did the Herald say the chip shortage eased?", k=3)
    assert passages[0].title == "Chip shortage eases"
    assert all("rerank" in p.scores and "fused" in p.scores for p in passages)
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    assert [p.score for p in passages] == [p.scores["rerank"] for p in passages]
    from assistant.filters import SearchFilters

    only_herald = news.search("chip profits", k=3, filters=SearchFilters(sources=["Herald"]))
    assert {p.source for p in only_herald} == {"Herald"}


def test_rerank_off_keeps_fused_order(make_assistant):
    assistant = make_assistant(profile="hybrid")
    assistant.indexer.ingest_articles(ARTICLES)
    passages = assistant.search("chip shortage", k=3)
    assert passages and all("rerank" not in p.scores for p in passages)
    assert [p.score for p in passages] == [p.scores["fused"] for p in passages]


def test_reranker_is_only_used_in_hybrid_mode(make_assistant):
    assert make_assistant(profile="multihop").retriever.reranker is not None
    assert make_assistant(profile="bm25").retriever.reranker is None
    assert make_assistant(profile="dense").retriever.reranker is None
    hybrid = make_assistant(profile="multihop")
    hybrid.indexer.ingest_articles(ARTICLES)
    hybrid.retriever.config.mode = "bm25"  # switched at run time: no dense signals, so no reranking
    passages = hybrid.search("chip shortage", k=3)
    assert passages and all("rerank" not in p.scores and "dense" not in p.scores for p in passages)


def test_plan_clauses_are_in_analyze():
    plan = analyze("Which company, according to TechCrunch, learns from the missteps of its rivals while "
                   "enforcing the same terms on all developers?", ["TechCrunch"])
    assert plan.clauses == ["learns from the missteps of its rivals", "enforcing the same terms on all developers"]


def test_each_clause_knows_the_outlets_named_inside_it():
    plan = analyze("Did the Gazette report record chip profits, while the Herald said the chip shortage eased, "
                   "and did prices fall everywhere?", ["Gazette", "Herald"])
    assert plan.clause_sources == [["Gazette"], ["Herald"], []]


def test_clause_routes_bring_each_claims_evidence_into_the_pool(news):
    """With a pool of one, fusion alone keeps one chunk; each clause adds its own best matches."""
    question = TWO_OUTLETS
    retriever = news.retriever
    retriever.config.rerank_pool = 1
    found = retriever.fused_candidates(question, clauses=True)
    ranks = found.ranking.scores
    by_title = {c.metadata["title"]: c.id for c in news.store.iter_chunks()}
    # The Herald clause searches the Herald only: its sentence match ranks first there.
    assert ranks[by_title["Chip shortage eases"]]["clause_sentence_rank"] == 1
    assert ranks[by_title["Chip maker results"]]["clause_sentence_rank"] == 1
    assert ranks[by_title["Harbour festival"]].get("clause_sentence_rank", 99) > 1
    pool = retriever.candidate_pool(found)
    assert {c.metadata["title"] for c in pool.chunks} >= {"Chip shortage eases", "Chip maker results"}
    X = features(found.plan, pool, found.vectors, news.bm25)
    col = {name: X[:, i] for i, name in enumerate(FEATURES)}
    row = {c.metadata["title"]: i for i, c in enumerate(pool.chunks)}
    assert col["r_cl_sent"][row["Chip shortage eases"]] == 0.0  # log(1)
    retriever.config.clause_candidates = 0
    assert retriever.fused_candidates(question, clauses=True).clause_hits == []


def test_sentence_features_use_the_best_matching_sentence(news, embedder):
    question = "Did shares rise sharply on Monday?"
    retriever = news.retriever
    found = retriever.fused_candidates(question, clauses=True)
    pool = retriever.candidate_pool(found)
    i = next(i for i, c in enumerate(pool.chunks) if c.metadata["title"] == "Chip maker results")
    q, best = embedder.embed([question, "Shares rose sharply on Monday."])
    expected = float(q @ best / np.linalg.norm(q) / np.linalg.norm(best))
    X = features(found.plan, pool, found.vectors, news.bm25)
    ds_q = X[:, list(FEATURES).index("ds_q")]
    assert ds_q[i] == pytest.approx(expected, abs=1e-3)  # sentence vectors are stored as int8 rows
    assert ds_q[i] > X[i, list(FEATURES).index("dense")]  # the sentence matches better than the whole chunk
    # Without stored sentence vectors a chunk stands for one sentence: its own embedding.
    pool.sentences = [None] * len(pool)
    X = features(found.plan, pool, found.vectors, news.bm25)
    assert X[i, list(FEATURES).index("ds_q")] == pytest.approx(X[i, list(FEATURES).index("dense")], abs=1e-6)


def test_training_script_trains_on_your_own_questions_and_index(make_assistant, tmp_path, monkeypatch):
    """benchmarks/train_reranker.py --questions: the project's JSONL set on an index built by ingest."""
    import sys

    from conftest import CORPUS, ROOT

    make_assistant().ingest([CORPUS])
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import train_reranker

    model_path = tmp_path / "own" / "model.json"
    args = ["train_reranker.py", "--questions", str(ROOT / "evals" / "corpus_questions.jsonl"),
            "--index-dir", str(tmp_path / "data"), "--model", str(model_path)]
    monkeypatch.setattr(sys, "argv", args)
    train_reranker.main()
    model = LinearModel.load(model_path)
    assert model.features == list(FEATURES)
    assert model.info["questions"] == 18  # the answerable questions whose evidence quotes a fact
    assert model.info["data"].startswith("corpus_questions.jsonl")
    report = json.loads((tmp_path / "own" / "model-report.json").read_text())
    assert set(report["cross_validated"]) == {"hits@1", "hits@4", "hits@10", "mrr@10", "evidence_recall@10"}
    assert 0 < report["cross_validated"]["hits@10"] <= 1
    assert "corpus_questions.jsonl" in (tmp_path / "own" / "model-report.md").read_text()
    # Without --model the bundled model is never overwritten.
    monkeypatch.setattr(sys, "argv", args[:-2])
    with pytest.raises(SystemExit, match="pass --model FILE"):
        train_reranker.main()


def test_outlets_named_keep_places_in_the_top_k():
    from assistant.retrieve.hybrid import reserve_outlets

    sources = ["A"] * 12 + ["B"] * 4 + ["C"]
    order = list(range(len(sources)))  # best first: every A chunk outscores every B chunk
    top = reserve_outlets(order, sources, [["A"], ["B"]], k=10, quota=3)
    assert top == [0, 1, 2, 3, 4, 5, 6, 12, 13, 14]  # B's best three replace the three lowest A chunks
    assert reserve_outlets(order, sources, [["A"], ["B"]], k=10, quota=0) == order[:10]
    assert reserve_outlets(order, sources, [], k=10, quota=3) == order[:10]
    assert reserve_outlets(order, sources, [["A"], ["B"]], k=4, quota=3) == [0, 1, 12, 13]  # k // 2 each
    assert reserve_outlets(order, sources, [["B", "C"]], k=10, quota=6) == [0, 1, 2, 3, 4, 12, 13, 14, 15, 16]
    assert reserve_outlets(order, sources, [["D"]], k=3, quota=2) == [0, 1, 2]  # an outlet without candidates


def test_search_keeps_a_place_for_each_outlet_the_question_names(news):
    question = ("Did the Herald report that the chip shortage eased and that the harbour festival drew crowds, "
                "as the Gazette did?")
    retriever = news.retriever
    retriever.config.outlet_quota = 0
    plain = retriever.search(question, k=2)
    assert [p.source for p in plain] == ["Herald", "Herald"]
    retriever.config.outlet_quota = 1
    kept = retriever.search(question, k=2)
    assert sorted(p.source for p in kept) == ["Gazette", "Herald"]
    assert kept[0].chunk_id == plain[0].chunk_id  # the best chunk stays first; the Gazette's replaces the last


def test_search_returns_chunks_that_only_a_clause_found(news):
    """With one candidate per route, fusion sees one chunk; the clauses' own searches find the others."""
    question = TWO_OUTLETS
    retriever = news.retriever
    retriever.config.candidates = 1
    found = retriever.fused_candidates(question, clauses=True)
    only_clause = set(found.clause_hits) - set(found.scores)
    assert only_clause
    passages = retriever.search(question, k=3)
    assert {p.chunk_id for p in passages} >= only_clause
    assert all(p.scores["fused"] == 0 for p in passages if p.chunk_id in only_clause)


def test_chunks_next_to_one_ranked_above_are_marked_down():
    from assistant.retrieve.hybrid import space_neighbours

    places = [("a", 0), ("a", 1), ("b", 0), ("a", 3), ("b", 1)]
    logits = np.array([3.0, 2.8, 2.5, 2.4, 1.0])
    assert space_neighbours(logits, places, penalty=0.0, k=5) == [0, 1, 2, 3, 4]
    # a:1 is next to a:0 (2.8 - 0.5 < 2.5, 2.4); a:3 is in the same article but not next to a chunk picked.
    assert space_neighbours(logits, places, penalty=0.5, k=5) == [0, 2, 3, 1, 4]
    # Each neighbour picked above counts: a:2 sits between a:1 and a:3.
    places2 = [("a", 1), ("a", 3), ("a", 2), ("b", 0)]
    assert space_neighbours(np.array([3.0, 2.9, 2.8, 2.0]), places2, penalty=0.5, k=4) == [0, 1, 3, 2]
    # Only the first k are picked one at a time; the rest follow by score.
    assert space_neighbours(logits, places, penalty=0.5, k=1) == [0, 1, 2, 3, 4]


def test_search_spaces_out_neighbouring_chunks(make_assistant):
    """A long article matching everywhere would fill the top k with runs of neighbouring chunks."""
    from assistant.retrieve.hybrid import chunk_places, logit, space_neighbours

    long_story = " ".join(f"The chip shortage eased for car makers in week {n}, and chip deliveries recovered."
                          for n in range(1, 13))
    assistant = make_assistant(chunk_tokens=48, chunk_overlap_tokens=8, profile="multihop")
    assistant.indexer.ingest_articles([*ARTICLES, Article(title="Chip shortage diary", body=long_story,
                                                          source="Courier", published_at="2023-11-20T08:00:00Z")])
    question = "Did car makers say the chip shortage eased and chip deliveries recovered?"
    retriever = assistant.retriever
    retriever.config.neighbour_penalty = 0.0
    # Without the rule, neighbours sit side by side (the diary's chunks tie, so which of them come
    # first depends on tie order; in the top 10 there are more than the 6 non-adjacent places of one article).
    plain = [chunk_places([c])[0] for c in _chunks(assistant, retriever.search(question, k=10))]
    assert any((a, n + 1) in plain for a, n in plain)
    retriever.config.neighbour_penalty = 100.0
    passages = retriever.search(question, k=6)
    spaced = [chunk_places([c])[0] for c in _chunks(assistant, passages)]
    assert not any((a, n + 1) in spaced for a, n in spaced)
    # Exactly the rule applied to the reranker's scores of the same pool.
    found = retriever.fused_candidates(question, clauses=True)
    pool = retriever.candidate_pool(found)
    scores = retriever.reranker.score(found.plan, pool, found.vectors, retriever.bridge(found.plan, pool))
    expected = space_neighbours(logit(scores), chunk_places(pool.chunks), 100.0, 6)[:6]
    assert [p.chunk_id for p in passages] == [pool.chunks[i].id for i in expected]


def _chunks(assistant, passages):
    got = {c.id: c for c in assistant.store.get_chunks([p.chunk_id for p in passages])}
    return [got[p.chunk_id] for p in passages]
