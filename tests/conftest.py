"""Tiny deterministic fakes for unit tests, and shared fixtures (real models live in test_e2e)."""

from __future__ import annotations

import hashlib
import itertools
import re
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from config.settings import Settings
from index.faiss_store.store import FaissStore
from index.protocol import VectorStore
from ingest.chunker import Chunker
from ingest.pipeline import Ingestor
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


@pytest.fixture
def embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def library(settings: Settings) -> FaissStore:
    return FaissStore(settings.index_dir)


@pytest.fixture
def ingestor(embedder: FakeEmbedder, library: FaissStore) -> Ingestor:
    return Ingestor(embedder, Chunker(embedder, size=30, overlap=6), library.collection("default"))


@pytest.fixture(scope="session")
def milvus_client(tmp_path_factory: pytest.TempPathFactory) -> object:
    """One real milvus-lite for the whole run (it takes a second or two to start)."""
    from index.milvus_store.store import connect

    return connect(str(tmp_path_factory.mktemp("milvus") / "milvus.db"))


_store_prefixes = itertools.count()


@pytest.fixture(params=["faiss", "milvus"])
def store(request: pytest.FixtureRequest, settings: Settings) -> Iterator[VectorStore]:
    """Each vector store in turn: FAISS on disk, and Milvus (milvus-lite, a fresh prefix)."""
    if request.param == "faiss":
        yield FaissStore(settings.index_dir)
        return
    from index.milvus_store.store import MilvusStore

    client: Any = request.getfixturevalue("milvus_client")
    prefix = f"t{next(_store_prefixes)}_"
    yield MilvusStore(client, prefix)
    for name in client.list_collections():
        if name.startswith(prefix):
            client.drop_collection(name)


@pytest.fixture
def store_ingestor(embedder: FakeEmbedder, store: VectorStore) -> Ingestor:
    return Ingestor(embedder, Chunker(embedder, size=30, overlap=6), store.collection("default"))


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return root


@pytest.fixture(scope="session")
def samples_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """samples/ ingested once by the real `ingest` CLI, shared by e2e modules that only read."""
    from tests.test_e2e import INGEST, SAMPLES, env_for, run

    data = tmp_path_factory.mktemp("samples") / "data"
    result = run([*INGEST, str(SAMPLES)], env_for(data))
    assert result.returncode == 0, result.stderr
    return data
