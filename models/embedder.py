"""The Embedder: text to normalized vectors, plus the tokenizer the chunker must respect."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

import numpy as np

from models.device import torch_device
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
    """count_tokens / split_tokens over a Hugging Face fast tokenizer in `self._tokenizer`."""

    _tokenizer: Any

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        # verbose=False: counting long text is the point, not the "indexing errors" it warns of
        ids = self._tokenizer(
            list(texts), add_special_tokens=False, truncation=False, verbose=False
        )["input_ids"]
        return [len(row) for row in ids]

    def split_tokens(self, text: str, max_tokens: int) -> list[str]:
        enc = self._tokenizer(
            text,
            add_special_tokens=False,
            truncation=False,
            return_offsets_mapping=True,
            verbose=False,
        )
        offsets = enc["offset_mapping"]
        pieces = []
        for start in range(0, len(offsets), max_tokens):
            window = offsets[start : start + max_tokens]
            pieces.append(text[window[0][0] : window[-1][1]].strip())
        return [p for p in pieces if p]


class SentenceTransformerEmbedder(_Tokenizing):
    """An Embedder backed by sentence-transformers (packaged all-MiniLM-L6-v2 by default)."""

    backend = "torch"

    def __init__(self, spec: str, device: str = "auto", batch_size: int = 64) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]  # token-length warnings are expected: we split ourselves
        self.device: str = torch_device(device)
        self._model = SentenceTransformer(resolve_embed_model(spec), device=self.device)
        self._tokenizer: Any = self._model.tokenizer
        self.name = spec
        self.dimension = int(self._model.get_embedding_dimension() or 0)
        self.max_tokens = int(self._model.max_seq_length or 512)
        self.special_tokens = len(self._tokenizer("", add_special_tokens=True)["input_ids"])
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
    """

    def __init__(self, spec: str, backend: str, cache: Path, batch_size: int = 64) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        from models.export import ensure_export

        folder, info = ensure_export(spec, backend, cache)
        self._tokenizer = AutoTokenizer.from_pretrained(folder)
        options = ort.SessionOptions()
        # Idle onnxruntime threads must not spin: llama.cpp needs the cores while it decodes.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.intra_op_num_threads = int(os.environ.get("RAGD_EMBED_THREADS", "0"))
        self._session = ort.InferenceSession(
            str(folder / info["file"]), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.name, self.backend, self.device = spec, backend, "cpu"
        self.dimension = int(info["dimension"])
        self.max_tokens = int(info["max_tokens"])
        self.special_tokens = len(self._tokenizer("", add_special_tokens=True)["input_ids"])
        self.batch_size = batch_size
        self._pad = int(self._tokenizer.pad_token_id or 0)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        ids = self._tokenizer(list(texts), truncation=True, max_length=self.max_tokens)["input_ids"]
        order = np.argsort([len(row) for row in ids], kind="stable")
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = self._run([ids[i] for i in rows])
        return out

    def _run(self, batch: list[list[int]]) -> np.ndarray:
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
