"""The Chroma collections: chunks with their embeddings and article metadata, and sentence vectors.

Next to the chunk collection ``NAME`` lives ``NAME_sentences``: one embedding per sentence of each
chunk (the reranker compares each clause of a question with single sentences, because the
evidence of a news question is a sentence). Sentence records of an article are written before
its chunks and deleted with them; the chunks' ``sentence_vectors`` flag says they are there.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.errors import ConfigError, IndexUnavailable
from assistant.models import Article, Chunk, Passage, iso_to_ts
from assistant.settings import Settings

_META_FIELDS = ("title", "source", "author", "published_at", "url", "category")


def make_client(settings: Settings):
    """A Chroma client for the configured mode: embedded under data_dir, or a server."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_mode == "server":
        try:
            return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
        except Exception as exc:  # chromadb raises plain ValueError/ConnectionError here
            raise IndexUnavailable(
                f"Cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} "
                f"({exc.__class__.__name__}). Start it with `chroma run --path DIR --port {settings.chroma_port}` "
                "or set ASSISTANT_CHROMA_MODE=embedded."
            ) from exc
    path = Path(settings.data_dir) / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


@dataclass
class StoredChunk:
    id: str
    text: str
    metadata: dict


class ChunkStore:
    """Adapter over one Chroma collection (cosine space, embeddings supplied by us)."""

    def __init__(self, client, collection: str):
        self.client = client
        self.name = collection
        self.collection = client.get_or_create_collection(
            collection, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None,
            metadata={"revision": 0},
        )
        self.sentences = client.get_or_create_collection(
            f"{collection}_sentences", configuration={"hnsw": {"space": "cosine"}}, embedding_function=None,
        )

    # --- writing -------------------------------------------------------------------------
    def add_article(self, article: Article, chunks: Sequence[Chunk], embeddings: np.ndarray,
                    sentence_vectors: Sequence[np.ndarray] | None = None) -> None:
        """Write an article's chunks; ``sentence_vectors`` (one matrix per chunk) go first."""
        if sentence_vectors is not None:
            self.add_sentence_vectors(article.id, [c.id for c in chunks], sentence_vectors)
        counts = [len(m) for m in sentence_vectors] if sentence_vectors is not None else [None] * len(chunks)
        metadatas = [chunk_metadata(article, c, len(chunks), n) for c, n in zip(chunks, counts)]
        batch = max(1, self.client.get_max_batch_size())
        for i in range(0, len(chunks), batch):
            part = slice(i, i + batch)
            self.collection.upsert(
                ids=[c.id for c in chunks[part]], embeddings=embeddings[part],
                documents=[c.text for c in chunks[part]], metadatas=metadatas[part],
            )

    def add_sentence_vectors(self, article_id: str, chunk_ids: Sequence[str],
                             vectors: Sequence[np.ndarray]) -> None:
        """One record per sentence of each chunk: id ``CHUNK/k``, in sentence order."""
        ids, rows, metas = [], [], []
        for chunk_id, matrix in zip(chunk_ids, vectors):
            for k, row in enumerate(matrix):
                ids.append(f"{chunk_id}/{k}")
                rows.append(row)
                metas.append({"article_id": article_id, "chunk_id": chunk_id, "k": k})
        batch = max(1, self.client.get_max_batch_size())
        for i in range(0, len(ids), batch):
            self.sentences.upsert(ids=ids[i:i + batch], embeddings=np.asarray(rows[i:i + batch], dtype=np.float32),
                                  metadatas=metas[i:i + batch])

    def mark_sentence_vectors(self, article_id: str, counts: dict[str, int]) -> None:
        """Flag an article's chunks as having sentence vectors (added after the chunks), with their counts."""
        got = self.collection.get(where={"article_id": article_id}, include=["metadatas"])
        if got["ids"]:
            self.collection.update(ids=got["ids"], metadatas=[
                {**m, "sentence_vectors": True, "sentences": counts.get(cid, 0)}
                for cid, m in zip(got["ids"], got["metadatas"])])

    def delete_articles(self, article_ids: Sequence[str]) -> None:
        for i in range(0, len(article_ids), 500):
            where = {"article_id": {"$in": list(article_ids[i:i + 500])}}
            self.collection.delete(where=where)
            self.sentences.delete(where=where)

    def _metadata(self) -> dict:
        return dict(self.client.get_collection(self.name, embedding_function=None).metadata or {})

    @property
    def revision(self) -> int:
        return int(self._metadata().get("revision", 0))

    def bump_revision(self) -> int:
        metadata = self._metadata()  # modify() replaces the whole metadata: keep the other keys
        revision = int(metadata.get("revision", 0)) + 1
        self.collection.modify(metadata={**metadata, "revision": revision})
        return revision

    def embedder_identity(self) -> str | None:
        """``MODEL/BACKEND`` of the embedder that wrote this index's vectors (None: not recorded,
        i.e. an empty index or one built before identities were recorded)."""
        return self._metadata().get(EMBEDDER_KEY) or None

    def record_embedder(self, identity: str) -> None:
        """Note in the collection's metadata which embedder wrote its vectors."""
        metadata = self._metadata()
        if metadata.get(EMBEDDER_KEY) != identity:
            self.collection.modify(metadata={**metadata, EMBEDDER_KEY: identity})

    # --- reading -------------------------------------------------------------------------
    def count(self) -> int:
        return self.collection.count()

    def iter_chunks(self, page: int = 2000) -> Iterator[StoredChunk]:
        offset = 0
        while True:
            got = self.collection.get(include=["documents", "metadatas"], limit=page, offset=offset)
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                yield StoredChunk(cid, text, meta)
            if len(got["ids"]) < page:
                return
            offset += page

    def article_hashes(self) -> dict[str, str]:
        """article id -> content hash of what is indexed (read from the first chunk of each)."""
        return {aid: content_hash for aid, (content_hash, _) in self.article_states().items()}

    def article_states(self) -> dict[str, tuple[str, bool]]:
        """article id -> (content hash, whether its sentence vectors are stored)."""
        states: dict[str, tuple[str, bool]] = {}
        offset, page = 0, 5000
        while True:
            got = self.collection.get(where={"position": 0}, include=["metadatas"], limit=page, offset=offset)
            for meta in got["metadatas"]:
                states[meta["article_id"]] = (meta["content_hash"], bool(meta.get("sentence_vectors")))
            if len(got["ids"]) < page:
                return states
            offset += page

    def query(self, embedding: np.ndarray, n: int, where: dict | None) -> list[tuple[StoredChunk, float]]:
        n = min(n, max(1, self.count()))
        got = self.collection.query(
            query_embeddings=[embedding], n_results=n, where=where or None,
            include=["documents", "metadatas", "distances"],
        )
        return [
            (StoredChunk(cid, text, meta), 1.0 - float(dist))
            for cid, text, meta, dist in zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0])
        ]

    def get_chunks(self, ids: Sequence[str]) -> list[StoredChunk]:
        if not ids:
            return []
        got = self.collection.get(ids=list(ids), include=["documents", "metadatas"])
        by_id = {cid: StoredChunk(cid, t, m) for cid, t, m in zip(got["ids"], got["documents"], got["metadatas"])}
        return [by_id[i] for i in ids if i in by_id]

    def get_with_embeddings(self, ids: Sequence[str]) -> tuple[list[StoredChunk], np.ndarray]:
        """The chunks of ``ids`` that exist, in that order, and their embeddings (one row each)."""
        if not ids:
            return [], np.zeros((0, 0), dtype=np.float32)
        got = self.collection.get(ids=list(ids), include=["documents", "metadatas", "embeddings"])
        by_id = {cid: (StoredChunk(cid, t, m), e)
                 for cid, t, m, e in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"])}
        found = [by_id[i] for i in ids if i in by_id]
        return [c for c, _ in found], np.asarray([e for _, e in found], dtype=np.float32)

    def sentence_vectors_of(self, chunks: Sequence[StoredChunk]) -> dict[str, np.ndarray]:
        """Like :meth:`sentence_vectors`, fetched by record id where the chunk's metadata counts its sentences
        (several times faster than filtering on metadata)."""
        counted = [c for c in chunks if "sentences" in c.metadata]
        ids = [f"{c.id}/{k}" for c in counted for k in range(int(c.metadata["sentences"]))]
        found: dict[str, np.ndarray] = {}
        if ids:
            got = self.sentences.get(ids=ids, include=["embeddings"])
            by_id = dict(zip(got["ids"], got["embeddings"]))
            for c in counted:
                rows = [by_id.get(f"{c.id}/{k}") for k in range(int(c.metadata["sentences"]))]
                if rows and all(r is not None for r in rows):
                    found[c.id] = np.asarray(rows, dtype=np.float32)
        rest = [c.id for c in chunks if "sentences" not in c.metadata]
        return {**found, **(self.sentence_vectors(rest) if rest else {})}

    def query_sentences(self, embedding: np.ndarray, n: int) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the ``n`` stored sentence vectors most similar to ``embedding``."""
        total = self.sentences.count()
        if total == 0:
            return []
        got = self.sentences.query(query_embeddings=[embedding], n_results=min(n, total), include=["distances"])
        return [(rid.rsplit("/", 1)[0], 1.0 - float(d)) for rid, d in zip(got["ids"][0], got["distances"][0])]

    def sentence_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """chunk id -> its sentences' embeddings (rows in sentence order); chunks without any are left out."""
        found: dict[str, list[tuple[int, np.ndarray]]] = {}
        ids = list(dict.fromkeys(chunk_ids))
        for i in range(0, len(ids), 500):
            got = self.sentences.get(where={"chunk_id": {"$in": ids[i:i + 500]}}, include=["embeddings", "metadatas"])
            for meta, row in zip(got["metadatas"], got["embeddings"]):
                found.setdefault(meta["chunk_id"], []).append((meta["k"], row))
        return {cid: np.asarray([row for _, row in sorted(rows, key=lambda kr: kr[0])], dtype=np.float32)
                for cid, rows in found.items()}

    def article_chunks(self, article_id: str) -> list[StoredChunk]:
        got = self.collection.get(where={"article_id": article_id}, include=["documents", "metadatas"])
        chunks = [StoredChunk(cid, t, m) for cid, t, m in zip(got["ids"], got["documents"], got["metadatas"])]
        return sorted(chunks, key=lambda c: c.metadata["position"])


EMBEDDER_KEY = "embedder"
LEGACY_BACKEND = "torch"  # indexes that record no embedder were all written by sentence-transformers on PyTorch


def check_embedder(store: ChunkStore, embedder, record: bool = False) -> None:
    """Refuse an embedder whose vectors would not be comparable with the index's.

    PyTorch and ONNX fp32 count as the same (their vectors agree to 1e-6); int8 differs from both.
    An empty index takes any embedder; one that records none predates identities (written by
    PyTorch: fp32 backends go). ``record``: write the embedder's identity when the index is empty or
    records none (what an ingest does before its first write).
    """
    from assistant.embed.embedders import same_vectors

    wanted = embedder.identity
    recorded = store.embedder_identity()
    assumed = ""
    if store.count() == 0:  # no vectors to mix with
        if record:
            store.record_embedder(wanted)
        return
    if recorded is None:
        recorded = f"{wanted.rpartition('/')[0]}/{LEGACY_BACKEND}"
        assumed = " (it records no embedder: it was built before backends existed, with PyTorch)"
    if same_vectors(recorded, wanted):
        if record and assumed:
            store.record_embedder(recorded)
        return
    backend = recorded.rpartition("/")[2]
    raise ConfigError(
        f"The index in collection {store.name!r} was embedded with {recorded}{assumed}, but the configured "
        f"embedder is {wanted}: their vectors cannot be mixed. Either set ASSISTANT_EMBEDDING_BACKEND={backend} "
        f"(with the same ASSISTANT_EMBEDDING_MODEL) to use this index as it is, or re-embed it with {wanted}: "
        "delete the data directory (ASSISTANT_DATA_DIR) or choose another ASSISTANT_COLLECTION, then run "
        "`assistant ingest` again.")


def chunk_metadata(article: Article, chunk: Chunk, chunk_count: int, sentences: int | None = None) -> dict:
    """Chroma metadata of a chunk. Chroma has no nulls: missing values are empty strings, ts -1.

    ``sentences``: how many sentence vectors the chunk has (None: not stored).
    """
    meta = {name: getattr(article, name) or "" for name in _META_FIELDS}
    meta.update(
        article_id=article.id, position=chunk.position, start=chunk.start, end=chunk.end,
        chunk_count=chunk_count, content_hash=article.content_hash, origin=article.origin,
        published_ts=article.published_ts if article.published_ts is not None else -1,
        sentence_vectors=sentences is not None,
    )
    if sentences is not None:
        meta["sentences"] = sentences
    return meta


def to_passage(stored: StoredChunk, score: float = 0.0, scores: dict | None = None) -> Passage:
    meta = stored.metadata
    return Passage(
        chunk_id=stored.id, article_id=meta["article_id"], text=stored.text,
        **{name: (meta.get(name) or None) for name in _META_FIELDS if name != "title"},
        title=meta.get("title", ""), position=meta.get("position", 0), start=meta.get("start", 0),
        end=meta.get("end", 0), score=score, scores=scores or {},
    )


__all__ = ["ChunkStore", "StoredChunk", "make_client", "chunk_metadata", "to_passage", "iso_to_ts", "check_embedder"]
