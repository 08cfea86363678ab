"""The index: generations, the writer lock, crash recovery, corruption and model checks."""

import numpy as np
import pytest

from index.errors import EmptyCollection, IndexCorrupt, ModelMismatch, WriterBusy
from index.faiss_store.check import check_collection
from index.faiss_store.manifest import PREVIOUS, read_manifest
from index.faiss_store.store import FaissStore
from index.faiss_store.writer import Writer
from index.types import DocumentRow, IndexSpec, NewChunk

SPEC = IndexSpec("fake", 4, True, "v1")


def doc(source: str, n: int = 2) -> tuple[DocumentRow, list[NewChunk], np.ndarray]:
    row = DocumentRow(f"id-{source}", source, f"hash-{source}", None, n, "2026-01-01")
    chunks = [NewChunk(f"{source} chunk {i}") for i in range(n)]
    vectors = np.eye(4, dtype=np.float32)[[hash(source) % 4] * n]
    return row, chunks, vectors


def test_commit_makes_documents_searchable(library: FaissStore):
    coll = library.collection("default")
    with pytest.raises(EmptyCollection):
        coll.snapshot()
    with Writer(coll, SPEC) as w:
        w.put(*doc("a.md"))
        manifest = w.commit()
    assert manifest.generation == 1 and manifest.rows == manifest.vectors == 2
    hits = coll.snapshot().search(np.eye(4, dtype=np.float32)[hash("a.md") % 4], 5)
    assert {h.chunk.source for h in hits} == {"a.md"}
    assert check_collection(coll) == []


def test_replacing_a_document_retires_its_old_chunks(library: FaissStore):
    coll = library.collection("default")
    with Writer(coll, SPEC) as w:
        w.put(*doc("a.md", 3))
        w.commit()
        w.put(*doc("a.md", 1))
        manifest = w.commit()
    assert (manifest.documents, manifest.rows) == (1, 1)
    assert len(coll.snapshot().vectors) == 1
    assert check_collection(coll) == []


def test_delete_needs_no_vectors_and_keeps_counts_consistent(library: FaissStore):
    coll = library.collection("default")
    with Writer(coll, SPEC) as w:
        w.put(*doc("a.md"))
        w.put(*doc("b.md"))
        w.commit()
        w.delete("id-a.md")
        manifest = w.commit()
    assert [d.source for d in coll.snapshot().documents()] == ["b.md"]
    assert manifest.rows == 2 and check_collection(coll) == []


def test_second_writer_is_refused(library: FaissStore):
    coll = library.collection("default")
    with Writer(coll, SPEC), pytest.raises(WriterBusy, match="ingest already running"):
        Writer(coll, SPEC).__enter__()


def test_uncommitted_rows_are_invisible_and_rolled_back(library: FaissStore):
    coll = library.collection("default")
    with Writer(coll, SPEC) as w:
        w.put(*doc("a.md"))
        w.commit()
    coll.chunk_store.apply(
        2, [], [(doc("b.md")[0], doc("b.md")[1])]
    )  # a writer died before its manifest
    assert [d.source for d in coll.snapshot().documents()] == ["a.md"]
    with Writer(coll, SPEC) as w:
        assert [d.source for d in w.documents()] == ["a.md"]
    assert coll.chunk_store.counts(2) == (1, 2)


def test_model_mismatch_is_refused_with_a_way_out(library: FaissStore):
    coll = library.collection("default")
    with Writer(coll, SPEC) as w:
        w.put(*doc("a.md"))
        w.commit()
    other = IndexSpec("other-model", 4, True, "v1")
    with pytest.raises(ModelMismatch, match="ingest --rebuild"):
        Writer(coll, other).__enter__()
    with Writer(coll, other, rebuild=True) as w:
        manifest = w.commit()
    assert manifest.spec == other and manifest.rows == 0


def test_corrupt_segment_serves_the_previous_generation(library: FaissStore):
    coll = library.collection("default")
    with Writer(coll, SPEC) as w:
        w.put(*doc("a.md"))
        w.commit()
        w.put(*doc("b.md"))
        manifest = w.commit()
    newest = coll.folder / manifest.segments[-1].file
    newest.write_bytes(newest.read_bytes()[:-10])  # truncated
    problems = check_collection(coll)
    assert problems and "checksum" in problems[0]
    fresh = FaissStore(library.root).collection("default")
    assert fresh.snapshot().generation == 1  # the fallback, not a crash
    (coll.folder / PREVIOUS).unlink()
    with pytest.raises(IndexCorrupt, match="checksum"):
        FaissStore(library.root).collection("default").snapshot()


def test_manifest_disagreeing_with_the_store_is_detected(library: FaissStore):
    coll = library.collection("default")
    with Writer(coll, SPEC) as w:
        w.put(*doc("a.md"))
        w.commit()
    text = (coll.folder / "manifest.json").read_text().replace('"rows": 2', '"rows": 5')
    (coll.folder / "manifest.json").write_text(text)
    assert any("chunk rows" in p for p in check_collection(coll))
    assert read_manifest(coll.folder) is not None


def test_many_commits_are_compacted(library: FaissStore):
    coll = library.collection("default")
    with Writer(coll, SPEC) as w:
        for i in range(20):
            w.put(*doc(f"{i}.md"))
            w.commit()
        manifest = w.commit()
    assert len(manifest.segments) <= 16
    assert len(list(coll.folder.glob("*.faiss"))) <= 32
    assert check_collection(coll) == [] and len(coll.snapshot().vectors) == 40
