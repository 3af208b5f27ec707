"""Copies of one story published under several URLs: exact duplicates and near-duplicates.

A wire story republished by several outlets forms a *group*. Two texts are copies when the
estimated Jaccard similarity of their word shingles (MinHash) is at least the threshold; texts
with the same normalised words are exact duplicates. The groups live in one SQLite file beside
the index, so every process that ingests sees the same groups.

How a match is found (:meth:`SyndicationIndex.match`):

1. exact: another recorded article with the same :func:`text_key`;
2. near (bodies of at least ``MIN_WORDS`` words only): the MinHash signature is cut into
   ``BANDS`` bands of ``ROWS`` values; recorded articles sharing a band bucket are candidates
   (an SQL lookup, nothing is loaded whole), and each candidate's stored signature is compared.
   The best candidate at or above the threshold wins.

Groups are never merged: an article whose text matches members of two groups joins the group
of its best match, and an edited or forgotten article leaves its old group mates where they
are. See docs/research/syndication.md for the measurements behind the constants.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.errors import ConfigError
from assistant.models import Article, iso_to_ts, stable_id

DEFAULT_THRESHOLD = 0.55  # measured: docs/research/syndication.md
NUM_PERM = 128
SEED = 20231127  # fixed: signatures must agree across processes and runs
SCHEME = "affine32"
SHINGLE_WORDS = 5  # measured: docs/research/syndication.md
MIN_WORDS = 50  # shorter bodies are matched exactly only
MAX_WORDS = 20_000  # only the first words of a huge body are shingled
BANDS, ROWS = 42, 3  # LSH: a pair at Jaccard 0.5 shares a bucket with probability 0.996, at 0.2 with 0.29
MAX_CANDIDATES = 200  # candidates verified per match, most shared buckets first

_NON_WORD = re.compile(r"[\W_]+")
_BATCH = 500  # ids per SQL statement


def normalized_text(text: str) -> str:
    """Casefolded NFKC text with punctuation and whitespace runs collapsed to single spaces."""
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return _NON_WORD.sub(" ", text).strip()


def text_key(text: str) -> str:
    """Hash of :func:`normalized_text`: equal for texts that differ only in case, spacing or punctuation."""
    return hashlib.sha1(normalized_text(text).encode("utf-8")).hexdigest()[:24]


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[str]:
    """The distinct runs of ``size`` words of the normalised text (its first ``MAX_WORDS`` words)."""
    words = normalized_text(text).split()[:MAX_WORDS]
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + size]) for i in range(len(words) - size + 1)}


@lru_cache(maxsize=8)
def _empty_minhash(num_perm: int, seed: int):
    from datasketch import MinHash

    return MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME)


def signature(text: str, *, shingle_words: int = SHINGLE_WORDS, num_perm: int = NUM_PERM,
              seed: int = SEED) -> np.ndarray:
    """MinHash (uint32, ``num_perm`` values) of the text's word shingles; the same in every process.
    The keyword arguments exist for measurements: the index uses the defaults only."""
    minhash = _empty_minhash(num_perm, seed).copy()
    minhash.update_batch([s.encode("utf-8") for s in shingles(text, shingle_words)])
    return np.asarray(minhash.digest(), dtype=np.uint32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures: the share of equal values."""
    return float(np.count_nonzero(a == b)) / len(a)


def band_buckets(sig: np.ndarray, bands: int = BANDS, rows: int = ROWS) -> list[tuple[int, int]]:
    """(band, bucket) pairs: each band's ``rows`` values hashed to a signed 64-bit integer."""
    raw = sig.astype("<u4").tobytes()
    width = rows * 4
    return [(band, int.from_bytes(hashlib.blake2b(raw[band * width:(band + 1) * width], digest_size=8).digest(),
                                  "little", signed=True))
            for band in range(bands)]


@dataclass(frozen=True)
class Copy:
    """One recorded article of a group, as a citation lists it."""

    article_id: str
    source: str | None
    url: str | None
    published_at: str | None
    title: str
    indexed: bool  # False for an exact duplicate recorded but not indexed


@dataclass(frozen=True)
class Match:
    kind: str  # "exact" or "near"
    article_id: str  # the best matching recorded article
    group: str
    similarity: float  # estimated Jaccard (1.0 for exact)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    grp TEXT NOT NULL,
    text_key TEXT,
    signature BLOB,
    source TEXT,
    url TEXT,
    published_at TEXT,
    published_ts INTEGER,
    title TEXT NOT NULL,
    indexed INTEGER NOT NULL,
    recorded_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_grp ON articles(grp);
CREATE INDEX IF NOT EXISTS articles_key ON articles(text_key);
CREATE TABLE IF NOT EXISTS bands (band INTEGER NOT NULL, bucket INTEGER NOT NULL, article_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS bands_bucket ON bands(band, bucket);
CREATE INDEX IF NOT EXISTS bands_article ON bands(article_id);
"""

# What the stored signatures and buckets depend on: a file built with other values cannot be used.
_META = {"num_perm": str(NUM_PERM), "seed": str(SEED), "scheme": SCHEME, "shingle_words": str(SHINGLE_WORDS),
         "max_words": str(MAX_WORDS), "bands": str(BANDS), "rows": str(ROWS), "normalization": "nfkc-casefold-nonword-1"}

_COPY_COLUMNS = "id, source, url, published_at, title, indexed"
_OLDEST_FIRST = "published_ts IS NULL, published_ts, recorded_at, id"


@dataclass(frozen=True)
class _Fingerprint:
    key: str | None  # None when the body has no words: such articles match nothing
    signature: np.ndarray | None  # None for bodies under MIN_WORDS words: matched exactly only

    @classmethod
    def of(cls, body: str) -> _Fingerprint:
        norm = normalized_text(body)
        if not norm:
            return cls(None, None)
        key = hashlib.sha1(norm.encode("utf-8")).hexdigest()[:24]
        long_enough = norm.count(" ") + 1 >= MIN_WORDS
        return cls(key, signature(body) if long_enough else None)


class SyndicationIndex:
    """The groups of copies, in one SQLite file (WAL). Safe across threads (one connection behind
    a lock) and processes (writes are ``BEGIN IMMEDIATE`` transactions)."""

    def __init__(self, path: Path, threshold: float = DEFAULT_THRESHOLD):
        if not 0.0 < threshold <= 1.0:
            raise ConfigError(f"syndication threshold {threshold!r} is out of range "
                              "(an estimated Jaccard similarity: above 0, at most 1)")
        self.path = Path(path)
        self.threshold = float(threshold)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None

    # -- the file ---------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            try:
                conn.execute("PRAGMA busy_timeout = 30000")
                use_wal(conn)
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in filter(str.strip, _SCHEMA.split(";")):
                        conn.execute(statement)
                    stored = dict(conn.execute("SELECT name, value FROM meta"))
                    if not stored:
                        conn.executemany("INSERT INTO meta (name, value) VALUES (?, ?)", _META.items())
                    conn.execute("COMMIT")
                except BaseException:
                    conn.rollback()
                    raise
                self._check_meta(stored)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _check_meta(self, stored: dict[str, str]) -> None:
        differing = sorted(k for k, v in _META.items() if stored and stored.get(k) != v)
        if differing:
            raise ConfigError(f"{self.path}: the syndication table was built with other settings "
                              f"({', '.join(f'{k}={stored.get(k)}' for k in differing)}); delete the file "
                              "and index the articles again to rebuild it")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._connection()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> SyndicationIndex:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    # -- matching ---------------------------------------------------------------------------

    def match(self, article: Article) -> Match | None:
        """The best copy of ``article`` among recorded articles other than ``article.id``, or None."""
        fingerprint = _Fingerprint.of(article.body)
        with self._read() as conn:
            return self._best(conn, article.id, fingerprint)

    def _best(self, conn: sqlite3.Connection, article_id: str, fp: _Fingerprint) -> Match | None:
        if fp.key is None:
            return None
        row = conn.execute(
            f"SELECT id, grp FROM articles WHERE text_key = ? AND id != ? "
            f"ORDER BY indexed DESC, {_OLDEST_FIRST} LIMIT 1", (fp.key, article_id)).fetchone()
        if row:
            return Match("exact", row[0], row[1], 1.0)
        if fp.signature is None:
            return None
        buckets = band_buckets(fp.signature)
        values = ", ".join("(?, ?)" for _ in buckets)
        candidates = [r[0] for r in conn.execute(
            f"WITH q(band, bucket) AS (VALUES {values}) "
            "SELECT b.article_id FROM q JOIN bands b ON b.band = q.band AND b.bucket = q.bucket "
            "WHERE b.article_id != ? GROUP BY b.article_id ORDER BY COUNT(*) DESC, b.article_id LIMIT ?",
            [v for pair in buckets for v in pair] + [article_id, MAX_CANDIDATES])]
        if not candidates:
            return None
        marks = ", ".join("?" for _ in candidates)
        best: tuple | None = None
        for cid, grp, blob, ts in conn.execute(
                f"SELECT id, grp, signature, published_ts FROM articles WHERE id IN ({marks}) "
                "AND signature IS NOT NULL", candidates):
            sim = similarity(fp.signature, np.frombuffer(blob, dtype="<u4"))
            if sim < self.threshold:
                continue
            rank = (-sim, ts is None, ts or 0, cid)  # most similar, then oldest published
            if best is None or rank < best[0]:
                best = (rank, Match("near", cid, grp, sim))
        return best[1] if best else None

    # -- recording --------------------------------------------------------------------------

    def record(self, article: Article, *, indexed: bool = True) -> str:
        """Store or replace the article's row, re-matched; returns its group (its best match's
        group, or a new one named after the article)."""
        fp = _Fingerprint.of(article.body)
        try:
            published_ts = iso_to_ts(article.published_at)
        except ValueError:
            published_ts = None
        with self._write() as conn:
            self._delete(conn, [article.id])
            found = self._best(conn, article.id, fp)
            group = found.group if found else self._new_group(conn, article.id)
            sig = fp.signature
            conn.execute(
                "INSERT INTO articles (id, grp, text_key, signature, source, url, published_at, published_ts, "
                "title, indexed, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (article.id, group, fp.key, None if sig is None else sig.astype("<u4").tobytes(),
                 article.source, article.url, article.published_at, published_ts, article.title,
                 int(indexed), time.time()))
            if sig is not None:
                conn.executemany("INSERT INTO bands (band, bucket, article_id) VALUES (?, ?, ?)",
                                 [(band, bucket, article.id) for band, bucket in band_buckets(sig)])
        return group

    @staticmethod
    def _new_group(conn: sqlite3.Connection, article_id: str) -> str:
        # The article's own id, unless old members still hold it (its founder was edited or forgotten).
        group, n = article_id, 0
        while conn.execute("SELECT 1 FROM articles WHERE grp = ? LIMIT 1", (group,)).fetchone():
            n += 1
            group = stable_id("group", article_id, str(n))
        return group

    def forget(self, article_ids: Iterable[str]) -> None:
        """Delete the articles' rows and buckets; the other members keep their group."""
        ids = list(dict.fromkeys(article_ids))
        with self._write() as conn:
            self._delete(conn, ids)

    @staticmethod
    def _delete(conn: sqlite3.Connection, ids: list[str]) -> None:
        for start in range(0, len(ids), _BATCH):
            batch = ids[start:start + _BATCH]
            marks = ", ".join("?" for _ in batch)
            conn.execute(f"DELETE FROM bands WHERE article_id IN ({marks})", batch)
            conn.execute(f"DELETE FROM articles WHERE id IN ({marks})", batch)

    # -- reading ----------------------------------------------------------------------------

    def group_of(self, article_ids: Iterable[str]) -> dict[str, str]:
        """Article id -> group, for the ids that were recorded."""
        ids = list(dict.fromkeys(article_ids))
        found: dict[str, str] = {}
        with self._read() as conn:
            for start in range(0, len(ids), _BATCH):
                batch = ids[start:start + _BATCH]
                marks = ", ".join("?" for _ in batch)
                found.update(conn.execute(f"SELECT id, grp FROM articles WHERE id IN ({marks})", batch))
        return found

    def copies(self, article_id: str) -> list[Copy]:
        """The other members of the article's group, oldest published first ([] if not recorded)."""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_COPY_COLUMNS} FROM articles WHERE id != ? AND grp = "
                f"(SELECT grp FROM articles WHERE id = ?) ORDER BY {_OLDEST_FIRST}",
                (article_id, article_id)).fetchall()
        return [_copy(row) for row in rows]

    def shared_groups(self) -> dict[str, list[Copy]]:
        """Every group with more than one member: group -> members, oldest published first (one query)."""
        groups: dict[str, list[Copy]] = {}
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT grp, {_COPY_COLUMNS} FROM articles WHERE grp IN "
                f"(SELECT grp FROM articles GROUP BY grp HAVING COUNT(*) > 1) ORDER BY grp, {_OLDEST_FIRST}")
            for group, *row in rows:
                groups.setdefault(group, []).append(_copy(tuple(row)))
        return groups

    def members(self, group: str) -> list[Copy]:
        """All members of a group, oldest published first."""
        with self._read() as conn:
            rows = conn.execute(f"SELECT {_COPY_COLUMNS} FROM articles WHERE grp = ? ORDER BY {_OLDEST_FIRST}",
                                (group,)).fetchall()
        return [_copy(row) for row in rows]

    def stats(self) -> dict:
        """Counts: articles, groups, groups with more than one member, and copies (articles
        beyond the first of their group: ``articles - groups``)."""
        with self._read() as conn:
            articles, groups = conn.execute("SELECT COUNT(*), COUNT(DISTINCT grp) FROM articles").fetchone()
            shared = conn.execute(
                "SELECT COUNT(*) FROM (SELECT grp FROM articles GROUP BY grp HAVING COUNT(*) > 1)").fetchone()[0]
        return {"articles": articles, "groups": groups, "groups_with_copies": shared, "copies": articles - groups}


def use_wal(conn: sqlite3.Connection, seconds: float = 30.0) -> None:
    """Switch the file to WAL. Changing the journal mode does not wait on the busy timeout: while
    another process creates or writes the file it fails at once with "database is locked", so retry."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _copy(row: tuple) -> Copy:
    article_id, source, url, published_at, title, indexed = row
    return Copy(article_id, source, url, published_at, title, bool(indexed))
