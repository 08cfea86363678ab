"""The Embedder: text to normalized vectors, plus the tokenizer the chunker must respect."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

import numpy as np

from models.device import torch_device
from models.errors import ModelLoadError
from models.resolve import resolve_embed_model

# torch: sentence-transformers on torch (fp32). onnx / onnx-int8: the same model exported to ONNX
# (int8: weights quantized per channel, activations dynamically) and run by onnxruntime.
EmbedBackend = Literal["torch", "onnx", "onnx-int8"]
EMBED_BACKENDS: tuple[str, ...] = get_args(EmbedBackend)


class Embedder(Protocol):
    """What ingest and search need from an embedding model."""

    name: str
    dimension: int
    max_tokens: int  # the model's max sequence length, special tokens included
    special_tokens: int  # tokens the model adds around every input ([CLS], [SEP])
    device: str
    backend: str  # how vectors are computed ("torch", "onnx-int8", ...): part of the index spec

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalized float32 vectors, one row per text."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text, special tokens excluded."""
        ...

    def split_tokens(self, text: str, max_tokens: int) -> list[str]:
        """`text` cut into pieces of at most `max_tokens` tokens, at token boundaries."""
        ...


class _Tokenizing:
    """count_tokens / split_tokens over a `tokenizers.Tokenizer` in `self._tokens`.

    It is the Rust tokenizer a Hugging Face fast tokenizer wraps, set up once with no
    truncation and no padding: it never changes after, so threads may share it.
    """

    _tokens: Any

    @property
    def joins_exactly(self) -> bool:
        """Whether ids(a + whitespace + b) == ids(a) + ids(b): true of WordPiece behind BERT's
        pre-tokenizer (it splits at whitespace first and normalizes character by character),
        so the chunker can join its sentences' ids instead of tokenizing each chunk again."""
        tokens = self._tokens
        pre, model, norm = tokens.pre_tokenizer, tokens.model, tokens.normalizer
        names = (type(pre).__name__, type(model).__name__, type(norm).__name__)
        return names[:2] == ("BertPreTokenizer", "WordPiece") and names[2] in (
            "BertNormalizer",
            "NoneType",
        )

    def encode_tokens(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, special tokens excluded."""
        if not texts:
            return []
        encoded = self._tokens.encode_batch(list(texts), add_special_tokens=False)
        return [list(e.ids) for e in encoded]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(row) for row in self.encode_tokens(texts)]

    def split_tokens(self, text: str, max_tokens: int) -> list[str]:
        offsets = self._tokens.encode(text, add_special_tokens=False).offsets
        pieces = []
        for start in range(0, len(offsets), max_tokens):
            window = offsets[start : start + max_tokens]
            pieces.append(text[window[0][0] : window[-1][1]].strip())
        return [p for p in pieces if p]


def unbounded(tokens: Any) -> Any:
    """`tokens` with the truncation and padding its tokenizer.json may carry switched off:
    counting needs every token, and padding is done per batch."""
    tokens.no_truncation()
    tokens.no_padding()
    return tokens


class SentenceTransformerEmbedder(_Tokenizing):
    """An Embedder backed by sentence-transformers (packaged all-MiniLM-L6-v2 by default)."""

    backend = "torch"

    def __init__(self, spec: str, device: str = "auto", batch_size: int = 64) -> None:
        from sentence_transformers import SentenceTransformer
        from tokenizers import Tokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]  # token-length warnings are expected: we split ourselves
        self.device: str = torch_device(device)
        self._model = SentenceTransformer(resolve_embed_model(spec), device=self.device)
        # The chunker's counting gets its own copy of the Rust tokenizer: the wrapper sets its
        # truncation per call (shared state), and ingest embeds on another thread.
        backend = self._model.tokenizer.backend_tokenizer
        self._tokens: Any = unbounded(Tokenizer.from_str(backend.to_str()))
        self.name = spec
        self.dimension = int(self._model.get_embedding_dimension() or 0)
        self.max_tokens = int(self._model.max_seq_length or 512)
        self.special_tokens = len(self._tokens.encode("", add_special_tokens=True).ids)
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)


class OnnxEmbedder(_Tokenizing):
    """The same model exported to ONNX (models/export.py) and run by onnxruntime on the CPU.

    Texts are tokenized once, sorted by token length and batched, so padding stays small.
    Tokenizing uses the export's tokenizer.json through `tokenizers` alone: transformers'
    AutoTokenizer would import torch (its configuration module does), which costs start-up
    time and memory, and crashed beside a CUDA llama.cpp in one process.
    """

    def __init__(self, spec: str, backend: str, cache: Path, batch_size: int = 64) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from models.export import ensure_export

        folder, info = ensure_export(spec, backend, cache)
        self._tokens = unbounded(Tokenizer.from_file(str(tokenizer_file(folder))))
        self._session = ort.InferenceSession(
            str(folder / info["file"]), session_options(), providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.name, self.backend, self.device = spec, backend, "cpu"
        self.dimension = int(info["dimension"])
        self.max_tokens = int(info["max_tokens"])
        self._wrap = _special_ids(self._tokens)
        self.special_tokens = len(self._wrap[0]) + len(self._wrap[1])
        self.batch_size = batch_size
        self._pad = pad_id(self._tokens, folder)
        self.sort_by_length = True  # False: batches in input order (the benchmark's A/B)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Truncating the ids as embed_ids does is what the tokenizer's own truncation does to
        # one sequence: the text's tokens cut at max_tokens less the special tokens.
        return self.embed_ids(self.encode_tokens(texts))

    def embed_ids(self, rows: Sequence[Sequence[int]]) -> np.ndarray:
        """Vectors of texts given as token ids (no special tokens: added here, and the rows
        truncated as `embed` truncates text), so text tokenized once is never tokenized again."""
        head, tail = self._wrap
        keep = self.max_tokens - len(head) - len(tail)
        return self._embed_rows([[*head, *row[:keep], *tail] for row in rows])

    def _embed_rows(self, ids: Sequence[Sequence[int]]) -> np.ndarray:
        """Batches of similar length (sorted, so padding stays small), in the input's order."""
        out = np.zeros((len(ids), self.dimension), dtype=np.float32)
        lengths = [len(row) for row in ids]
        order = np.argsort(lengths, kind="stable") if self.sort_by_length else np.arange(len(ids))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = self._run([ids[i] for i in rows])
        return out

    def _run(self, batch: list[Sequence[int]]) -> np.ndarray:
        width = max(len(row) for row in batch)
        input_ids = np.full((len(batch), width), self._pad, dtype=np.int64)
        mask = np.zeros_like(input_ids)
        for i, row in enumerate(batch):
            input_ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        feeds["token_type_ids"] = np.zeros_like(input_ids)
        vectors = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.asarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


def session_options() -> Any:
    """onnxruntime's options, spelled out: every graph optimization (constant folding, the
    fusions of layer norms and GELU its CPU provider has), operators run one after another with
    intra-op threads on all cores (RAGD_EMBED_THREADS), idle threads asleep. Spinning is off:
    llama.cpp needs the cores while it decodes, and on a busy machine it measured no faster.
    Fusing attention offline (onnxruntime.transformers' Attention op) was measured too: 0.93x
    as fast as int8 MatMuls and softmax, with vectors moved (cosine 0.993), so it is not used."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.intra_op_num_threads = int(os.environ.get("RAGD_EMBED_THREADS", "0"))  # 0: cores
    return options


def tokenizer_file(folder: Path) -> Path:
    """The export's tokenizer.json (saved with the model by models/export.py)."""
    path = folder / "tokenizer.json"
    if not path.is_file():
        raise ModelLoadError(f"{path} is missing: delete {folder} and the model is exported again")
    return path


def pad_id(tokens: Any, folder: Path) -> int:
    """The id of the pad token tokenizer_config.json names ([PAD]), as transformers read it:
    int8 activations are quantized over the whole batch, so even padding must not change."""
    try:
        config = json.loads((folder / "tokenizer_config.json").read_text())
    except (OSError, ValueError):
        config = {}
    name = config.get("pad_token")
    name = name.get("content") if isinstance(name, dict) else name
    found = tokens.token_to_id(name) if isinstance(name, str) else None
    return int(found or 0)


def _special_ids(tokens: Any) -> tuple[list[int], list[int]]:
    """The ids the tokenizer puts before and after a text's own ([CLS] and [SEP])."""
    bare = tokens.encode("a", add_special_tokens=False).ids
    full = tokens.encode("a", add_special_tokens=True).ids
    for start in range(len(full) - len(bare) + 1):
        if full[start : start + len(bare)] == bare:
            return list(full[:start]), list(full[start + len(bare) :])
    return [], []


def load_embedder(
    spec: str, device: str = "auto", backend: str = "torch", cache: Path | None = None
) -> Embedder:
    """The embedder for `spec` on `backend`; ONNX backends export the model once, offline,
    into `cache` (default: the user's cache folder, see models.export.default_cache)."""
    if backend == "torch":
        return SentenceTransformerEmbedder(spec, device)
    if backend not in EMBED_BACKENDS:
        raise ValueError(f"unknown embedding backend {backend!r}: use one of {EMBED_BACKENDS}")
    from models.export import default_cache

    return OnnxEmbedder(spec, backend, cache or default_cache())
