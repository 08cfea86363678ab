"""The Embedder: text to normalized vectors, plus the tokenizer the chunker must respect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from models.device import torch_device
from models.resolve import resolve_embed_model


class Embedder(Protocol):
    """What ingest and search need from an embedding model."""

    name: str
    dimension: int
    max_tokens: int  # the model's max sequence length, special tokens included
    special_tokens: int  # tokens the model adds around every input ([CLS], [SEP])
    device: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalized float32 vectors, one row per text."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text, special tokens excluded."""
        ...

    def split_tokens(self, text: str, max_tokens: int) -> list[str]:
        """`text` cut into pieces of at most `max_tokens` tokens, at token boundaries."""
        ...


class SentenceTransformerEmbedder:
    """An Embedder backed by sentence-transformers (packaged all-MiniLM-L6-v2 by default)."""

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

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        ids = self._tokenizer(list(texts), add_special_tokens=False, truncation=False)["input_ids"]
        return [len(row) for row in ids]

    def split_tokens(self, text: str, max_tokens: int) -> list[str]:
        enc = self._tokenizer(
            text, add_special_tokens=False, truncation=False, return_offsets_mapping=True
        )
        offsets = enc["offset_mapping"]
        pieces = []
        for start in range(0, len(offsets), max_tokens):
            window = offsets[start : start + max_tokens]
            pieces.append(text[window[0][0] : window[-1][1]].strip())
        return [p for p in pieces if p]
