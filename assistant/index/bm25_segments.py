"""BM25 postings kept in immutable segments, scored with live statistics.

A :class:`Segment` holds whole articles: their chunks (ids, metadata, token counts) and their
distinct sentences, each as term -> (row, term frequency) postings in CSC form, plus which chunks
hold each sentence. It never changes once written (``.npy`` files, read whole and checked when loaded:
see :meth:`Segment.load`). An
index is a list of segments with a set of dead articles per segment (tombstones); an update adds a
segment with the new and changed articles and marks their old copies dead, and :func:`merge` folds
segments into one (dropping dead rows) without tokenising anything again.

A segment also keeps each chunk's embedding (``vectors``, float32, the rows Chroma holds): a search
restricted by a filter (an outlet, a date range) scores exactly the rows the filter passes, in
memory, instead of asking Chroma for a filtered HNSW search, which grows with the whole collection
(4.8 s for one date-filtered query at 99,000 chunks, measured in docs/research/speed.md "Scale").

Scores are BM25 as ``bm25s`` computes it (``method="lucene"``, k1 1.2, b 0.75: idf
``log(1 + (N - df + 0.5) / (df + 0.5))``, tf part ``tf / (k1 * (1 - b + b * dl / avgdl) + tf)``,
float32 per posting, summed per query token in float32), but N, df and avgdl are taken from the
live rows at query time instead of being baked into the postings: so an index updated by deltas
scores exactly like one built from scratch (same floats, same order of additions).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

K1, B = 1.2, 0.75
_ARRAYS = ("c_indptr", "c_rows", "c_tf", "c_len", "s_indptr", "s_rows", "s_tf", "s_len", "p_sent", "p_chunk")


@dataclass
class Postings:
    """Term -> (row, tf) postings of one kind of document (chunks or sentences) in one segment."""

    vocab: dict[str, int]
    indptr: np.ndarray  # len(vocab) + 1
    rows: np.ndarray  # int32, sorted by term then row
    tf: np.ndarray  # float32
    lengths: np.ndarray  # int32 tokens per document

    def term(self, token: str) -> tuple[np.ndarray, np.ndarray] | None:
        tid = self.vocab.get(token)
        if tid is None:
            return None
        start, end = int(self.indptr[tid]), int(self.indptr[tid + 1])
        return self.rows[start:end], self.tf[start:end]


def lexical_text(title: str, source: str, text: str) -> str:
    """What BM25 sees: the chunk with its article's title and outlet."""
    return f"{title}\n{source}\n{text}"


def postings(docs: list[list[str]], vocab: list[str] | None = None) -> tuple[list[str], dict[str, np.ndarray]]:
    """CSC postings of tokenised ``docs`` (term ids in order of first appearance)."""
    index: dict[str, int] = {t: i for i, t in enumerate(vocab or [])}
    terms: list[int] = []
    lengths = np.fromiter((len(d) for d in docs), dtype=np.int32, count=len(docs))
    for doc in docs:
        for token in doc:
            tid = index.get(token)
            if tid is None:
                tid = index[token] = len(index)
            terms.append(tid)
    return list(index), _csc(np.asarray(terms, dtype=np.int64), np.repeat(np.arange(len(docs)), lengths),
                             None, len(index), len(docs), lengths)


def _csc(terms: np.ndarray, rows: np.ndarray, tf: np.ndarray | None, n_terms: int, n_docs: int,
         lengths: np.ndarray) -> dict[str, np.ndarray]:
    """(term, row[, tf]) entries -> indptr/rows/tf sorted by term then row (tf: counts of repeats when None)."""
    key = terms * max(n_docs, 1) + rows
    if tf is None:
        key, counts = np.unique(key, return_counts=True)
        tf = counts.astype(np.float32)
    else:
        order = np.argsort(key, kind="stable")
        key, tf = key[order], tf[order]
    term_of = key // max(n_docs, 1)
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(np.bincount(term_of, minlength=n_terms), out=indptr[1:])
    return {"indptr": indptr, "rows": (key % max(n_docs, 1)).astype(np.int32), "tf": tf.astype(np.float32),
            "len": np.asarray(lengths, dtype=np.int32)}


@dataclass
class Segment:
    """Whole articles' chunks and sentences; immutable."""

    name: str
    ids: list[str]
    metas: list[dict]
    articles: dict[str, tuple[str, int, int, int, int]]  # id -> (content hash, chunk rows a:b, sentence rows a:b)
    chunks: Postings
    sentences: Postings
    pair_sentence: np.ndarray  # (sentence, chunk) rows: the chunks holding each sentence
    pair_chunk: np.ndarray
    vectors: np.ndarray | None = None  # chunk rows' embeddings (None: a segment saved before they were kept)
    derived: dict = field(default_factory=dict, repr=False)

    @property
    def n_chunks(self) -> int:
        return len(self.ids)

    @property
    def n_sentences(self) -> int:
        return len(self.sentences.lengths)

    def alive(self, dead: frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
        """Masks of the live chunk and sentence rows when the articles ``dead`` are tombstoned."""
        chunks = np.ones(self.n_chunks, dtype=bool)
        sentences = np.ones(self.n_sentences, dtype=bool)
        for aid in dead:
            _, c0, c1, s0, s1 = self.articles[aid]
            chunks[c0:c1] = False
            sentences[s0:s1] = False
        return chunks, sentences

    # --- on disk ------------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True)
        arrays = {"c_indptr": self.chunks.indptr, "c_rows": self.chunks.rows, "c_tf": self.chunks.tf,
                  "c_len": self.chunks.lengths, "s_indptr": self.sentences.indptr, "s_rows": self.sentences.rows,
                  "s_tf": self.sentences.tf, "s_len": self.sentences.lengths, "p_sent": self.pair_sentence,
                  "p_chunk": self.pair_chunk}
        if self.vectors is not None:
            arrays["vectors"] = np.asarray(self.vectors, dtype=np.float32)
        for name, array in arrays.items():
            np.save(folder / f"{name}.npy", np.ascontiguousarray(array))
        record = {"ids": self.ids, "metas": self.metas, "articles": self.articles,
                  "c_vocab": list(self.chunks.vocab), "s_vocab": list(self.sentences.vocab)}
        (folder / "segment.json").write_text(json.dumps(record))

    @classmethod
    def load(cls, folder: Path) -> Segment:
        """The segment saved in ``folder``, checked before any of it is used: every file present,
        each ``.npy`` exactly the size its header announces, and the arrays consistent with each
        other and with ``segment.json``. Anything else is :class:`SegmentDamaged` naming the file.

        The arrays are read into memory, not memory-mapped: a file truncated on disk while a
        mapping of it is in use kills the process (SIGBUS); a copy in memory cannot be damaged."""
        try:
            record = json.loads((folder / "segment.json").read_text())
            ids, metas, c_vocab, s_vocab = record["ids"], record["metas"], record["c_vocab"], record["s_vocab"]
            articles = {k: tuple(v) for k, v in record["articles"].items()}
        except FileNotFoundError:
            raise SegmentDamaged(folder / "segment.json", "missing") from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise SegmentDamaged(folder / "segment.json", f"unreadable ({type(error).__name__})") from None
        a = {name: _read_array(folder / f"{name}.npy") for name in _ARRAYS}
        vectors = _read_array(folder / "vectors.npy") if (folder / "vectors.npy").exists() else None
        segment = cls(folder.name, ids, metas, articles,
                      Postings({t: i for i, t in enumerate(c_vocab)}, a["c_indptr"], a["c_rows"], a["c_tf"],
                               a["c_len"]),
                      Postings({t: i for i, t in enumerate(s_vocab)}, a["s_indptr"], a["s_rows"], a["s_tf"],
                               a["s_len"]),
                      a["p_sent"], a["p_chunk"], vectors)
        problem = segment.inconsistency()
        if problem:
            raise SegmentDamaged(folder, problem)
        return segment

    def inconsistency(self) -> str | None:
        """What does not fit together in this segment's arrays and records, or None."""
        n_c, n_s = len(self.ids), len(self.sentences.lengths)
        if len(self.metas) != n_c or len(self.chunks.lengths) != n_c:
            return f"{n_c} chunk ids but {len(self.metas)} metadata records and {len(self.chunks.lengths)} lengths"
        for kind, p, n in (("chunk", self.chunks, n_c), ("sentence", self.sentences, n_s)):
            if p.indptr.ndim != 1 or len(p.indptr) != len(p.vocab) + 1 or (len(p.indptr) and p.indptr[0] != 0):
                return f"{kind} postings: {len(p.indptr)} offsets for {len(p.vocab)} terms"
            if len(p.rows) != len(p.tf) or int(p.indptr[-1]) != len(p.rows) or np.any(np.diff(p.indptr) < 0):
                return f"{kind} postings: offsets end at {int(p.indptr[-1])}, {len(p.rows)} rows, {len(p.tf)} tf"
            if len(p.rows) and (int(p.rows.min()) < 0 or int(p.rows.max()) >= n):
                return f"{kind} postings point outside the {n} {kind}s"
        if len(self.pair_sentence) != len(self.pair_chunk):
            return "sentence/chunk pairs of different lengths"
        if len(self.pair_sentence) and (int(np.max(self.pair_sentence)) >= n_s or int(np.max(self.pair_chunk)) >= n_c
                                        or int(np.min(self.pair_sentence)) < 0 or int(np.min(self.pair_chunk)) < 0):
            return "sentence/chunk pairs point outside the segment"
        if any(not (0 <= c0 <= c1 <= n_c and 0 <= s0 <= s1 <= n_s) for _, c0, c1, s0, s1 in self.articles.values()):
            return "an article's rows lie outside the segment"
        if self.vectors is not None and (self.vectors.ndim != 2 or len(self.vectors) != n_c):
            return f"{self.vectors.shape} vectors for {n_c} chunks"
        return None


def check_files(folder: Path, segment: Segment) -> None:
    """SegmentDamaged unless every file of ``segment`` under ``folder`` is present with the size its
    arrays have in memory (a cheap check: headers and sizes, nothing else read)."""
    arrays = {"c_indptr": segment.chunks.indptr, "c_rows": segment.chunks.rows, "c_tf": segment.chunks.tf,
              "c_len": segment.chunks.lengths, "s_indptr": segment.sentences.indptr, "s_rows": segment.sentences.rows,
              "s_tf": segment.sentences.tf, "s_len": segment.sentences.lengths, "p_sent": segment.pair_sentence,
              "p_chunk": segment.pair_chunk}
    if segment.vectors is not None:
        arrays["vectors"] = segment.vectors
    try:
        if (folder / "segment.json").stat().st_size == 0:
            raise SegmentDamaged(folder / "segment.json", "empty")
    except FileNotFoundError:
        raise SegmentDamaged(folder / "segment.json", "missing") from None
    for name, array in arrays.items():
        path = folder / f"{name}.npy"
        try:
            with open(path, "rb") as f:
                try:
                    version = np.lib.format.read_magic(f)
                    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                        np.lib.format.read_array_header_2_0
                    shape, _, dtype = read_header(f)
                except (ValueError, EOFError, SyntaxError, TypeError) as error:
                    raise SegmentDamaged(path, f"not a NumPy array file ({error})") from None
                size = os.fstat(f.fileno()).st_size
                if tuple(shape) != tuple(np.shape(array)) or size != f.tell() + np.asarray(array).nbytes:
                    raise SegmentDamaged(path, f"{size:,} bytes of shape {tuple(shape)}, not the {np.shape(array)} "
                                               "array the index holds (truncated or overwritten)")
        except FileNotFoundError:
            raise SegmentDamaged(path, "missing") from None
        except OSError as error:
            raise SegmentDamaged(path, f"unreadable ({error.strerror or error})") from None


class SegmentDamaged(ValueError):
    """A saved segment that cannot be used as it is; ``path`` names the file or folder."""

    def __init__(self, path: Path, problem: str):
        self.path, self.problem = Path(path), problem
        super().__init__(f"{path}: {problem}")


def _read_array(path: Path) -> np.ndarray:
    """A whole ``.npy`` file, once its size is what its header says (truncated, padded or garbage: damaged)."""
    try:
        with open(path, "rb") as f:
            try:
                version = np.lib.format.read_magic(f)
                read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                    np.lib.format.read_array_header_2_0
                shape, fortran, dtype = read_header(f)
            except (ValueError, EOFError, SyntaxError, TypeError) as error:
                raise SegmentDamaged(path, f"not a NumPy array file ({error})") from None
            if dtype.hasobject or fortran:
                raise SegmentDamaged(path, "not an array this index writes")
            expected = f.tell() + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            size = os.fstat(f.fileno()).st_size
            if size != expected:
                raise SegmentDamaged(path, f"{size:,} bytes where its header announces {expected:,} (truncated or "
                                           "overwritten)")
            data = np.fromfile(f, dtype=dtype, count=int(np.prod(shape, dtype=np.int64)))
            return data.reshape(shape)
    except FileNotFoundError:
        raise SegmentDamaged(path, "missing") from None
    except OSError as error:
        raise SegmentDamaged(path, f"unreadable ({error.strerror or error})") from None


def build(name: str, articles: list[tuple[str, str, list]], tokenize, sentences_of) -> Segment:
    """A segment of ``articles``: (article id, content hash, its chunks as StoredChunk), each article's
    chunks in position order. ``tokenize(texts)`` gives token lists; ``sentences_of(chunks)`` the
    distinct sentences with the chunk indices holding each (see lexical._sentences). The chunks'
    ``embedding`` become the segment's vectors when every chunk has one."""
    chunks = [c for _, _, group in articles for c in group]
    c_vocab, c = postings(tokenize([lexical_text(m.get("title", ""), m.get("source", ""), ch.text)
                                    for ch in chunks for m in [ch.metadata]]))
    texts, holders = sentences_of(chunks)
    s_vocab, s = postings(tokenize(texts))
    # Sentences are numbered in order of first appearance and articles are contiguous, so an
    # article's sentences are the run whose first holder is one of its chunks.
    first_holder = np.array([h[0] for h in holders], dtype=np.int64)
    sentence_at = np.searchsorted(first_holder, np.arange(len(chunks) + 1), side="left")
    spans: dict[str, tuple[str, int, int, int, int]] = {}
    row = 0
    for aid, content_hash, group in articles:
        end = row + len(group)
        spans[aid] = (content_hash, row, end, int(sentence_at[row]), int(sentence_at[end]))
        row = end
    sizes = [len(h) for h in holders]
    vectors = None
    if chunks and all(getattr(ch, "embedding", None) is not None for ch in chunks):
        vectors = np.stack([np.asarray(ch.embedding, dtype=np.float32) for ch in chunks])
    return Segment(name, [ch.id for ch in chunks], [ch.metadata for ch in chunks], spans,
                   Postings({t: i for i, t in enumerate(c_vocab)}, c["indptr"], c["rows"], c["tf"], c["len"]),
                   Postings({t: i for i, t in enumerate(s_vocab)}, s["indptr"], s["rows"], s["tf"], s["len"]),
                   np.repeat(np.arange(len(holders), dtype=np.int64), sizes),
                   np.fromiter((ci for h in holders for ci in h), dtype=np.int64, count=sum(sizes)), vectors)


def merge(name: str, parts: list[tuple[Segment, frozenset[str]]]) -> Segment:
    """One segment holding the live rows of ``parts`` (segment, its dead articles), in that order."""
    ids, metas, spans = [], [], {}
    c_alive, s_alive, pair_s, pair_c = [], [], [], []
    c_base = s_base = 0
    for segment, dead in parts:
        live_c, live_s = segment.alive(dead)
        c_alive.append(live_c)
        s_alive.append(live_s)
        c_new = np.concatenate([[0], np.cumsum(live_c)]) + c_base  # new row of each old row (prefix counts)
        s_new = np.concatenate([[0], np.cumsum(live_s)]) + s_base
        ids += [cid for cid, ok in zip(segment.ids, live_c) if ok]
        metas += [m for m, ok in zip(segment.metas, live_c) if ok]
        for aid, (content_hash, c0, c1, s0, s1) in segment.articles.items():
            if aid not in dead:
                spans[aid] = (content_hash, int(c_new[c0]), int(c_new[c1]), int(s_new[s0]), int(s_new[s1]))
        keep = live_s[np.asarray(segment.pair_sentence)]
        pair_s.append(s_new[np.asarray(segment.pair_sentence)[keep]])
        pair_c.append(c_new[np.asarray(segment.pair_chunk)[keep]])
        c_base, s_base = int(c_new[-1]), int(s_new[-1])
    chunks = _merge_postings([(s.chunks, m) for (s, _), m in zip(parts, c_alive)])
    sentences = _merge_postings([(s.sentences, m) for (s, _), m in zip(parts, s_alive)])
    cat = (lambda xs: np.concatenate(xs).astype(np.int64) if xs else np.zeros(0, dtype=np.int64))
    vectors = None
    if parts and all(s.vectors is not None for s, _ in parts):
        vectors = np.concatenate([np.asarray(s.vectors)[m] for (s, _), m in zip(parts, c_alive)])
    return Segment(name, ids, metas, spans, chunks, sentences, cat(pair_s), cat(pair_c), vectors)


def _merge_postings(parts: list[tuple[Postings, np.ndarray]]) -> Postings:
    vocab: dict[str, int] = {}
    terms, rows, tf, lengths = [], [], [], []
    base = 0
    for p, live in parts:
        remap = np.array([vocab.setdefault(t, len(vocab)) for t in p.vocab], dtype=np.int64)
        term_of = np.repeat(np.arange(len(p.vocab), dtype=np.int64), np.diff(np.asarray(p.indptr)))
        keep = live[p.rows]
        new_row = np.cumsum(live) - 1 + base
        terms.append(remap[term_of[keep]] if len(remap) else term_of[keep])
        rows.append(new_row[p.rows[keep]])
        tf.append(np.asarray(p.tf)[keep])
        lengths.append(np.asarray(p.lengths)[live])
        base += int(live.sum())
    cat = (lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dtype=dt))
    out = _csc(cat(terms, np.int64), cat(rows, np.int64), cat(tf, np.float32), len(vocab), base,
               cat(lengths, np.int32))
    return Postings(vocab, out["indptr"], out["rows"], out["tf"], out["len"])


# --- scoring with live statistics ------------------------------------------------------------------
def bm25(parts: list[tuple[Postings, np.ndarray, np.ndarray]], tokens: list[str], n_live: int,
         total_length: int) -> list[np.ndarray]:
    """BM25 of every row of each part (postings, live mask, per-row length norm) for ``tokens``
    (repeats count again, as in bm25s); N, df and avgdl from the live rows only. Dead rows get
    scores too: callers drop them."""
    out = [np.zeros(len(p.lengths), dtype=np.float32) for p, _, _ in parts]
    if n_live == 0:
        return out
    for token in tokens:
        found, df = [], 0
        for i, (p, live, _) in enumerate(parts):
            hit = p.term(token)
            if hit is not None:
                df += int(np.count_nonzero(live[hit[0]]))
                found.append((i, hit))
        if df == 0:
            continue
        idf = np.float32(math.log(1 + (n_live - df + 0.5) / (df + 0.5)))
        for i, (rows, tf) in found:
            tf64 = tf.astype(np.float64)
            out[i][rows] += (idf * (tf64 / (parts[i][2][rows] + tf64))).astype(np.float32)
    return out


def length_norm(lengths: np.ndarray, avgdl: float) -> np.ndarray:
    """k1 * (1 - b + b * dl / avgdl) per row, in the order of operations bm25s uses."""
    return K1 * ((1 - B) + B * np.asarray(lengths, dtype=np.float64) / np.float64(avgdl))


def overlap(parts: list[tuple[Postings, np.ndarray]], tokens: list[str], n_live: int) -> list[np.ndarray]:
    """Per row, the sum over the distinct ``tokens`` it holds of log(N / df) (N, df: live rows)."""
    out = [np.zeros(len(p.lengths), dtype=np.float32) for p, _ in parts]
    for token in dict.fromkeys(tokens):
        found, df = [], 0
        for i, (p, live) in enumerate(parts):
            hit = p.term(token)
            if hit is not None:
                df += int(np.count_nonzero(live[hit[0]]))
                found.append((i, hit[0]))
        if df == 0:
            continue
        idf = np.log(n_live / np.float64(max(df, 1)))
        for i, rows in found:
            out[i][rows] += idf
    return out
