"""The one place that builds concrete parts from settings and wires them into an Assistant."""

from __future__ import annotations

from pathlib import Path

from assistant.settings import Settings


def build_assistant(settings: Settings | None = None, embedder=None, chat_model=None):
    """An :class:`~assistant.service.assistant.Assistant` for ``settings``; heavy parts load lazily.

    ``embedder`` lets callers (tests, apps) share one loaded model between assistants;
    ``chat_model`` replaces the LLM built from settings (any LangChain chat model).
    The retrieval profile (``settings.profile``) holds every tuning constant of retrieval and answering.
    """
    from assistant.embed import AUTO, choose_backend, make_embedder
    from assistant.index.lexical import BM25Index
    from assistant.index.store import ChunkStore, check_embedder, make_client
    from assistant.ingest.indexer import Indexer
    from assistant.live.syndication import SyndicationIndex
    from assistant.query.analyzer import QueryAnalyzer
    from assistant.retrieve.profile import load_profile
    from assistant.service.assistant import Assistant

    settings = settings or Settings()
    profile = load_profile(settings.profile)
    store = ChunkStore(make_client(settings), settings.collection)
    if embedder is None:
        backend = settings.embedding_backend
        if backend == AUTO:  # the index's own backend; the fastest one for a new index
            backend = choose_backend(backend, store.embedder_identity(), store.count() > 0)
        embedder = make_embedder(settings.embedding_model, backend, cache_dir=None)  # ONNX exports: one per machine
    check_embedder(store, embedder)  # never mix vectors of two embedders in one index
    bm25 = BM25Index(store, Path(settings.data_dir) / "bm25" / settings.index_place())
    chunker = _LazyChunker(embedder, settings)
    retriever = make_retriever(profile, store, bm25, embedder)
    if settings.answer_mode == "llm" and chat_model is None:
        from assistant.answer.llm import make_chat_model

        chat_model = make_chat_model(settings, temperature=profile.answer.llm_temperature)
    answerer = make_answerer(settings, embedder, store, chat_model, profile=profile)
    llm = chat_model if settings.answer_mode == "llm" else None
    analyzer = QueryAnalyzer(bm25.sources, chat_model=llm, prompts=getattr(answerer, "prompts", None),
                             time_filters=profile.answer.time_filters)
    syndication = SyndicationIndex(store.state_dir / "syndication.sqlite3")
    indexer = Indexer(store, embedder, chunker, syndication)
    indexer.sentence_vectors = settings.sentence_vectors
    return Assistant(settings, store, bm25, retriever, answerer, indexer,
                     analyzer, chat_model=llm, profile=profile, syndication=syndication)


def make_retriever(profile, store, bm25, embedder):
    """The retriever (and, if the profile has one, the reranker) a profile describes."""
    from assistant.retrieve.hybrid import HybridRetriever, RetrievalConfig

    fusion, rerank = profile.fusion, profile.rerank
    config = RetrievalConfig(**fusion.model_dump())
    reranker = None
    if rerank is not None and fusion.mode == "hybrid":
        from assistant.rerank.linear import LinearModel, Reranker

        config = RetrievalConfig(**fusion.model_dump(), rerank_pool=rerank.pool,
                                 clause_candidates=rerank.clause_candidates, outlet_quota=rerank.outlet_quota,
                                 neighbour_penalty=rerank.neighbour_penalty)
        reranker = Reranker(LinearModel.load(profile.reranker_path()), bm25)
    return HybridRetriever(store, bm25, embedder, config, reranker=reranker)


def make_answerer(settings: Settings, embedder, store=None, chat_model=None, mode: str | None = None, profile=None):
    """The answer writer for ``mode`` (default: settings.answer_mode), verified the same way in both modes."""
    from assistant.answer.articles import ArticleContext
    from assistant.answer.verification import Verifier
    from assistant.retrieve.profile import load_profile

    knobs = (profile or load_profile(settings.profile)).answer
    context = ArticleContext(store.article_chunks if store is not None else None)
    verifier = Verifier(embedder, knobs.verify_min_overlap, knobs.verify_min_similarity,
                        policy=knobs.unsupported_sentences)
    if (mode or settings.answer_mode) == "llm":
        from assistant.answer.llm import LLMAnswerer, make_chat_model
        from assistant.answer.prompts import Prompts

        return LLMAnswerer(chat_model or make_chat_model(settings, temperature=knobs.llm_temperature), Prompts(settings.prompts_dir), verifier, context,
                           max_passages=knobs.llm_passages, confidence=knobs.confidence,
                           abstain_threshold=knobs.abstain_threshold,
                           fallback=make_answerer(settings, embedder, store, mode="extractive", profile=profile),
                           model_name=f"{settings.llm_provider}:{settings.llm_model}" if settings.llm_model else "")
    from assistant.answer.extractive import ExtractiveAnswerer

    return ExtractiveAnswerer(embedder, knobs.sentences, knobs.abstain_threshold, context=context,
                              verifier=verifier, lexical_weight=knobs.lexical_weight,
                              stored_vectors=store.sentence_vectors if store is not None else None,
                              require_names=knobs.require_names, confidence=knobs.confidence,
                              kind_weight=knobs.kind_weight, margin=knobs.margin, per_article=knobs.per_article)


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
