"""Search filters: one model, translated for Chroma (``where``) and for in-memory masks."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from assistant.ingest.dates import normalize_date
from assistant.models import iso_to_ts


class SearchFilters(BaseModel):
    """Restrict retrieval to outlets, a publication date range, and categories."""

    sources: list[str] = Field(default_factory=list, description="Outlets to keep (exact names).")
    since: str | None = Field(None, description="Earliest publication date (inclusive), any ISO date.")
    until: str | None = Field(None, description="Latest publication date (inclusive), any ISO date.")
    categories: list[str] = Field(default_factory=list, description="Categories to keep.")

    @field_validator("since", "until", mode="before")
    @classmethod
    def _date(cls, value):
        if value in (None, ""):
            return None
        return normalize_date(value)

    @property
    def since_ts(self) -> int | None:
        return iso_to_ts(self.since)

    @property
    def until_ts(self) -> int | None:
        if not self.until:
            return None
        ts = iso_to_ts(self.until)
        # A date without a time means the whole day.
        return ts + 86399 if self.until.endswith("T00:00:00Z") else ts

    def is_empty(self) -> bool:
        return not (self.sources or self.since or self.until or self.categories)

    def chroma_where(self) -> dict | None:
        clauses: list[dict] = []
        if self.sources:
            clauses.append({"source": {"$in": list(self.sources)}})
        if self.categories:
            clauses.append({"category": {"$in": list(self.categories)}})
        if self.since_ts is not None:
            clauses.append({"published_ts": {"$gte": self.since_ts}})
        if self.until_ts is not None:
            clauses.append({"published_ts": {"$lte": self.until_ts}})
            clauses.append({"published_ts": {"$gte": 0}})  # undated articles have -1
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def matches(self, metadata: dict) -> bool:
        if self.sources and metadata.get("source") not in self.sources:
            return False
        if self.categories and metadata.get("category") not in self.categories:
            return False
        ts = metadata.get("published_ts", -1)
        if self.since_ts is not None and ts < self.since_ts:
            return False
        if self.until_ts is not None and not 0 <= ts <= self.until_ts:
            return False
        return True


def describe_filters(filters: SearchFilters) -> str:
    """The filters in words, for messages: "(published from 2030-01-01; outlets: Reuters)"."""
    parts = []
    if filters.since or filters.until:
        since, until = (filters.since or "")[:10], (filters.until or "")[:10]
        parts.append(f"published from {since} to {until}" if since and until else
                     f"published from {since}" if since else f"published until {until}")
    if filters.sources:
        parts.append("outlets: " + ", ".join(filters.sources))
    if filters.categories:
        parts.append("categories: " + ", ".join(filters.categories))
    return "(" + "; ".join(parts) + ")"
