"""Small deterministic stand-ins for the models, shared by unit tests and benchmarks."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator, Sequence

import numpy as np

from models.generator import Message

WORD = re.compile(r"\w+|[^\w\s]")


class FakeEmbedder:
    """Bag-of-words vectors hashed into 64 dimensions: similar words, similar vectors."""

    def __init__(self, name: str = "fake-embedder", dimension: int = 64, max_tokens: int = 40):
        self.name = name
        self.dimension = dimension
        self.max_tokens = max_tokens
        self.special_tokens = 2
        self.device = "cpu"
        self.backend = "torch"
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in WORD.findall(text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(WORD.findall(t)) for t in texts]

    def split_tokens(self, text: str, max_tokens: int) -> list[str]:
        spans = [m.span() for m in WORD.finditer(text)]
        return [
            text[spans[i][0] : spans[min(i + max_tokens, len(spans)) - 1][1]]
            for i in range(0, len(spans), max_tokens)
        ]


class FakeGenerator:
    """Streams a canned answer word by word; counts one token per word of the prompt."""

    def __init__(
        self,
        answer: str = "It is in the documents [1].",
        context_window: int = 2048,
        delay: float = 0.0,
    ):
        self.name = "fake-llm"
        self.device = "cpu"
        self.gpu_layers = 0
        self.context_window = context_window
        self.answer = answer
        self.delay = delay
        self.prompts: list[list[Message]] = []
        self.cancelled = threading.Event()
        self.closed = False

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return sum(len(WORD.findall(m["content"])) + 4 for m in messages)

    def stream(
        self,
        messages: Sequence[Message],
        max_tokens: int,
        cancel: threading.Event,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:
        self.prompts.append(list(messages))
        for piece in re.findall(r"\S+\s*", self.answer)[:max_tokens]:
            if cancel.is_set():
                self.cancelled.set()
                return
            time.sleep(self.delay)
            yield piece

    def close(self) -> None:
        self.closed = True
