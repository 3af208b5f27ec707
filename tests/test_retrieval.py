"""Hybrid retrieval, filters, the LangChain retriever and extractive answers, on real indexes."""

import pytest
from langchain_core.documents import Document

from assistant.ingest.furniture import strip_furniture
from assistant.filters import SearchFilters
from assistant.apps.langchain import NewsRetriever
from assistant.models import Article
from conftest import SEED

ARTICLES = [
    Article(title="Harbour reopens", body="The city harbour reopened after storm repairs. Fishing boats returned.",
            source="Gazette", published_at="2023-10-02T09:00:00Z", category="business", url="https://g.example/1"),
    Article(title="Storm damages harbour", body="A storm damaged the harbour wall. Repairs will take weeks.",
            source="Herald", published_at="2023-09-20T09:00:00Z", category="science", url="https://h.example/2"),
    Article(title="Harbour festival", body="The harbour festival drew crowds to watch the fishing boats.",
            source="Herald", published_at="2023-11-15T18:30:00Z", category="entertainment", url="https://h.example/3"),
]


@pytest.fixture
def news(make_assistant):
    assistant = make_assistant()
    report = assistant.indexer.ingest_articles(ARTICLES)
    assert report.added == 3
    return assistant


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
@pytest.mark.parametrize("filters, expected", [
    (SearchFilters(sources=["Herald"]), {"Storm damages harbour", "Harbour festival"}),
    (SearchFilters(since="2023-10-01"), {"Harbour reopens", "Harbour festival"}),
    (SearchFilters(until="2023-10-02"), {"Harbour reopens", "Storm damages harbour"}),
    (SearchFilters(categories=["science"]), {"Storm damages harbour"}),
    (SearchFilters(sources=["Herald"], since="2023-10-01"), {"Harbour festival"}),
])
def test_filters_apply_to_every_retriever(news, mode, filters, expected):
    news.retriever.config.mode = mode
    titles = {p.title for p in news.search("harbour boats storm", k=10, filters=filters)}
    assert titles == expected


def test_hybrid_passages_carry_metadata_and_both_scores(news):
    passages = news.search("harbour wall storm repairs", k=3)
    top = passages[0]
    assert top.title == "Storm damages harbour"
    assert (top.source, top.published_at, top.category, top.url) == ("Herald", "2023-09-20T09:00:00Z", "science", "https://h.example/2")
    assert {"dense", "dense_rank", "bm25", "bm25_rank", "fused"} <= set(top.scores)
    assert top.scores["dense_rank"] == 1 and top.scores["bm25_rank"] == 1
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


def test_langchain_retriever_returns_documents_with_metadata(news):
    retriever = NewsRetriever(assistant=news, k=2, filters=SearchFilters(sources=["Gazette"]))
    docs = retriever.invoke("harbour")
    assert len(docs) == 1 and isinstance(docs[0], Document)
    doc = docs[0]
    assert doc.page_content.startswith("The city harbour reopened")
    assert doc.metadata["title"] == "Harbour reopens" and doc.metadata["source"] == "Gazette"
    assert doc.metadata["published_at"] == "2023-10-02T09:00:00Z"
    assert doc.metadata["chunk_id"] == doc.id and "fused" in doc.metadata["scores"]


def test_expert_on_china_is_quoted_with_exact_spans(seed_index):
    answer = seed_index.ask("What did the expert say about China?")
    assert not answer.abstained and answer.citations
    # Spans are offsets in the indexed body: the file's text without its page furniture (a photo
    # caption and a "Read also" link in this article).
    body = strip_furniture(SEED.read_text(encoding="utf-8").split("\n", 1)[1].lstrip("\n")).text
    for c in answer.citations:
        assert body[c.start:c.end] == c.quote
        assert "China" in c.quote or "Beijing" in c.quote
        assert f"[{c.n}]" in answer.answer
    assert answer.citations[0].title.startswith("It would be beneficial for Putin")


def test_unrelated_question_abstains(seed_index):
    answer = seed_index.ask("How long should I bake a chocolate cake?")
    assert answer.abstained and not answer.citations
    assert answer.passages, "retrieved passages are still shown for transparency"


def test_question_naming_an_outlet_gets_that_outlets_evidence(make_assistant):
    assistant = make_assistant(profile="multihop")  # routes per outlet and a reranker that reads outlets
    articles = [Article(title=f"Harbour report {i}", body=f"The harbour wall was repaired, report {i} said. Boats returned.",
                        source="Gazette", url=f"https://g.example/{i}") for i in range(12)]
    articles.append(Article(title="Quiet day", body="The wall at the harbour held, the mayor said.",
                            source="Herald", url="https://h.example/q"))
    assistant.indexer.ingest_articles(articles)
    question = "What did the Herald say about the harbour wall?"
    routed = assistant.search(question, k=3)
    assert "Herald" in [p.source for p in routed]
    assert any(key.startswith("bm25_rank@source:Herald") for p in routed for key in p.scores)
    assistant.retriever.config.source_routing = False
    # The reranker reads the outlet too (its src_match feature); without either, the Herald is buried.
    assert "Herald" in [p.source for p in assistant.search(question, k=3)]
    assistant.retriever.reranker = None
    assert "Herald" not in [p.source for p in assistant.search(question, k=3)]


def test_outlet_and_day_named_together_route_to_that_days_articles(news, make_assistant):
    news = make_assistant(profile="multihop")  # the profile with routes per named day
    passages = news.search("What did the Herald report on November 15, 2023 about the harbour?", k=3)
    assert passages[0].title == "Harbour festival"
    assert any("@source:Herald@day:2023-11-15" in key for key in passages[0].scores)


@pytest.mark.parametrize("filters", [
    SearchFilters(sources=["Herald"]), SearchFilters(categories=["science", "business"]),
    SearchFilters(since="2023-10-01"), SearchFilters(until="2023-10-02"),
    SearchFilters(sources=["Herald", "Gazette"], since="2023-10-01", until="2023-11-15"), SearchFilters(),
])
def test_bm25_filter_mask_follows_the_filter_rules(news, filters):
    """The lexical index filters whole columns at once; it must agree with SearchFilters.matches."""
    bm25 = news.bm25
    bm25.ensure_fresh()
    chunks = list(news.store.iter_chunks())
    assert bm25.passing([c.id for c in chunks], filters) == [filters.matches(c.metadata) for c in chunks]


def test_sentence_overlap_counts_each_question_word_once_and_does_not_mark_long_sentences_down(make_assistant):
    """A chunk's overlap is that of its best sentence: the idf of the question's words it holds, each
    once, whatever the sentence's length; a word repeated in a sentence does not count twice."""
    assistant = make_assistant()
    bodies = {
        "short": "The harbour wall needed storm repairs. Fishing boats stayed in port.",
        "long": "After the gale that swept the coast on Sunday night, engineers from the county council found "
                "that the old harbour wall, built in 1887 from local granite, needed storm repairs before the "
                "fishing season. Fishing boats stayed in port.",
        "repeats": "Storm after storm after storm hit the coast. Repairs to roads began.",
        "unrelated": "The library opened a new reading room. Children's books fill the shelves.",
    }
    assistant.indexer.ingest_articles([Article(title=name, body=body, source="Coast News",
                                               published_at="2024-01-0%dT00:00:00Z" % (i + 1))
                                       for i, (name, body) in enumerate(bodies.items())])
    bm25 = assistant.bm25
    bm25.ensure_fresh()
    chunk_of = {c.metadata["title"]: c.id for c in assistant.store.iter_chunks()}
    overlap = bm25.sentence_overlap("Did the harbour wall need storm repairs?")
    score = {name: float(overlap[bm25.rows([cid])[0]]) for name, cid in chunk_of.items()}
    assert score["short"] == pytest.approx(score["long"], rel=1e-6)  # length is not marked down
    assert score["short"] > score["repeats"] > 0.0  # "storm" three times counts once; "repairs" is elsewhere
    assert score["unrelated"] == 0.0
    assert bm25.sentence_overlap("zebra quantum").max() == 0.0  # no word indexed


@pytest.mark.parametrize("scores, expected", [
    ([9.0] + [3.0] * 9, 1.0),  # the best chunk holds the rare words: 3x the tenth
    ([3.0] * 10, 0.25),  # flat: every chunk matches only common words
    ([4.0] + [2.5] * 9, 0.25 + 0.75 * 0.6),  # peak 1.6 of the 2.0 needed: linear in between
    ([9.0, 1.0], 1.0),  # fewer than ten hits: nothing to compare
])
def test_lexical_confidence_follows_how_far_the_best_bm25_score_stands_out(scores, expected):
    from assistant.retrieve.hybrid import lexical_confidence

    assert lexical_confidence(scores, full_peak=2.0, floor=0.25) == pytest.approx(expected)
    assert lexical_confidence(scores, full_peak=0.0, floor=0.25) == 1.0  # off


PARAPHRASE = [  # every body says "city" once; only "stadium" is about a ground for football
    ("Stadium plan", "The city approved a new stadium where the football club will play from next season."),
    ("Bakery", "A bakery in the city sold bread made from an old family recipe."),
    ("Library", "The city library stays open late on weekdays now."),
    ("Bus lanes", "New bus lanes opened across the city centre on Monday."),
    ("Museum", "The city museum put a collection of old coins on display."),
    ("Parks", "Gardeners planted tulips in every park of the city."),
    ("Market", "The city market added stalls run by local farmers."),
    ("Bridge", "Engineers inspected the old bridge that crosses the city river."),
    ("School", "A city school won a prize at the science fair."),
    ("Cinema", "The city cinema showed silent films with live piano."),
    ("Festival", "Musicians from the city played at a summer festival."),
    ("Harbour", "Ferries left the city harbour on time despite fog."),
]


def test_a_flat_bm25_top_ten_gives_the_ranking_to_the_embeddings(make_assistant, tmp_path):
    """A paraphrase shares only common words with every chunk: with lexical confidence on, BM25's
    flat ranking stops pulling the fused order away from the dense one; off, it does."""
    import json

    from assistant.models import Article

    def profile(name, **fusion):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"name": name, "fusion": {"mode": fusion.pop("mode", "hybrid"), **fusion}}))
        return str(path)

    question = "Which city will build an arena for its soccer team?"
    base = make_assistant(profile=profile("dense", mode="dense"))
    base.indexer.ingest_articles([Article(title=t, body=b, source="City Post", published_at=f"2024-02-{i + 1:02d}T08:00:00Z")
                                  for i, (t, b) in enumerate(PARAPHRASE)])
    dense = [p.title for p in base.search(question, k=10)]
    assert dense[0] == "Stadium plan"
    scaled = make_assistant(profile=profile("scaled", lexical_full_peak=3.0, lexical_floor=0.0))
    plain = make_assistant(profile=profile("plain"))
    assert [p.title for p in scaled.search(question, k=10)] == dense
    assert [p.title for p in plain.search(question, k=10)] != dense


@pytest.mark.parametrize("exact_limit", [None, 0])
@pytest.mark.parametrize("filters", [SearchFilters(), SearchFilters(since="2024-02-06")])
def test_dense_ranking_is_exact_cosine_order_over_every_stored_chunk(make_assistant, monkeypatch, filters, exact_limit):
    """The dense ranking is the exact top of every stored chunk vector (not an approximate graph
    search), with and without a filter: the same question ranks the same in every process. Past
    EXACT_DENSE_MAX_CHUNKS (here 0) an unfiltered search goes to Chroma's HNSW index, which on an
    index this small finds the same chunks."""
    import numpy as np

    from assistant.retrieve import hybrid

    if exact_limit is not None:
        monkeypatch.setattr(hybrid, "EXACT_DENSE_MAX_CHUNKS", exact_limit)
    assistant = make_assistant(profile="dense")
    assistant.indexer.ingest_articles([
        Article(title=t, body=b, source="City Post", published_at=f"2024-02-{i + 1:02d}T08:00:00Z")
        for i, (t, b) in enumerate(PARAPHRASE)])
    question = "Where will the football club play?"
    vector = assistant.indexer.embedder.embed([question])[0]
    stored = [c for c in assistant.store.iter_chunks(embeddings=True) if filters.matches(c.metadata)]
    want = sorted(((c.id, float(np.dot(np.asarray(c.embedding, dtype=np.float32), vector))) for c in stored),
                  key=lambda pair: (-pair[1], pair[0]))[:5]
    passages = assistant.search(question, k=5, filters=filters)
    assert [p.chunk_id for p in passages] == [cid for cid, _ in want]
    np.testing.assert_allclose([p.scores["dense"] for p in passages], [s for _, s in want], atol=1e-5)
    assert [p.scores["dense_rank"] for p in passages] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("order, tops, k, expected", [
    (list("abcdef"), ["b"], 3, list("abc")),            # already in the top k: nothing moves
    (list("abcdef"), ["e"], 3, list("abe")),            # takes the last place
    (list("abcdef"), ["f", "e"], 3, list("afe")),       # in the order given, from the end up
    (list("abcdef"), ["c", "e"], 3, list("ace")),       # a top already in is not displaced
    (list("abcdef"), ["a", "b", "c", "e"], 3, list("abc")),  # no room left: the top k stays
    (list("ab"), ["z"], 3, list("abz")),
])
def test_keep_tops_gives_the_route_tops_the_last_places(order, tops, k, expected):
    from assistant.retrieve.hybrid import keep_tops

    assert keep_tops(order, tops, k) == expected


def test_route_tops_keep_each_rankings_best_chunks_in_the_results(make_assistant, tmp_path):
    """With route_tops = 2, the two best chunks of the dense and of the BM25 ranking are always among
    the four passages returned, whatever the other rankings say."""
    import json

    path = tmp_path / "tops.json"
    path.write_text(json.dumps({"name": "tops", "fusion": {"mode": "hybrid", "sentence_weight": 1.0,
                                                           "dense_sentence_weight": 1.0, "route_tops": 2}}))
    assistant = make_assistant(profile=str(path))
    assistant.indexer.ingest_articles([Article(title=t, body=b, source="City Post") for t, b in PARAPHRASE])
    for question in ("Which city will build an arena for its soccer team?", "Where can I see old money?",
                     "city river crossing checked by engineers", "late opening hours for reading"):
        passages = assistant.search(question, k=4)
        ranks = [(p.scores.get("dense_rank", 99), p.scores.get("bm25_rank", 99)) for p in passages]
        titles = {p.title for p in passages}
        for route in ("dense", "bm25"):
            best = [p.title for p in assistant.retriever.search(question, k=len(PARAPHRASE))
                    if p.scores.get(f"{route}_rank", 99) <= 2]
            assert set(best) <= titles, (question, route, ranks)
