"""The one place that builds concrete parts from settings and wires them into an Assistant."""

from __future__ import annotations

from pathlib import Path

from assistant.settings import Settings


def build_assistant(settings: Settings | None = None, embedder=None, chat_model=None):
    """An :class:`~assistant.service.Assistant` for ``settings``; heavy parts load lazily.

    ``embedder`` lets callers (tests, apps) share one loaded model between assistants;
    ``chat_model`` replaces the LLM built from settings (any LangChain chat model).
    """
    from assistant.embed.embedders import SentenceTransformerEmbedder
    from assistant.ingest.indexer import Indexer
    from assistant.index.lexical import BM25Index
    from assistant.retrieve.hybrid import HybridRetriever, RetrievalConfig
    from assistant.service.assistant import Assistant
    from assistant.index.store import ChunkStore, make_client

    settings = settings or Settings()
    embedder = embedder or SentenceTransformerEmbedder(settings.embedding_model, settings.embedding_batch_size)
    store = ChunkStore(make_client(settings), settings.collection)
    bm25 = BM25Index(store, Path(settings.data_dir) / "bm25" / _bm25_folder(settings))
    chunker = _LazyChunker(embedder, settings)
    retriever = HybridRetriever(store, bm25, embedder, RetrievalConfig(
        mode=settings.retrieval_mode, candidates=settings.candidates, rrf_k=settings.rrf_k,
        dense_weight=settings.dense_weight, bm25_weight=settings.bm25_weight,
        source_routing=settings.source_routing, source_weight=settings.source_weight,
        article_decay=settings.article_decay, sentence_weight=settings.sentence_weight,
        date_routing=settings.date_routing, rerank_pool=settings.rerank_pool,
        clause_candidates=settings.clause_candidates, outlet_quota=settings.outlet_quota,
        neighbour_penalty=settings.neighbour_penalty,
    ), reranker=_reranker(settings, bm25))
    if settings.answer_mode == "llm" and chat_model is None:
        from assistant.answer.llm import make_chat_model

        chat_model = make_chat_model(settings)
    answerer = make_answerer(settings, embedder, store, chat_model)
    prompts = getattr(answerer, "prompts", None)
    return Assistant(settings, store, bm25, retriever, answerer, Indexer(store, embedder, chunker),
                     chat_model=chat_model if settings.answer_mode == "llm" else None, prompts=prompts)


def _reranker(settings: Settings, bm25):
    if not settings.rerank or settings.retrieval_mode != "hybrid":
        return None
    from assistant.rerank.linear import BUNDLED_MODEL, LinearModel, Reranker

    return Reranker(LinearModel.load(settings.rerank_model or BUNDLED_MODEL), bm25)


def make_answerer(settings: Settings, embedder, store=None, chat_model=None, mode: str | None = None):
    """The answer writer for ``mode`` (default: settings.answer_mode), verified the same way in both modes."""
    from assistant.answer.articles import ArticleContext
    from assistant.answer.verification import Verifier

    context = ArticleContext(store.article_chunks if store is not None else None)
    verifier = Verifier(embedder, settings.verify_min_overlap, settings.verify_min_similarity,
                        policy=settings.unsupported_sentences)
    if (mode or settings.answer_mode) == "llm":
        from assistant.answer.llm import LLMAnswerer, make_chat_model
        from assistant.answer.prompts import Prompts

        return LLMAnswerer(chat_model or make_chat_model(settings), Prompts(settings.prompts_dir), verifier, context,
                           max_passages=settings.llm_passages,
                           model_name=f"{settings.llm_provider}:{settings.llm_model}" if settings.llm_model else "")
    from assistant.answer.extractive import ExtractiveAnswerer

    return ExtractiveAnswerer(embedder, settings.answer_sentences, settings.abstain_threshold, context=context,
                              verifier=verifier, lexical_weight=settings.answer_lexical_weight,
                              stored_vectors=store.sentence_vectors if store is not None else None)


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
            from assistant.text.chunking import SentenceChunker

            limit = self._embedder.max_tokens - 2  # [CLS] and [SEP]
            max_tokens = min(self._settings.chunk_tokens or limit, limit)
            self._chunker = SentenceChunker(self._embedder.count_tokens, max_tokens,
                                            min(self._settings.chunk_overlap_tokens, max_tokens // 2))
        return self._chunker.chunk(article, reserved_tokens)
