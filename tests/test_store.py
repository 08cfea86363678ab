"""The VectorStore protocol on both stores: FAISS on disk and Milvus (a real milvus-lite)."""

import numpy as np
import pytest

from app.answering.retrieval import check_model
from index.errors import (
    CollectionNotFound,
    DocumentNotFound,
    EmptyCollection,
    InvalidCollectionName,
    ModelMismatch,
    WriterBusy,
)
from index.protocol import VectorStore
from index.types import DocumentRow, IndexSpec, NewChunk
from tests.fakes import FakeEmbedder

SPEC = IndexSpec("fake", 4, True, "v1")


def doc(source: str, n: int = 2, axis: int = 0) -> tuple[DocumentRow, list[NewChunk], np.ndarray]:
    row = DocumentRow(f"id-{source}", source, f"hash-{source}-{n}", None, n, "2026-01-01")
    texts = [f"{source} says word{i} about topic{axis}" for i in range(n)]
    chunks = [NewChunk(text, page=i or None) for i, text in enumerate(texts)]
    return row, chunks, np.eye(4, dtype=np.float32)[[axis] * n]


def axis(i: int) -> np.ndarray:
    return np.eye(4, dtype=np.float32)[i]


def test_commit_makes_documents_searchable_both_ways(store: VectorStore):
    coll = store.collection("default")
    assert not coll.exists() and coll.state() is None
    with pytest.raises(EmptyCollection, match="ingest PATH --collection default"):
        coll.snapshot()
    with coll.writer(SPEC) as w:
        w.put(*doc("a.md", 2, axis=0))
        w.put(*doc("b.md", 1, axis=1))
        state = w.commit()
    assert (state.documents, state.rows, state.spec) == (2, 3, SPEC)
    snap = coll.snapshot()
    dense = snap.search(axis(1), 5)
    assert dense[0].chunk.source == "b.md" and dense[0].score == pytest.approx(1.0)
    assert [h.chunk.page for h in snap.search(axis(0), 2)] in ([None, 1], [1, None])
    keyword = snap.keyword_search("word1 about", 5)
    assert keyword[0].chunk.text == "a.md says word1 about topic0" and keyword[0].score > 0
    assert snap.keyword_search("zebra", 5) == [] and snap.keyword_search("the", 5) == []
    assert [d.source for d in snap.documents()] == ["a.md", "b.md"]
    assert coll.check() == []


def test_reingesting_a_document_replaces_its_chunks(store: VectorStore):
    coll = store.collection("default")
    with coll.writer(SPEC) as w:
        w.put(*doc("a.md", 3))
        w.commit()
    with coll.writer(SPEC) as w:
        w.put(*doc("a.md", 1, axis=2))
        state = w.commit()
    assert (state.documents, state.rows) == (1, 1)
    hits = coll.snapshot().search(axis(2), 10)
    assert [h.chunk.text for h in hits] == ["a.md says word0 about topic2"]
    assert coll.snapshot().documents()[0].chunks == 1 and coll.check() == []


def test_delete_by_document(store: VectorStore):
    coll = store.collection("default")
    with coll.writer(SPEC) as w:
        w.put(*doc("a.md"))
        w.put(*doc("b.md", axis=1))
        w.commit()
    with coll.writer(SPEC) as w:
        assert w.delete("id-a.md").source == "a.md"
        with pytest.raises(DocumentNotFound):
            w.delete("id-nope")
        state = w.commit()
    assert (state.documents, state.rows) == (1, 2)
    assert {h.chunk.source for h in coll.snapshot().search(axis(0), 10)} == {"b.md"}
    assert coll.snapshot().keyword_search("a.md word0", 10)[0].chunk.source == "b.md"
    assert coll.check() == []


def test_collections_by_name(store: VectorStore):
    assert store.names() == []
    for name in ("alpha", "with-dash", "with_underscore"):
        with store.collection(name).writer(SPEC) as w:
            w.put(*doc(f"{name}.md"))
            w.commit()
    assert store.names() == ["alpha", "with-dash", "with_underscore"]
    hits = store.collection("with-dash").snapshot().search(axis(0), 10)
    assert {h.chunk.source for h in hits} == {"with-dash.md"}  # collections never mix
    with pytest.raises(CollectionNotFound):
        store.collection("missing", must_exist=True)
    with pytest.raises(InvalidCollectionName):
        store.collection("../etc")


def test_model_mismatch_is_refused_with_a_way_out(store: VectorStore):
    coll = store.collection("default")
    with coll.writer(SPEC) as w:
        w.put(*doc("a.md"))
        w.commit()
    other = IndexSpec("other-model", 8, True, "v1")
    with pytest.raises(ModelMismatch, match="ingest --rebuild"):
        coll.writer(other).__enter__()
    with pytest.raises(ModelMismatch, match="fake"):
        check_model(store, FakeEmbedder(dimension=8), "default")  # what queries check
    with coll.writer(other, rebuild=True) as w:
        assert w.documents() == [] and w.document(source="a.md") is None  # all embedded again
        w.put(DocumentRow("id-c", "c.md", "h", None, 1, "now"), [NewChunk("c")], np.ones((1, 8)))
        state = w.commit()
    assert state.spec == other and (state.documents, state.rows) == (1, 1)
    assert coll.snapshot().search(np.ones(8, dtype=np.float32), 5)[0].chunk.source == "c.md"


def test_a_second_writer_in_the_process_is_refused(store: VectorStore):
    coll = store.collection("default")
    with coll.writer(SPEC), pytest.raises(WriterBusy, match="ingest already running"):
        coll.writer(SPEC).__enter__()
    with coll.writer(SPEC) as w:  # released again
        w.put(*doc("a.md"))
        w.commit()
    assert coll.state().rows == 2  # type: ignore[union-attr]


def test_milvus_chunk_ids_derive_from_content_so_upserts_are_idempotent(milvus_client):
    from index.milvus_store.rows import chunk_id
    from index.milvus_store.store import MilvusStore

    coll = MilvusStore(milvus_client, "idem_").collection("default")
    for _ in range(2):  # e.g. two replicas ingesting the same file: last writer wins
        with coll.writer(SPEC) as w:
            w.put(*doc("a.md", 3))
            state = w.commit()
    assert (state.documents, state.rows, state.generation) == (1, 3, 2)
    row, chunks, _ = doc("a.md", 3)
    ids = {h.chunk.id for h in coll.snapshot().search(axis(0), 10)}
    assert ids == {chunk_id("default", row.id, i, c) for i, c in enumerate(chunks)}


def test_milvus_check_finds_what_a_writer_dying_mid_commit_leaves(milvus_client):
    from index.milvus_store.store import MilvusStore

    coll = MilvusStore(milvus_client, "crash_").collection("default")
    with coll.writer(SPEC) as w:
        w.put(*doc("a.md", 2))
        w.commit()
    assert coll.check() == []
    w = coll.writer(SPEC).__enter__()
    w.put(*doc("a.md", 3, axis=1))
    w.put(*doc("b.md", 1))
    pending = w._pending
    bm25 = {"sparse": {1: 0.5}, "length": 1, "norm": 1.0}
    rows = [{**r, **bm25} for _, staged in pending.adds.values() for r in staged]
    w._upsert(coll.chunks, rows)  # died after the chunks, before the rows and the stale deletes
    w.__exit__(None, None, None)
    problems = coll.check()
    assert "a.md: 5 chunks stored, 2 listed" in problems[0]
    assert problems[1] == "1 chunks of 1 unlisted documents"
    assert {h.chunk.source for h in coll.snapshot().search(axis(0), 10)} >= {"a.md"}  # never none
    with coll.writer(SPEC) as w:  # running the same ingest again repairs it
        w.put(*doc("a.md", 3, axis=1))
        w.put(*doc("b.md", 1))
        w.commit()
    assert coll.check() == []
