"""The one place that builds concrete parts from settings and wires them into an Assistant."""

from __future__ import annotations

from pathlib import Path

from .settings import Settings


def build_assistant(settings: Settings | None = None, embedder=None):
    """An :class:`~assistant.service.Assistant` for ``settings``; heavy parts load lazily.

    ``embedder`` lets callers (tests, apps) share one loaded model between assistants.
    """
    from .answering.extractive import ExtractiveAnswerer
    from .embedders import SentenceTransformerEmbedder
    from .indexer import Indexer
    from .lexical import BM25Index
    from .retrieval import HybridRetriever, RetrievalConfig
    from .service import Assistant
    from .store import ChunkStore, make_client

    settings = settings or Settings()
    embedder = embedder or SentenceTransformerEmbedder(settings.embedding_model, settings.embedding_batch_size)
    store = ChunkStore(make_client(settings), settings.collection)
    bm25 = BM25Index(store, Path(settings.data_dir) / "bm25" / _bm25_folder(settings))
    chunker = _LazyChunker(embedder, settings)
    retriever = HybridRetriever(store, bm25, embedder, RetrievalConfig(
        mode=settings.retrieval_mode, candidates=settings.candidates, rrf_k=settings.rrf_k,
        dense_weight=settings.dense_weight, bm25_weight=settings.bm25_weight,
        source_routing=settings.source_routing, source_weight=settings.source_weight,
    ))
    answerer = ExtractiveAnswerer(embedder, settings.answer_sentences, settings.abstain_threshold)
    return Assistant(settings, store, bm25, retriever, answerer, Indexer(store, embedder, chunker))


def _bm25_folder(settings: Settings) -> str:
    if settings.chroma_mode == "server":
        return f"{settings.chroma_host}_{settings.chroma_port}_{settings.collection}"
    return settings.collection


class _LazyChunker:
    """A SentenceChunker whose token budget is read from the model only when first needed."""

    def __init__(self, embedder, settings: Settings):
        self._embedder, self._settings, self._chunker = embedder, settings, None

    def chunk(self, article, reserved_tokens: int = 0):
        if self._chunker is None:
            from .chunking import SentenceChunker

            limit = self._embedder.max_tokens - 2  # [CLS] and [SEP]
            max_tokens = min(self._settings.chunk_tokens or limit, limit)
            self._chunker = SentenceChunker(self._embedder.count_tokens, max_tokens,
                                            min(self._settings.chunk_overlap_tokens, max_tokens // 2))
        return self._chunker.chunk(article, reserved_tokens)
