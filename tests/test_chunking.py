import json
import re

import pytest

from assistant.text.chunking import SentenceChunker
from assistant.models import Article
from assistant.text.sentences import split_sentences


def texts(body):
    return [body[s:e] for s, e in split_sentences(body)]


def test_sentences_respect_abbreviations_initials_and_quotes():
    body = ('Mr. Smith met Dr. J. Doe in the U.S. capital on Jan. 5. "It went well," he said. '
            'Was it? Yes!\nNew paragraph without a period')
    assert texts(body) == [
        "Mr. Smith met Dr. J. Doe in the U.S. capital on Jan. 5.",
        '"It went well," he said.',
        "Was it?",
        "Yes!",
        "New paragraph without a period",
    ]


def test_sentence_spans_point_into_the_text():
    body = "  First one.  Second “quoted.” Third.\n\nFourth"
    for start, end in split_sentences(body):
        assert body[start:end] == body[start:end].strip() and body[start:end]


def words(texts):
    return [len(t.split()) for t in texts]


@pytest.fixture
def chunker():
    return SentenceChunker(words, max_tokens=20, overlap_tokens=6)


def test_chunks_are_whole_sentences_with_offsets_and_overlap(chunker):
    sentences = [f"Sentence number {i} has exactly six words." for i in range(10)]
    body = " ".join(sentences)
    chunks = chunker.chunk(Article(title="t", body=body))
    assert len(chunks) > 2
    for i, chunk in enumerate(chunks):
        assert chunk.text == body[chunk.start:chunk.end]
        assert chunk.id == f"{chunk.article_id}:{i}" and chunk.position == i
        # whole sentences: each chunk starts and ends on a sentence boundary
        assert chunk.text.startswith("Sentence number") and chunk.text.endswith("words.")
        assert sum(words(texts(chunk.text))) + len(texts(chunk.text)) <= 20
    for prev, nxt in zip(chunks, chunks[1:]):
        assert nxt.start < prev.end, "consecutive chunks overlap by a sentence"
    covered = set()
    for chunk in chunks:
        covered.update(texts(chunk.text))
    assert covered == set(sentences)


def test_sentence_longer_than_budget_is_split_at_spaces(chunker):
    body = " ".join(f"w{i}" for i in range(50)) + "."
    chunks = chunker.chunk(Article(title="t", body=body))
    assert len(chunks) >= 3
    assert all(len(c.text.split()) < 20 for c in chunks)
    assert " ".join(" ".join(c.text.split()) for c in chunks).count("w49.") >= 1


def test_chunker_rejects_bad_budget():
    with pytest.raises(ValueError, match="overlap_tokens"):
        SentenceChunker(words, max_tokens=32, overlap_tokens=40)


@pytest.mark.benchmark_data
@pytest.mark.slow
def test_every_gold_fact_lies_whole_in_a_chunk(multihop_dir, embedder):
    """The benchmark scores a hit only if a gold fact is inside one chunk (whitespace removed)."""
    from assistant.ingest.readers import read_paths

    read = read_paths([multihop_dir / "corpus.json"])
    assert len(read.articles) == 609 and not read.errors
    chunker = SentenceChunker(embedder.count_tokens, embedder.max_tokens - 2, 48)
    squash = lambda s: re.sub(r"\s+", "", s)
    by_title = {}
    for article in read.articles:
        reserved = embedder.count_tokens([article.title + "\n"])[0] + 2
        chunks = chunker.chunk(article, reserved)
        assert max(embedder.count_tokens([article.title + "\n" + c.text for c in chunks])) <= embedder.max_tokens - 2
        by_title.setdefault(article.title, []).extend(squash(c.text) for c in chunks)
    questions = json.loads((multihop_dir / "queries-dev.json").read_text())
    facts = [(ev["title"], ev["fact"]) for q in questions for ev in q["evidence_list"]]
    missing = [fact for title, fact in facts if not any(squash(fact) in c for c in by_title[title.strip()])]
    assert len(facts) > 4000
    assert missing == []
