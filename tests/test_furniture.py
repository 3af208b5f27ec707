"""Page furniture taken out at ingest (assistant/ingest/furniture.py), on saved pages.

tests/data/furniture/ holds a saved sports page (HTML: byline, photo credit, a "MORE:" link, two
embedded tweets, "Read more", a newsletter prompt, "Advertisement") and a news-dataset record
(JSON: a numbered gallery caption with "Credit: AFP", "Photograph: …", "READ MORE:", an Instagram
embed, "Related:"). The story's sentences stay, the furniture goes, and the index says what went.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.ingest.furniture import clean_article, strip_furniture
from assistant.ingest.readers import read_file
from assistant.models import Article

DATA = Path(__file__).parent / "data" / "furniture"
SEED = Path(__file__).resolve().parent.parent / "corpus" / "000_6a88a811b9bce059.txt"

PAGES = {
    "dodgers_ohtani.html": {
        "gone": ["By Jane Rivera", "MORE: Why Shohei Ohtani", "pic.twitter.com", "(@Dodgers)", "(@MLB)",
                 "Read more:", "newsletter", "Advertisement", "Getty Images"],
        "kept": ["The two-time American League MVP agreed to a 10-year contract with the Dodgers on Monday",
                 # a tweet's own words are what the outlet quotes; only its link and signature go
                 "The Los Angeles Dodgers have signed two-time American League Most Valuable Player Shohei Ohtani "
                 "to a 10-year contract.",
                 '"I want to apologize to all the fans for taking so long to make this decision," Ohtani wrote.',
                 "The Dodgers open the 2024 season against the San Diego Padres"],
        "dropped": ["By Jane Rivera", "MORE: Why Shohei Ohtani chose the Dodgers over the Blue Jays",
                    "— Los Angeles Dodgers (@Dodgers) December 12, 2023", "pic.twitter.com/Ab12Cd34Ef",
                    "pic.twitter.com/Gh56Ij78Kl — MLB (@MLB) December 12, 2023", "Advertisement"],
    },
    "united_stake.json": {
        "gone": ["Credit: AFP", "5 Sir Jim Ratcliffe has an offer", "Photograph:", "READ MORE", "Credit: PA",
                 "A post shared by", "View this post on Instagram", "Related: Who are the Glazers"],
        "kept": ["Sir Jim Ratcliffe will buy 25 per cent of Manchester United after the Glazer family accepted",
                 "Ratcliffe will also put $300 million into the club",
                 "Fans protested against the owners before the last home game.",
                 "The deal still needs the approval of the Premier League"],
        "dropped": ["5 Sir Jim Ratcliffe has an offer to buy a quarter of Manchester United accepted Credit: AFP",
                    "Old Trafford needs an upgrade after years without investment. Photograph: Jon Smith/Shutterstock",
                    "READ MORE: The ten biggest takeovers in Premier League history", "Credit: PA",
                    "A post shared by Manchester United (@manchesterunited)"],
    },
}


@pytest.mark.parametrize("name", sorted(PAGES))
def test_a_saved_page_is_read_without_its_furniture(name):
    read = read_file(DATA / name)
    assert not read.errors
    [article] = read.articles
    expected = PAGES[name]
    for piece in expected["gone"]:
        assert piece not in article.body, piece
    for sentence in expected["kept"]:
        assert sentence in article.body, sentence
    for line in expected["dropped"]:
        assert line in article.furniture, line
    assert "\n\n\n" not in article.body and article.body == article.body.strip()


def test_text_without_furniture_comes_back_unchanged():
    """The indexer's "unchanged" decision rests on it: same text, same content hash."""
    text = SEED.read_text(encoding="utf-8")
    story = text.replace("Vladimir Putin. Photo:\n\n", "").replace(
        "Read also: Ukrainian servicemen finally receive shells to repel Russians, – Reuters\n\n", "")
    for body in (story, story.replace("\n", "\r\n"), "\n\n  " + story.replace("\n\n", "\n \n\n") + "\n\n"):
        stripped = strip_furniture(body)
        assert stripped.dropped == [] and stripped.text is body
        article = Article(title="t", body=body)
        assert clean_article(article) is article
    stripped = strip_furniture(text)
    assert len(stripped.dropped) == 2 and stripped.text == story


@pytest.mark.parametrize("line", [
    "More than 1,200 people were killed in the attack, the Israeli military said.",
    "By Thursday afternoon, the storm had moved north toward the coast, forecasters said.",
    "Subscribers to the Enterprise plan have reported new beta features, including PDF uploads.",
    "The newsletter, which has 2 million readers, was sold to a media group for $40 million.",
    "Watch parties were held across the city as fans gathered to see the final.",
    "Reuters reported that the talks had stalled over the price (a figure neither side confirmed).",
    "The company's shares fell 5 per cent on Monday (Bloomberg data showed the steepest fall in a year).",
    "Photo: the council's plan would double the number of buses on the route.",
    "Oil prices slumped overnight. Credit: AP Wednesday's report from ADP suggested private employers added "
    "89,000 jobs last month.",  # a credit inside a paragraph of story text: cutting it would cut the story
])
def test_story_text_that_looks_like_furniture_is_kept(line):
    body = f"The first paragraph of the story says what happened.\n\n{line}\n\nThe last paragraph says more."
    stripped = strip_furniture(body)
    assert stripped.dropped == [] and stripped.text == body


def test_stripping_twice_takes_nothing_more():
    for name in PAGES:
        article = read_file(DATA / name).articles[0]
        assert strip_furniture(article.body).dropped == []
        assert clean_article(article) is article


def test_an_article_that_is_all_furniture_is_kept_as_it_is():
    article = Article(title="Photos", body="(AFP via Getty Images)\n\nMORE: Other stories")
    assert clean_article(article) is article


def test_the_index_records_what_was_dropped_and_an_older_index_is_processed_again(make_assistant):
    """An index written before furniture was stripped holds the raw text; ingesting the same file
    again replaces that article (its cleaned text has another content hash), and the article table
    then says how many lines were dropped and which."""
    assistant = make_assistant()
    source = DATA / "dodgers_ohtani.html"
    cleaned = read_file(source).articles[0]
    raw = cleaned.model_copy(update={"body": _raw_body(cleaned), "furniture": []})
    assert raw.content_hash != cleaned.content_hash and raw.id == cleaned.id

    # What an earlier version wrote: the raw text, chunked and embedded as it was.
    chunks = assistant.indexer.chunker.chunk(raw)
    vectors = assistant.indexer.embedder.embed([f"{raw.title}\n{c.text}" for c in chunks])
    assistant.store.add_articles([(raw, chunks, vectors, None)])
    assert any("pic.twitter.com" in c.text for c in assistant.store.article_chunks(raw.id))

    report = assistant.ingest([source])
    assert (report.updated, report.added, report.unchanged) == (1, 0, 0)
    assert report.furniture_dropped == len(cleaned.furniture) >= 6
    assert "lines of page furniture" in report.summary()
    texts = " ".join(c.text for c in assistant.store.article_chunks(cleaned.id))
    assert "pic.twitter.com" not in texts and "MORE:" not in texts and "Ohtani to a 10-year contract" in texts
    record = assistant.store.article_record(cleaned.id)
    assert record.furniture_dropped == len(cleaned.furniture)
    assert "MORE: Why Shohei Ohtani chose the Dodgers over the Blue Jays" in record.furniture
    assert record.body == cleaned.body
    [row] = [r for r in assistant.articles() if r["id"] == cleaned.id]
    assert row["furniture_dropped"] == len(cleaned.furniture)

    again = assistant.ingest([source])
    assert (again.unchanged, again.updated, again.furniture_dropped) == (1, 0, 0)


def test_articles_given_to_the_indexer_directly_are_cleaned_too(make_assistant):
    assistant = make_assistant()
    body = ("The council approved the new budget on Tuesday after a three-hour debate.\n\n"
            "MORE: How the budget affects your rates\n\n"
            "The mayor said the vote showed the city could still agree on hard choices.")
    report = assistant.indexer.ingest_articles([Article(title="Budget approved", body=body, url="https://x.example/b")])
    assert report.added == 1 and report.furniture_dropped == 1
    [record] = assistant.store.article_records(bodies=True)
    assert "MORE:" not in record.body and record.furniture == ("MORE: How the budget affects your rates",)


def _raw_body(article: Article) -> str:
    """The page's text as it was before the furniture was taken out (the furniture lines put back)."""
    return article.body + "\n\n" + "\n\n".join(article.furniture)
