"""Request and response bodies of the REST API (they are also its OpenAPI schema)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from assistant.filters import SearchFilters
from assistant.models import Answer, Citation, Passage, PublishedCopy

# Every list and string a request may send is bounded, so that no request can make a query too big
# for the index (40,000 outlets once failed in SQLite: "too many SQL variables") or the server.
MAX_FILTER_VALUES = 200  # outlets, or categories, in one request
MAX_FILTER_CHARS = 300  # one outlet or category name
MAX_HISTORY_TURNS = 20
MAX_TURN_CITATIONS = 50

FilterValue = Annotated[str, StringConstraints(max_length=MAX_FILTER_CHARS)]
ShortText = Annotated[str, StringConstraints(max_length=2_000)]


class RequestFilters(SearchFilters):
    """Search filters as a request sends them: at most 200 outlets and 200 categories."""

    model_config = ConfigDict(extra="forbid")  # a misspelt filter is refused, never silently dropped

    sources: list[FilterValue] = Field(default_factory=list, max_length=MAX_FILTER_VALUES,
                                       description="Outlets to keep (exact names; at most 200).")
    categories: list[FilterValue] = Field(default_factory=list, max_length=MAX_FILTER_VALUES,
                                          description="Categories to keep (at most 200).")
    since: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        None, description="Earliest publication date (inclusive), any ISO date.")
    until: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        None, description="Latest publication date (inclusive), any ISO date.")


class TurnCitation(Citation):
    """A citation of an earlier answer, sent back with its turn (its texts bounded)."""

    article_id: ShortText
    title: ShortText
    source: ShortText | None = None
    author: ShortText | None = None
    published_at: ShortText | None = None
    url: ShortText | None = None
    chunk_id: ShortText
    quote: Annotated[str, StringConstraints(max_length=20_000)]
    speaker: ShortText | None = None
    speaker_role: ShortText | None = None


class Turn(BaseModel):
    """An earlier question and its answer, so a follow-up ("What else did he say?") can refer back.

    Send the earlier answer's citations too: they tell who "he" is and what was already quoted.
    """

    question: str = Field(max_length=10_000)
    answer: str = Field(max_length=20_000)
    citations: list[TurnCitation] = Field(default_factory=list, max_length=MAX_TURN_CITATIONS)

    def as_answer(self) -> Answer:
        return Answer(question=self.question, answer=self.answer, abstained=not self.citations,
                      citations=self.citations)


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # e.g. a top-level "since" is refused (422 naming it), not ignored

    question: str = Field(min_length=1, description="The question; at most ASSISTANT_MAX_QUESTION_CHARS characters.",
                          examples=["What did the expert say about China?"])
    k: int | None = Field(None, ge=1, le=100, description="Passages to retrieve (default: ASSISTANT_RETRIEVAL_K).")
    filters: RequestFilters = Field(default_factory=RequestFilters,
                                    description="Outlets, date range, categories (at most 200 outlets and 200 categories).")
    mode: Literal["extractive", "llm", "local"] | None = Field(
        None, description="How to write the answer: one of /api/health's answer_modes ('llm' when configured, "
                          "'local' when the local-llm extra is installed). Default: ASSISTANT_ANSWER_MODE.")
    history: list[Turn] = Field(default_factory=list, max_length=MAX_HISTORY_TURNS,
                                description="Earlier turns of the conversation, oldest first.")


class AskResponse(Answer):
    """An answer and how sure it is: ``confidence`` is always set, ``abstained`` is true exactly when it is "none"."""

    confidence: Literal["high", "low", "none"] = Field(
        description='"high": the cited sentences answer the question. "low": no passage found answers it; the '
                    "closest ones are cited, and confidence_reason names what they lack. \"none\": declined, "
                    "nothing relevant was found (abstained is true).",
        examples=["low"])
    confidence_reason: str | None = Field(
        None, description="Why the answer has this confidence, in plain words (e.g. \"none of these passages "
                          "names Graceland\"); null when nothing more is known.",
        examples=["none of these passages names Graceland"])


class SearchResponse(BaseModel):
    query: str
    filters: SearchFilters
    passages: list[Passage]


class ArticleRow(BaseModel):
    id: str
    title: str
    source: str | None = None
    author: str | None = None
    published_at: str | None = None
    category: str | None = None
    url: str | None = None
    chunks: int = Field(description="Chunks of the article in the index.")
    duplicates: list[PublishedCopy] = Field(default_factory=list,
                                            description="Other outlets' copies of the story (syndication).")


class ArticleList(BaseModel):
    total: int
    articles: list[ArticleRow]


class FileError(BaseModel):
    where: str = Field(description="File (and record) as uploaded, e.g. 'news.jsonl:3'.")
    problem: str
    fix: str = ""


class UploadedArticle(BaseModel):
    id: str
    title: str
    origin: str


class UploadResponse(BaseModel):
    files: int
    articles: int = Field(description="Articles read from the files.")
    added: int
    updated: int
    unchanged: int
    failed: int = Field(description="Files and records that could not be indexed; see errors.")
    chunks_embedded: int
    seconds: float
    errors: list[FileError]
    uploaded: list[UploadedArticle]


class Deleted(BaseModel):
    deleted: str


class FeedRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, StringConstraints(max_length=2_000)] = Field(description="The feed's http(s) address.")
    fetch: bool = Field(True, description="Fetch it now (else at the next refresh).")


class FeedRefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    urls: list[Annotated[str, StringConstraints(max_length=2_000)]] = Field(
        default_factory=list, max_length=MAX_FILTER_VALUES, description="Feeds to refresh; empty: all.")


class Feed(BaseModel):
    url: str
    title: str | None = None
    added_at: str
    last_fetch_at: str | None = None
    last_status: str | None = Field(None, description="ok, not modified or failed; null before the first fetch.")
    last_error: str | None = None
    items: int = Field(0, description="Items the feed listed at its last fetch.")
    new_items: int = Field(0, description="Articles the last refresh added or updated.")
    failed_items: int = Field(0, description="Items of the last refresh that could not be fetched or read.")


class FeedItem(BaseModel):
    url: str | None
    status: Literal["added", "updated", "unchanged", "duplicate", "failed"]
    article_id: str | None = None
    reason: str | None = None


class FeedRefreshed(BaseModel):
    feed: Feed
    items: list[FeedItem] = Field(description="What became of each item the fetch brought.")


class FeedList(BaseModel):
    feeds: list[Feed]


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    articles: int
    chunks: int
    answer_modes: list[str]
    auth_required: bool
    parts: dict[str, str] = Field(default_factory=dict, description="Each part of a question's path, exercised: "
                                  "'ok' (perhaps with what was repaired) or what failed.")


class ErrorDetail(BaseModel):
    message: str = Field(description="What went wrong and how to fix it.")
    type: str = Field(description="Machine-readable kind, e.g. 'not_found', 'validation_error'.")
    status: int
    details: list[dict] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    error: ErrorDetail
