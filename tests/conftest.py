"""Shared fixtures: settings in a temporary folder, the fakes, each vector store, samples/."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings
from index.faiss_store.store import FaissStore
from index.protocol import VectorStore
from ingest.chunker import Chunker
from ingest.pipeline import Ingestor
from tests.fakes import FakeEmbedder
from tests.support import INGEST, SAMPLES, env_for, run, running_llama_server


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


# milvus-lite costs a second or two per test: `make test` runs it, the fast loop leaves it out.
@pytest.fixture(params=["faiss", pytest.param("milvus", marks=pytest.mark.slow)])
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


@pytest.fixture(scope="session")
def samples_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """samples/ ingested once by the real `ingest` CLI, shared by e2e modules that only read."""
    data = tmp_path_factory.mktemp("samples") / "data"
    result = run([*INGEST, str(SAMPLES)], env_for(data))
    assert result.returncode == 0, result.stderr
    return data


@pytest.fixture(scope="module")
def llm_url() -> Iterator[str]:
    """A real OpenAI-compatible model server (llama_cpp.server on the packaged GGUF)."""
    with running_llama_server() as url:
        yield url


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that starts milvus-lite (the milvus_client fixture, or a Milvus store of its
    own: "milvus" in its name) is `slow`: `make test` runs it, the fast loop leaves it out,
    as it does the store fixture's Milvus half."""
    for item in items:
        uses = getattr(item, "fixturenames", ())
        if "milvus_client" in uses or "milvus" in item.name.lower():
            item.add_marker(pytest.mark.slow)
