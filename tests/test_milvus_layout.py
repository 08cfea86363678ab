"""Milvus in the shared layout (one chunk collection keyed by the ragd collection), ragd's own
BM25 on it (the FAISS store's scores, exactly), and the move from the earlier layout."""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.cli.index_cmd import index_command
from config.settings import Settings
from index.faiss_store.store import FaissStore
from index.milvus_store.store import MilvusStore, _clients
from index.protocol import StoreCollection
from index.types import DocumentRow, IndexSpec, NewChunk

pytestmark = pytest.mark.slow  # a real milvus-lite
SPEC = IndexSpec("fake", 4, True, "v1")
WORDS = "river delta flood basin sediment levee tide estuary channel marsh silt dune".split()
_prefixes = itertools.count()


@pytest.fixture
def milvus(milvus_client: Any) -> Iterator[MilvusStore]:
    prefix = f"lay{next(_prefixes)}_"
    yield MilvusStore(milvus_client, prefix)
    for name in milvus_client.list_collections():
        if name.startswith(prefix):
            milvus_client.drop_collection(name)


def document(n: int, words: int = 12) -> tuple[DocumentRow, list[NewChunk], np.ndarray]:
    """Document n: two chunks of varied words and lengths, one with a heading."""
    rng = np.random.default_rng(n)
    texts = [" ".join(rng.choice(WORDS, words + 7 * i + n % 5)) for i in range(2)]
    chunks = [NewChunk(texts[0], heading=f"Part {WORDS[n % 12]}"), NewChunk(texts[1])]
    row = DocumentRow(f"d{n}", f"doc{n}.md", f"h{n}", None, 2, "2026-01-01")
    return row, chunks, np.eye(4, dtype=np.float32)[[n % 4, (n + 1) % 4]]


def fill(coll: StoreCollection, batches: list[range], delete: tuple[str, ...] = ()) -> None:
    """Commit each batch in turn (the mean length drifts between them), then the deletes."""
    for batch in batches:
        with coll.writer(SPEC) as w:
            for n in batch:
                w.put(*document(n, words=6 if n < 10 else 30))
            w.commit()
    with coll.writer(SPEC) as w:
        for doc_id in delete:
            w.delete(doc_id)
        w.commit()


def ranked(coll: StoreCollection, query: str) -> list[tuple[float, str, int]]:
    """The top 15 by BM25, scores to 4 decimals; equal scores in source order (which of
    equals comes first is each engine's choice), those tied at the cut-off left out."""
    hits = coll.snapshot().keyword_search(query, 15)
    last = round(hits[-1].score, 4) if hits else 0.0
    found = [(round(h.score, 4), h.chunk.source, h.chunk.ord) for h in hits]
    return sorted((f for f in found if f[0] > last), key=lambda f: (-f[0], f[1], f[2]))


def test_milvus_keyword_scores_equal_the_faiss_stores_bm25_after_growth_and_deletes(
    milvus: MilvusStore, tmp_path: Path
):
    batches, deleted = [range(0, 10), range(10, 25)], ("d3", "d12")
    faiss = FaissStore(tmp_path / "index").collection("default")
    fill(faiss, batches, deleted)
    fill(milvus.collection("default"), batches, deleted)
    for query in ("river flood", "sediment sediment levee", "part tide", "marsh silt dune delta"):
        expected = ranked(faiss, query)
        assert len(expected) >= 10 and ranked(milvus.collection("default"), query) == expected


def test_collections_share_one_milvus_collection_and_stay_apart(milvus: MilvusStore):
    a, b = milvus.collection("a"), milvus.collection("b-2")
    fill(a, [range(0, 6)])
    fill(b, [range(0, 3)], delete=("d1",))
    prefix = milvus.prefix
    ours = {n for n in milvus.client.list_collections() if n.startswith(prefix)}
    assert ours == {f"{prefix}chunks_4", f"{prefix}docs", f"{prefix}terms", f"{prefix}collections"}
    assert milvus.names() == ["a", "b-2"]
    assert [d.id for d in b.documents()] == ["d0", "d2"] and len(a.documents()) == 6
    assert {h.chunk.doc_id for h in b.snapshot().search(np.eye(4)[1], 10)} == {"d0", "d2"}
    assert {(s.documents, s.rows) for s in (a.state(), b.state())} == {(6, 12), (2, 4)}  # type: ignore[union-attr]
    for name in ours:  # as after a restart of Milvus: a new ragd loads what it reads
        milvus.client.release_collection(name)
    again = MilvusStore(milvus.client, prefix).collection("b-2").snapshot()
    assert again.keyword_search("river", 1) and again.search(np.eye(4)[0], 1)
    alone = MilvusStore(milvus.client, "solo_").collection("b-2")
    try:
        fill(alone, [[0, 2]])  # b's documents alone: its BM25 counts nothing of a's
        assert ranked(b, "river levee") == ranked(alone, "river levee")
    finally:
        alone.drop()


def old_layout(client: Any, prefix: str) -> None:
    """A deployment written by the earlier layout: `<prefix>c_<name>` with Milvus' own BM25,
    `<prefix>d_<name>` and `<prefix>meta`, as that code created them."""
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    chunks = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    chunks.add_field("id", DataType.INT64, is_primary=True)
    for name in ("doc_id", "source", "heading"):
        chunks.add_field(name, DataType.VARCHAR, max_length=4096)
    chunks.add_field("ord", DataType.INT64)
    chunks.add_field("page", DataType.INT64)
    chunks.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True)
    chunks.add_field("vector", DataType.FLOAT_VECTOR, dim=4)
    chunks.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    bm25 = Function(
        name="text_bm25",
        function_type=FunctionType.BM25,
        input_field_names=["text"],
        output_field_names=["sparse"],
    )
    chunks.add_function(bm25)
    index = client.prepare_index_params()
    index.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
    index.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    client.create_collection(f"{prefix}c_my_uwiki", schema=chunks, index_params=index)
    stub = client.prepare_index_params()
    stub.add_index(field_name="stub", index_type="FLAT", metric_type="L2")
    docs = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    docs.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
    for name in ("source", "hash", "ingested_at"):
        docs.add_field(name, DataType.VARCHAR, max_length=4096)
    docs.add_field("pages", DataType.INT64)
    docs.add_field("chunks", DataType.INT64)
    docs.add_field("stub", DataType.FLOAT_VECTOR, dim=2)  # the oldest: no metadata fields
    client.create_collection(f"{prefix}d_my_uwiki", schema=docs, index_params=stub)
    meta = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    meta.add_field("name", DataType.VARCHAR, is_primary=True, max_length=64)
    meta.add_field("spec", DataType.VARCHAR, max_length=4096)
    meta.add_field("generation", DataType.INT64)
    meta.add_field("stub", DataType.FLOAT_VECTOR, dim=2)
    client.create_collection(f"{prefix}meta", schema=meta, index_params=stub)
    fill_old(client, prefix)


def fill_old(client: Any, prefix: str) -> None:
    spec = '{"embed_model": "fake", "dimension": 4, "normalized": true, "chunker": "v1"}'
    client.insert(
        f"{prefix}meta", [{"name": "my_wiki", "spec": spec, "generation": 3, "stub": [0, 0]}]
    )
    for n in range(3):
        row, chunks, vectors = document(n, words=6)  # as fill() makes them
        doc = {
            "id": row.id,
            "source": row.source,
            "hash": row.hash,
            "ingested_at": "2026",
            "pages": -1,
            "chunks": 2,
            "stub": [0.0, 0.0],
        }
        client.insert(f"{prefix}d_my_uwiki", [doc])
        rows = [
            {
                "id": 10 * n + i,
                "doc_id": row.id,
                "source": row.source,
                "ord": i,
                "page": -1,
                "heading": c.heading or "",
                "text": c.text,
                "vector": v.tolist(),
            }
            for i, (c, v) in enumerate(zip(chunks, vectors, strict=True))
        ]
        client.insert(f"{prefix}c_my_uwiki", rows)


def test_ragd_index_migrate_layout_moves_an_old_milvus_store_into_the_shared_one(
    milvus_client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    prefix = f"old{next(_prefixes)}_"
    old_layout(milvus_client, prefix)
    uri = next(key[0] for key, client in _clients.items() if client is milvus_client)
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path,
        vector_store="milvus",
        milvus_uri=uri,
        milvus_prefix=prefix,
        _env_file=None,
    )
    try:
        assert (
            index_command(argparse.Namespace(index_command="migrate", layout=True), settings) == 0
        )
        report = capsys.readouterr().out
        assert '"collection": "my_wiki", "documents": 3, "chunks": 6, "moved": true' in report
        store = MilvusStore(milvus_client, prefix)
        ours = {n for n in milvus_client.list_collections() if n.startswith(prefix)}
        assert ours == {f"{prefix}{n}" for n in ("chunks_4", "docs", "terms", "collections")}
        wiki = store.collection("my_wiki", must_exist=True)
        assert wiki.check() == [] and [d.source for d in wiki.documents()] == [
            "doc0.md",
            "doc1.md",
            "doc2.md",
        ]
        assert wiki.snapshot().search(np.eye(4)[2], 1)[0].chunk.source == "doc1.md"
        faiss = FaissStore(tmp_path / "index").collection("my_wiki")
        fill(faiss, [range(0, 3)])
        assert ranked(wiki, "river part") == ranked(faiss, "river part")
    finally:
        for name in milvus_client.list_collections():
            if name.startswith(prefix):
                milvus_client.drop_collection(name)
