"""The article table: one record per indexed article, kept beside its chunks.

Listing, counting and looking up articles read this table — O(articles), or one record by id —
instead of every chunk of the index, and an article's body is stored once instead of being
rebuilt from overlapping chunks. :class:`~assistant.index.store.ChunkStore` writes a record in
the same section as the article's chunks, deletes it with them and repairs it with them; this
module holds what a record is and how it is made.

The table is a Chroma collection (``NAME_articles``, beside ``NAME`` and ``NAME_sentences``), so
it lives wherever the chunks live: under the data directory in embedded mode, on the server in
client/server mode (a file beside Chroma would not be seen by another machine). A record's id is
its article id; its document is the body; its metadata the article's fields with the content
hash and chunk count of the version in place, and the page furniture taken out of its body at ingest
(``furniture_dropped``, a count, and ``furniture``, the lines, one a line; assistant/ingest/furniture.py). Chroma stores a vector with every record: each gets
the same one-dimensional :data:`PLACEHOLDER_VECTOR`, which costs four bytes and is never queried
(the table is only read by id or listed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.models import Article

TABLE_SUFFIX = "_articles"
PLACEHOLDER_VECTOR = [1.0]
_FIELDS = ("title", "source", "author", "published_at", "category", "url")
MAX_FURNITURE_LINES = 100  # furniture lines kept in a record (the count is always whole)
MAX_FURNITURE_CHARS = 300  # of each


@dataclass(frozen=True)
class ArticleRecord:
    """One indexed article as the table holds it (missing fields are None; ``body`` None when not read)."""

    article_id: str
    title: str
    source: str | None
    author: str | None
    published_at: str | None
    category: str | None
    url: str | None
    origin: str
    content_hash: str
    chunk_count: int
    published_ts: int | None = None
    body: str | None = None
    furniture_dropped: int = 0  # lines and pieces of page furniture taken out of the body at ingest
    furniture: tuple[str, ...] = ()  # the first MAX_FURNITURE_LINES of them

    @classmethod
    def of(cls, article: Article, chunk_count: int) -> ArticleRecord:
        """The record of ``article`` written as ``chunk_count`` chunks."""
        fields = {f: getattr(article, f) or None for f in _FIELDS[1:]}
        return cls(article_id=article.id, title=article.title, **fields, origin=article.origin,
                   content_hash=article.content_hash, chunk_count=chunk_count, published_ts=article.published_ts,
                   body=article.body, furniture_dropped=len(article.furniture),
                   furniture=tuple(" ".join(line.split())[:MAX_FURNITURE_CHARS]
                                   for line in article.furniture[:MAX_FURNITURE_LINES]))

    @classmethod
    def from_stored(cls, metadata: dict, body: str | None = None) -> ArticleRecord:
        """A record read back from the table (or derived from a chunk's metadata, which has the same keys)."""
        ts = metadata.get("published_ts", -1)
        fields = {f: (metadata.get(f) or None) for f in _FIELDS[1:]}
        return cls(article_id=str(metadata.get("article_id", "")), title=str(metadata.get("title") or ""), **fields,
                   origin=str(metadata.get("origin") or ""), content_hash=str(metadata.get("content_hash") or ""),
                   chunk_count=int(metadata.get("chunk_count", 0)),
                   published_ts=None if ts is None or int(ts) < 0 else int(ts), body=body,
                   furniture_dropped=int(metadata.get("furniture_dropped") or 0),
                   furniture=tuple(line for line in str(metadata.get("furniture") or "").split("\n") if line))

    def metadata(self) -> dict:
        """Chroma metadata (no nulls: missing values are empty strings, the timestamp -1)."""
        meta = {f: getattr(self, f) or "" for f in _FIELDS}
        meta.update(article_id=self.article_id, origin=self.origin, content_hash=self.content_hash,
                    chunk_count=self.chunk_count, published_ts=-1 if self.published_ts is None else self.published_ts)
        if self.furniture_dropped:
            meta.update(furniture_dropped=self.furniture_dropped, furniture="\n".join(self.furniture))
        return meta

    def fields(self) -> dict:
        """The article's own fields by name (title, source, author, published_at, category, url)."""
        return {f: getattr(self, f) for f in _FIELDS}


def staged_record_id(article_id: str, content_hash: str) -> str:
    """The id of a new version's record while its chunks are staged (``ARTICLE~HASH``, as chunks)."""
    return f"{article_id}~{content_hash}"


def record_from_chunks(chunks: Sequence, body: bool = True) -> ArticleRecord:
    """The record of an article written before the table existed, from its chunks in place
    (``.text`` and ``.metadata``): its fields from their metadata, its body rebuilt from their
    spans (whitespace between two chunks that do not overlap is written as a space or a paragraph
    break, see :func:`~assistant.answer.articles.rebuild_body`)."""
    rebuilt = None
    if body:
        from assistant.answer.articles import rebuild_body

        rebuilt = rebuild_body(sorted(chunks, key=lambda c: c.metadata.get("position", 0)))
    return ArticleRecord.from_stored({**chunks[0].metadata, "chunk_count": len(chunks)}, rebuilt)
