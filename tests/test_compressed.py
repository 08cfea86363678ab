"""Large collections (issue 19): IVF-PQ codes re-ranked by exact vectors read from disk, an
old index still opening, and BM25 from memory-mapped postings scoring as before.

Real FAISS files on disk through the real Writer; the size threshold is lowered so a few
thousand vectors count as large.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from index.faiss_store.collection import Collection
from index.faiss_store.compressed import CompressedIndex
from index.faiss_store.keyword import KeywordIndex, count_terms, query_terms, read_keyword
from index.faiss_store.manifest import MANIFEST
from index.faiss_store.store import FaissStore
from index.faiss_store.vectors import AnnPolicy, VectorIndex, current_policy, set_ann_policy
from index.faiss_store.writer import Writer
from index.types import DocumentRow, IndexSpec, NewChunk

DIM = 32
SPEC = IndexSpec("test-model", DIM, True, 2, "test")
WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()


@pytest.fixture
def policy() -> Iterator[None]:
    """Codes from 2,000 vectors, every list probed: candidates cover the exact top k."""
    before = current_policy()
    set_ann_policy(AnnPolicy(min_vectors=2000, nprobe=1, rerank=20, probe_share=1.0))
    yield
    set_ann_policy(before)


def clustered(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(7).standard_normal((40, DIM))
    v = centres[rng.integers(0, 40, n)] + 0.3 * rng.standard_normal((n, DIM))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, 12)) for _ in range(n)]


def put(writer: Writer, first_doc: int, docs: int, seed: int, per_doc: int = 100) -> None:
    vectors, words = clustered(docs * per_doc, seed), texts(docs * per_doc, seed)
    for d in range(docs):
        doc = first_doc + d
        row = DocumentRow(f"d{doc}", f"d{doc}.txt", f"h{doc}", None, per_doc, "2026")
        part = slice(d * per_doc, (d + 1) * per_doc)
        writer.put(row, [NewChunk(t) for t in words[part]], vectors[part])


def build(root: Path, batches: int = 2, docs: int = 15) -> Collection:
    collection = FaissStore(root).collection("c")
    with Writer(collection, SPEC) as writer:
        for b in range(batches):
            put(writer, b * docs, docs, seed=b)
            writer.commit()
    return collection


def test_compressed_search_with_covering_candidates_returns_the_exact_top_k(tmp_path, policy):
    snapshot = build(tmp_path).snapshot()
    assert isinstance(snapshot.vectors, CompressedIndex) and snapshot.manifest.ann
    for query in clustered(30, 99):
        ids, scores = snapshot.vectors.search(query, 10)
        exact_ids, exact_scores = snapshot.vectors.exact_search(query, 10)
        assert ids.tolist() == exact_ids[0].tolist()
        assert np.allclose(scores, exact_scores[0])


def test_compressed_exact_search_agrees_with_the_in_memory_flat_index(tmp_path, policy):
    snapshot = build(tmp_path).snapshot()
    flat = VectorIndex(DIM, AnnPolicy(min_vectors=10**9))
    flat.add(snapshot.vectors.ids(), snapshot.vectors.vectors())
    query = clustered(1, 5)[0]
    ids, scores = snapshot.vectors.exact_search(query, 20)
    flat_ids, flat_scores = flat.exact_search(query, 20)
    assert ids[0].tolist() == flat_ids[0].tolist()
    assert np.allclose(scores, flat_scores)


def test_compressed_filtered_search_stays_inside_the_subset(tmp_path, policy):
    vectors = build(tmp_path, docs=50).snapshot().vectors  # 10,000: a subset past EXACT_SUBSET
    among = np.sort(vectors.ids())[::1][:9000]
    query = clustered(1, 6)[0]
    ids, _ = vectors.search_among(query, 10, among)
    scores = vectors.vectors()[np.isin(vectors.ids(), among)] @ query
    assert set(ids.tolist()) <= set(among.tolist()) and len(ids) == 10
    assert np.isclose(_best(vectors, ids, query), np.sort(scores)[-1])


def _best(vectors: CompressedIndex | VectorIndex, ids: np.ndarray, query: np.ndarray) -> float:
    rows = np.isin(vectors.ids(), ids[:1])
    return float((vectors.vectors()[rows] @ query)[0])


def test_the_index_keeps_float_vectors_on_disk_not_in_memory(tmp_path, policy):
    vectors = build(tmp_path).snapshot().vectors
    assert isinstance(vectors, CompressedIndex) and vectors.on_disk
    held = [a for a in vars(vectors).values() if isinstance(a, np.ndarray)]
    held += [a for part in vectors.parts for a in vars(part).values() if isinstance(a, np.ndarray)]
    assert all(a.dtype != np.float32 for a in held)  # ids and positions only: no vectors
    assert sum(a.nbytes for a in held) < len(vectors) * DIM * 4 / 4


def test_deleted_chunks_leave_the_codes_and_added_ones_join_them(tmp_path, policy):
    collection = build(tmp_path)
    query = clustered(1, 8)[0]
    best = collection.snapshot().search(query, 1)[0].chunk
    with Writer(collection, SPEC) as writer:
        writer.delete(best.doc_id)
        put(writer, 100, 1, seed=9)
        writer.commit()
    snapshot = collection.snapshot()
    ann = snapshot.manifest.ann[0]
    assert ann.count == snapshot.manifest.rows == 3000  # 3,000 - 100 deleted + 100 added
    ids, _ = snapshot.vectors.search(query, 10)
    assert best.id not in ids.tolist()
    assert ids.tolist() == snapshot.vectors.exact_search(query, 10)[0][0].tolist()


def test_an_index_written_before_codes_opens_in_memory_then_gains_them(tmp_path, policy):
    set_ann_policy(AnnPolicy(min_vectors=10**9))  # the old writer: no codes
    collection = build(tmp_path)
    manifest = json.loads((collection.folder / MANIFEST).read_text())
    del manifest["ann"]  # as an older ragd wrote it
    (collection.folder / MANIFEST).write_text(json.dumps(manifest))
    reopened = FaissStore(tmp_path).collection("c")
    before = reopened.snapshot()
    assert isinstance(before.vectors, VectorIndex) and not before.manifest.ann
    query = clustered(1, 10)[0]
    expected = [h.chunk.id for h in before.exact_search(query, 10)]
    set_ann_policy(AnnPolicy(min_vectors=2000, nprobe=1, rerank=20, probe_share=1.0))
    with Writer(reopened, SPEC) as writer:
        writer.delete("d0")
        writer.commit()  # the next commit writes the codes
    after = reopened.snapshot()
    assert isinstance(after.vectors, CompressedIndex) and after.manifest.ann
    assert [h.chunk.id for h in after.search(query, 10)] == [i for i in expected if i >= 100][:10]


def _mapping(array: np.ndarray) -> object:
    """What an array's memory finally belongs to."""
    while isinstance(array, np.ndarray) and array.base is not None:
        array = array.base
    return array


def reference_bm25(index: KeywordIndex, terms: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """The scorer before issue 19: postings by chunk id, summed with np.unique / np.add.at."""
    ids, parts = [], []
    for term, weight in terms.items():
        found = []
        for segment, alive in index._masks:
            rows, counts, lengths = segment.postings(term, alive)
            found.append((segment.chunk_ids[rows], counts, lengths))
        chunk_ids = np.concatenate([f[0] for f in found])
        if len(chunk_ids):
            ids.append(chunk_ids)
            parts.append(weight * index._term_score([(f[0], f[1], f[2]) for f in found]))
    unique, where = np.unique(np.concatenate(ids), return_inverse=True)
    totals = np.zeros(len(unique), dtype=np.float64)
    np.add.at(totals, where, np.concatenate(parts))
    return unique, totals.astype(np.float32)


def test_bm25_from_mapped_postings_scores_exactly_as_the_old_scorer(tmp_path, policy):
    collection = build(tmp_path, batches=3, docs=5)
    with Writer(collection, SPEC) as writer:
        writer.delete("d3")  # dead rows inside a segment
        writer.commit()
    snapshot = collection.snapshot()
    keyword = snapshot.keyword
    assert keyword is not None and len(keyword.segments) == 3
    segments = list(keyword.segments.values())
    assert all(isinstance(_mapping(s.rows), mmap.mmap) for s in segments)
    assert all(s.file is not None for s in segments)  # postings read from the file
    for query in ("alpha beta beta", "gamma zeta kappa mu alpha", "theta", "iota iota eta"):
        terms = query_terms(query)
        ids, scores = keyword.scores(terms)
        old_ids, old_scores = reference_bm25(keyword, terms)
        assert ids.tolist() == old_ids.tolist()
        assert np.array_equal(scores, old_scores)  # bit for bit, not approximately
        top = np.lexsort((old_ids, -old_scores))[:7]
        found, found_scores = keyword.search(query, 7)
        assert found.tolist() == old_ids[top].tolist()
        assert np.array_equal(found_scores, old_scores[top])
        among = np.sort(old_ids[::3])
        inside = np.isin(old_ids, among)
        top = np.lexsort((old_ids[inside], -old_scores[inside]))[:7]
        assert keyword.search(query, 7, among=among)[0].tolist() == old_ids[inside][top].tolist()


def test_a_mapped_keyword_segment_reads_the_same_arrays_as_one_loaded_whole(tmp_path):
    from index.faiss_store.keyword import from_bytes, to_bytes, write_keyword

    counts = count_terms(np.arange(50), texts(50, 3))
    segment = write_keyword(tmp_path, "kw.bm25", counts)
    mapped, loaded = read_keyword(tmp_path, segment), from_bytes(to_bytes(counts))
    for name in ("chunk_ids", "lengths", "indptr", "rows", "counts"):
        assert np.array_equal(getattr(mapped, name), getattr(loaded, name))
    assert mapped.terms == loaded.terms


def test_a_backup_carries_the_codes_and_checks_out(tmp_path, policy):
    from index.faiss_store.backup import backup_collection
    from index.faiss_store.check import check_collection

    collection = build(tmp_path / "live")
    manifest = backup_collection(collection, tmp_path / "copy")
    assert (tmp_path / "copy" / manifest.ann[0].file).exists()
    copy = Collection(tmp_path / "copy")
    assert check_collection(copy) == []
    copy.chunk_store.close()


def test_altered_codes_fail_the_check_and_readers_fall_back_a_generation(tmp_path, policy):
    from index.faiss_store.check import check_collection

    collection = build(tmp_path)
    path = collection.folder / collection.manifest().ann[0].file
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert any("ANN index" in p and "checksum" in p for p in check_collection(collection))
    fresh = FaissStore(tmp_path).collection("c")
    assert fresh.snapshot().generation == collection.manifest().generation - 1


def test_a_new_generation_checksums_only_its_new_segments(tmp_path, policy, monkeypatch):
    import index.faiss_store.compressed as compressed

    collection = build(tmp_path)
    collection.snapshot()
    opened: list[str] = []
    real = compressed.open_segment
    monkeypatch.setattr(
        compressed, "open_segment", lambda f, s, d: opened.append(s.file) or real(f, s, d)
    )
    with Writer(FaissStore(tmp_path).collection("c"), SPEC) as writer:
        put(writer, 200, 1, seed=11)
        writer.commit()
    opened.clear()  # the writer opens each segment once too
    snapshot = collection.snapshot()
    assert opened == [snapshot.manifest.segments[-1].file]
