"""Data passed between the assistant's parts: articles, chunks, passages, answers."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from typing import Literal

from pydantic import BaseModel, Field, model_validator


def stable_id(*parts: str, length: int = 16) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:length]


class Article(BaseModel):
    """One news article. ``published_at`` is ISO 8601 UTC (``2023-11-27T08:45:59Z``) or None."""

    title: str
    body: str
    source: str | None = None
    author: str | None = None
    published_at: str | None = None
    url: str | None = None
    category: str | None = None
    origin: str = Field("", description="File (and record) the article was read from.")
    id: str = ""
    furniture: list[str] = Field(default_factory=list, description=(
        "Page furniture taken out of the body at ingest (captions, credits, 'Read more' links, social-media "
        "embeds, bylines, navigation): assistant/ingest/furniture.py. Not part of the content hash."))

    def model_post_init(self, _context) -> None:
        if not self.id:
            # Stable across runs: the URL when known, else what identifies the story.
            key = self.url or "|".join([self.title, self.source or "", self.published_at or ""])
            self.id = stable_id(key.strip().lower())

    @property
    def content_hash(self) -> str:
        fields = [self.title, self.body, self.source, self.author, self.published_at, self.url, self.category]
        return stable_id(*[f or "" for f in fields], length=20)

    @property
    def published_ts(self) -> int | None:
        return iso_to_ts(self.published_at)


def iso_to_ts(iso: str | None) -> int | None:
    if not iso:
        return None
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(timezone.utc).timestamp())


class Chunk(BaseModel):
    """A run of whole sentences of one article, with its character span in the article body."""

    id: str
    article_id: str
    position: int
    text: str
    start: int
    end: int


class Passage(BaseModel):
    """A retrieved chunk with its article metadata and scores."""

    chunk_id: str
    article_id: str
    text: str
    title: str
    source: str | None = None
    author: str | None = None
    published_at: str | None = None
    url: str | None = None
    category: str | None = None
    position: int = 0
    start: int = 0
    end: int = 0
    score: float = 0.0
    scores: dict[str, float] = Field(default_factory=dict, description="Per-retriever scores and ranks.")

    @property
    def metadata(self) -> dict:
        return self.model_dump(exclude={"text"})


class PublishedCopy(BaseModel):
    """Another outlet's copy of a story (a syndicated or republished article)."""

    source: str | None = None
    url: str | None = None
    published_at: str | None = None


class Citation(BaseModel):
    n: int
    article_id: str
    title: str
    source: str | None = None
    author: str | None = None
    published_at: str | None = None
    url: str | None = None
    chunk_id: str
    quote: str = Field(description="Verbatim sentence(s) of the article.")
    start: int = Field(description="Character offset of the quote in the article body.")
    end: int
    score: float
    speaker: str | None = Field(None, description="Who says the quoted words (quotation or reported speech), if anyone.")
    speaker_role: str | None = Field(None, description="How the article introduces the speaker.")
    also_published_by: list[PublishedCopy] = Field(
        default_factory=list, description="Other outlets that carried the same story (syndicated copies).")


class AnswerPart(BaseModel):
    """A run of an answer's text and whose words they are; an answer's parts, joined, are its text."""

    text: str
    kind: Literal["quote", "paraphrase", "added", "citation"] = Field(description=(
        '"quote": the article\'s own words, inside the span of the citation named (only the first letter may be '
        'lower-cased after a lead-in); "paraphrase": a writer\'s (LLM\'s) sentence that verification found backed by '
        'the citations named, whose words in quotation marks are the cited span\'s own; "added": the assistant\'s '
        'own words (an outlet and date lead-in, "According to X,", "X said:", a bracketed name, a quotation mark it '
        'balances, spacing, notes); "citation": a marker such as "[1]".'))
    citations: list[int] = Field(default_factory=list, description="Citation numbers n this run stands on.")


class Answer(BaseModel):
    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = Field(default_factory=list)
    passages: list[Passage] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    mode: str = "extractive"
    trace: dict = Field(default_factory=dict, description="How the answer was produced.")
    confidence: Literal["high", "low", "none"] | None = Field(
        None, description='"high": the cited sentences answer the question; "low": the closest passages, shown with '
                          'a caveat naming what they lack; "none": declined (abstained is true exactly then).')
    confidence_reason: str | None = Field(None, description="Why the answer has this confidence, in plain words.")
    parts: list[AnswerPart] = Field(default_factory=list, description=(
        "The answer's text cut into runs by whose words they are (see AnswerPart); joined, they are `answer`."))

    @model_validator(mode="after")
    def _confidence_matches_abstained(self) -> "Answer":
        """``abstained`` is true exactly when confidence is "none"; unset, it follows ``abstained``."""
        if self.confidence is None:
            self.confidence = "none" if self.abstained else "high"
        elif (self.confidence == "none") != self.abstained:
            raise ValueError(f"confidence {self.confidence!r} with abstained={self.abstained}: "
                             "abstained must be true exactly when confidence is 'none'")
        return self
