"""All configuration in one object, overridable by ``ASSISTANT_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Settings of the assistant. Every field can be set as ``ASSISTANT_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="ignore", validate_default=True)

    data_dir: Path = Field(Path(".data"), description="Where the index (Chroma and BM25) lives.")
    corpus_dir: Path = Field(PROJECT_ROOT / "corpus", description="Default folder of articles to ingest.")
    prompts_dir: Path = Field(PROJECT_ROOT / "prompts", description="Folder of prompt templates.")
    collection: str = Field("news", min_length=3, max_length=63, description="Chroma collection name.")
    chroma_mode: Literal["embedded", "server"] = Field(
        "embedded", description="'embedded' (PersistentClient under data_dir) or 'server' (HttpClient)."
    )
    chroma_host: str = Field("localhost", description="Chroma server host (server mode).")
    chroma_port: int = Field(8000, ge=1, le=65535, description="Chroma server port (server mode).")
    embedding_model: str = Field(
        BUNDLED_MODEL,
        description="sentence-transformers model name or path; the default is the bundled all-MiniLM-L6-v2.",
    )
    embedding_batch_size: int = Field(32, ge=1, description="Chunks embedded per batch.")
    chunk_tokens: int = Field(
        0, ge=0, description="Max word pieces per chunk (title included); 0 = the embedding model's limit."
    )
    chunk_overlap_tokens: int = Field(48, ge=0, description="Word pieces of whole sentences repeated between chunks.")
    retrieval_k: int = Field(10, ge=1, le=100, description="Passages returned by retrieval.")
    retrieval_mode: Literal["hybrid", "dense", "bm25"] = Field("hybrid", description="How passages are retrieved.")
    candidates: int = Field(200, ge=1, description="Candidates taken from each retriever before fusion.")
    rrf_k: int = Field(20, ge=1, description="Reciprocal rank fusion constant.")
    dense_weight: float = Field(0.5, ge=0, description="Weight of the dense ranking in fusion.")
    bm25_weight: float = Field(1.0, ge=0, description="Weight of the BM25 ranking in fusion.")
    source_routing: bool = Field(
        True, description="Also retrieve within each outlet the question names ('according to TechCrunch')."
    )
    source_weight: float = Field(1.0, ge=0, description="Weight of each per-outlet ranking in fusion.")
    date_routing: bool = Field(
        True, description="Also retrieve among articles published around each day the question names."
    )
    sentence_weight: float = Field(1.0, ge=0, description="Weight of the sentence-level BM25 ranking in fusion.")
    article_decay: float = Field(
        0.9, gt=0, le=1, description="Score factor for each further chunk of an article already ranked (1 = off)."
    )
    rerank: bool = Field(
        True, description="Order the best fused candidates with the learned reranker (hybrid mode only)."
    )
    rerank_pool: int = Field(100, ge=1, description="Fused candidates the reranker orders.")
    clause_candidates: int = Field(
        10, ge=0, description="Per clause of the question, best chunks (dense and sentence BM25, within the outlets "
        "the clause names) added to the reranker's pool; 0 = off.")
    outlet_quota: int = Field(
        3, ge=0, description="Places in the reranked top k kept for each outlet the question names "
        "(fewer when k is short); 0 = off.")
    neighbour_penalty: float = Field(
        0.5, ge=0, description="Reranker log-odds a chunk loses for each chunk next to it in its article ranked above it "
        "(adjacent chunks overlap); 0 = off.")
    rerank_model: Path | None = Field(
        None, description="Reranker model file (JSON from benchmarks/train_reranker.py); "
        "empty = the bundled one, trained on MultiHop-RAG dev."
    )
    answer_mode: Literal["extractive", "llm"] = Field("extractive", description="How answers are written.")
    answer_sentences: int = Field(3, ge=1, le=10, description="Most sentences quoted in an extractive answer.")
    abstain_threshold: float = Field(
        0.4, ge=0, le=1, description="Below this best-sentence relevance the assistant says it cannot answer "
        "(calibrated on the MultiHop-RAG dev questions, see docs/answers.md)."
    )

    @model_validator(mode="after")
    def _check(self) -> "Settings":
        if self.chunk_tokens and self.chunk_overlap_tokens >= self.chunk_tokens:
            raise ValueError(
                f"chunk_overlap_tokens ({self.chunk_overlap_tokens}) must be smaller than chunk_tokens "
                f"({self.chunk_tokens}); lower ASSISTANT_CHUNK_OVERLAP_TOKENS"
            )
        return self

    @classmethod
    def describe(cls) -> list[tuple[str, str, str]]:
        """(environment variable, default, description) rows, for docs and ``assistant config``."""
        rows = []
        for name, field in cls.model_fields.items():
            default = field.default
            if isinstance(default, Path) and default.is_absolute():
                default = default.relative_to(PROJECT_ROOT) if default.is_relative_to(PROJECT_ROOT) else default
            rows.append((f"ASSISTANT_{name.upper()}", str(default), field.description or ""))
        return rows

    @classmethod
    def markdown_table(cls) -> str:
        """The README's configuration table (a test keeps the README in step with this)."""
        lines = ["| Environment variable | Default | What it does |", "|---|---|---|"]
        for env, default, description in cls.describe():
            lines.append(f"| `{env}` | `{default}` | {description.replace('|', '/')} |")
        return "\n".join(lines)

    # web and API
    web_host: str = Field("127.0.0.1", description="Address the web chat and REST API listen on (0.0.0.0: all).")
    web_port: int = Field(7860, ge=1, le=65535, description="Port of the web chat and REST API.")
    api_key: SecretStr | None = Field(
        None, description="When set, every /api call must send it (X-API-Key or Authorization: Bearer) and the "
                          "web chat asks for it as its password.",
    )
    max_question_chars: int = Field(1000, ge=10, le=100_000, description="Longest question accepted by the API and chat.")
    max_upload_mb: float = Field(10.0, gt=0, le=1024, description="Largest upload (all files of one request), in MB.")
    max_upload_files: int = Field(20, ge=1, le=1000, description="Most files in one upload.")
    web_concurrency: int = Field(
        2, ge=1, le=64, description="Questions the web chat answers at once; others wait in its queue. Answering "
                                   "is CPU-bound, so more than the number of cores only adds latency.",
    )

    # answers and LLM
    llm_provider: Literal["none", "ollama", "openai"] = Field(
        "none", description="Chat model for ASSISTANT_ANSWER_MODE=llm: 'ollama' (local) or 'openai' (any "
        "OpenAI-compatible server); needs `pip install news-assistant[llm]`."
    )
    llm_model: str = Field("", description="Chat model name, e.g. 'llama3.1' (Ollama) or 'gpt-4o-mini' (OpenAI).")
    llm_base_url: str = Field("", description="Server URL; empty = the provider's default (Ollama: localhost:11434).")
    llm_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("llm_api_key", "ASSISTANT_LLM_API_KEY", "OPENAI_API_KEY"),
        description="API key for the 'openai' provider, read from ASSISTANT_LLM_API_KEY or OPENAI_API_KEY.",
    )
    llm_temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature of the chat model.")
    llm_timeout: float = Field(120.0, gt=0, description="Seconds to wait for the chat model.")
    llm_passages: int = Field(8, ge=1, le=30, description="Retrieved passages shown to the chat model.")
    verify_min_overlap: float = Field(
        0.5, ge=0, le=1, description="A cited passage supports a sentence holding this share of its content words."
    )
    verify_min_similarity: float = Field(
        0.6, ge=-1, le=1, description="…or when this similar (embedding cosine) with some word overlap."
    )
    unsupported_sentences: Literal["remove", "flag"] = Field(
        "remove", description="What happens to answer sentences no cited passage supports."
    )
    answer_lexical_weight: float = Field(
        0.8, ge=0, le=5, description="Extractive answers rank sentences by similarity plus this × the share of the "
        "question's rare words they contain (0 = similarity only)."
    )
    time_filters: bool = Field(True, description="Turn time words in questions ('in November') into date filters.")
    reference_date: str | None = Field(
        None, description="'Today' for 'last week' in questions (YYYY-MM-DD); default: newest indexed article."
    )
