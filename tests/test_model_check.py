"""The per-search model check reads the spec the reader already holds: no query of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.answering.retrieval import Retriever
from config.settings import Settings
from index.errors import ModelMismatch
from index.milvus_store.store import MilvusStore
from ingest.pipeline import build_ingestor, discover
from tests.fakes import FakeEmbedder
from tests.support import write_files


class Counting:
    """A Milvus client that counts the calls a search makes."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(self.client, name)


def test_a_milvus_search_reads_the_spec_once_and_counts_no_rows(
    milvus_client: Any, settings: Settings, tmp_path: Path
):
    counting = Counting(milvus_client)
    store = MilvusStore(counting, "check_")
    try:
        search_and_count(counting, store, settings, tmp_path)
    finally:
        for name in milvus_client.list_collections():
            if name.startswith("check_"):
                milvus_client.drop_collection(name)


def search_and_count(counting: Counting, store: MilvusStore, settings: Settings, tmp_path: Path):
    embedder = FakeEmbedder()
    docs = write_files(tmp_path / "docs", {"a.md": "Alpha text about rivers."})
    build_ingestor(settings, embedder, store).ingest(discover([docs]))
    retriever = Retriever(settings, embedder, store)
    counting.calls.clear()
    assert retriever.retrieve("rivers", None, 3, "dense").passages
    assert counting.calls.count("query") == 1  # the meta row: spec and generation
    assert counting.calls.count("search") == 1
    with pytest.raises(ModelMismatch):
        Retriever(settings, FakeEmbedder(name="another"), store).retrieve("rivers", None, 3)
