"""Metadata filters on both stores: applied before ranking (k results when k match), the
same top-k as exact search over the subset, every operator against the reference semantics."""

from __future__ import annotations

import numpy as np
import pytest

from index.errors import InvalidFilter
from index.filters import field_values, matches, parse
from index.protocol import StoreCollection, VectorStore
from index.types import DocumentRow, IndexSpec, NewChunk

DIM = 16
SPEC = IndexSpec("synthetic", DIM)


def _doc(i: int, chunks: int, **meta: object) -> DocumentRow:
    base = {"type": "txt", "size": 100 * i, "modified": f"2023-{1 + i % 12:02d}-15T10:00:00+00:00"}
    fields = {**base, **meta}
    return DocumentRow(
        id=f"d{i:05d}",
        source=str(fields.pop("source", f"notes/n{i}.txt")),
        hash=f"h{i}",
        pages=fields.pop("pages", None),  # type: ignore[arg-type]
        chunks=chunks,
        ingested_at="2024-06-01T00:00:00+00:00",
        **fields,  # type: ignore[arg-type]
    )


def _fill(collection: StoreCollection, docs: list[DocumentRow], seed: int = 0) -> np.ndarray:
    """Commit `docs` with random unit vectors; returns every vector, in the order put."""
    rng = np.random.default_rng(seed)
    everything = []
    with collection.writer(SPEC) as writer:
        for doc in docs:
            vectors = rng.normal(size=(doc.chunks, DIM)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            chunks = [NewChunk(f"{doc.source} part {n} word{n % 7}") for n in range(doc.chunks)]
            writer.put(doc, chunks, vectors)
            everything.append(vectors)
        writer.commit()
    return np.concatenate(everything)


@pytest.fixture
def big(store: VectorStore) -> StoreCollection:
    """10,000 chunks: 5 in legal/contract.pdf, the rest in 199 notes of 50 chunks each."""
    docs = [_doc(0, 5, source="legal/contract.pdf", type="pdf", tags={"year": "2024"})]
    docs += [_doc(i, 50) for i in range(1, 200)]
    collection = store.collection("big")
    _fill(collection, docs)
    return collection


def test_a_filter_matching_5_of_10000_chunks_returns_those_5(big: StoreCollection):
    query = np.ones(DIM, dtype=np.float32) / np.sqrt(DIM)
    where = parse({"field": "type", "eq": "pdf"})
    hits = big.snapshot().search(query, 10, where)
    assert len(hits) == 5
    assert {h.chunk.source for h in hits} == {"legal/contract.pdf"}
    keyword = big.snapshot().keyword_search("part", 10, where)
    assert {h.chunk.source for h in keyword} == {"legal/contract.pdf"} and len(keyword) == 5


def test_a_selective_filter_returns_k_when_k_match(big: StoreCollection):
    query = np.ones(DIM, dtype=np.float32) / np.sqrt(DIM)
    where = parse({"field": "source", "in": ["notes/n7.txt", "notes/n8.txt"]})  # 100 chunks
    hits = big.snapshot().search(query, 20, where)
    assert len(hits) == 20
    assert {h.chunk.source for h in hits} <= {"notes/n7.txt", "notes/n8.txt"}
    assert big.snapshot().search(query, 20, parse({"field": "source", "eq": "none"})) == []


@pytest.mark.parametrize("share", [5, 500, 4000, 9000])
def test_filtered_search_equals_exact_search_over_the_subset(tmp_path, share: int):
    """FAISS: every path (scored subset, ID selector) gives exact search's top-k."""
    from index.faiss_store.store import FaissStore

    notes = share // 50
    docs = [_doc(i, 50, type="md" if i < notes else "txt") for i in range(200)]
    if share < 50:
        docs[0] = _doc(0, share, type="md")
    collection = FaissStore(tmp_path).collection("exact")
    vectors = _fill(collection, docs, seed=share)
    subset = vectors[: max(share, 5) if share < 50 else notes * 50]
    query = np.random.default_rng(1).normal(size=DIM).astype(np.float32)
    hits = collection.snapshot().search(query, 10, parse({"field": "type", "eq": "md"}))
    expected = np.sort(subset @ query)[::-1][:10]
    assert np.allclose([h.score for h in hits], expected, atol=1e-5)


DOCS = [
    _doc(
        1,
        2,
        source="legal/2024/a.pdf",
        type="pdf",
        pages=12,
        size=5000,
        modified="2024-03-05T08:00:00+00:00",
        title="Lease",
        tags={"client": "acme"},
    ),
    _doc(
        2,
        2,
        source="legal/2023/b.pdf",
        type="pdf",
        pages=3,
        size=800,
        modified="2023-12-31T23:30:00+00:00",
        title="Loan",
        tags={"client": "globex"},
    ),
    _doc(
        3,
        2,
        source="slides/q1.pptx",
        type="pptx",
        pages=30,
        size=90000,
        modified="2024-01-01T00:00:00+00:00",
        tags={"team": "sales"},
    ),
    _doc(4, 2, source="notes/todo.md", type="md", size=120, modified="2024-03-05T23:59:59+00:00"),
    _doc(5, 2, source="notes/my_file.md", type="md", size=64, modified="2022-07-01T00:00:00+00:00"),
]
FILTERS = {
    "eq": {"field": "type", "eq": "pdf"},
    "ne": {"field": "type", "ne": "pdf"},
    "in": {"field": "type", "in": ["pptx", "md"]},
    "prefix": {"field": "source", "prefix": "legal/"},
    "glob": {"field": "source", "glob": "legal/*/?.pdf"},
    "glob_underscore_is_literal": {"field": "source", "glob": "notes/my_*"},
    "number_gt": {"field": "size", "gt": 800},
    "number_gte": {"field": "size", "gte": 800},
    "number_lt": {"field": "pages", "lt": 12},
    "number_lte": {"field": "pages", "lte": 12},
    "number_eq_missing_page": {"field": "pages", "eq": 3},
    "date_day": {"field": "modified", "eq": "2024-03-05"},
    "date_gte": {"field": "modified", "gte": "2024-01-01"},
    "date_lte": {"field": "modified", "lte": "2023-12-31"},
    "date_gt_time": {"field": "modified", "gt": "2024-03-05T08:00:00Z"},
    "date_in": {"field": "modified", "in": ["2024-01-01", "2022-07-01"]},
    "ingested": {"field": "ingested", "gte": "2024-06-01"},
    "title": {"field": "title", "eq": "Loan"},
    "tag_eq": {"field": "tags.client", "eq": "acme"},
    "tag_ne_includes_untagged": {"field": "tags.client", "ne": "acme"},
    "tag_in": {"field": "tags.client", "in": ["acme", "globex"]},
    "and": {"and": [{"field": "type", "eq": "pdf"}, {"field": "modified", "gte": "2024-01-01"}]},
    "or": {"or": [{"field": "tags.team", "eq": "sales"}, {"field": "size", "lt": 100}]},
    "not": {"not": {"field": "source", "prefix": "notes/"}},
    "nested": {
        "or": [
            {"and": [{"field": "type", "eq": "md"}, {"not": {"field": "size", "gt": 100}}]},
            {"field": "pages", "gte": 30},
        ]
    },
}
EXPECTED = {
    "eq": {1, 2},
    "ne": {3, 4, 5},
    "in": {3, 4, 5},
    "prefix": {1, 2},
    "glob": {1, 2},
    "glob_underscore_is_literal": {5},
    "number_gt": {1, 3},
    "number_gte": {1, 2, 3},
    "number_lt": {2},
    "number_lte": {1, 2},
    "number_eq_missing_page": {2},
    "date_day": {1, 4},
    "date_gte": {1, 3, 4},
    "date_lte": {2, 5},
    "date_gt_time": {4},
    "date_in": {3, 5},
    "ingested": {1, 2, 3, 4, 5},
    "title": {2},
    "tag_eq": {1},
    "tag_ne_includes_untagged": {2, 3, 4, 5},
    "tag_in": {1, 2},
    "and": {1},
    "or": {3, 5},
    "not": {1, 2, 3},
    "nested": {3, 5},
}


@pytest.fixture
def varied(store: VectorStore) -> StoreCollection:
    collection = store.collection("varied")
    _fill(collection, DOCS)
    return collection


def test_every_operator_selects_what_the_reference_semantics_say(varied: StoreCollection):
    snapshot = varied.snapshot()
    query = np.ones(DIM, dtype=np.float32)
    for name, raw in FILTERS.items():
        where = parse(raw)
        reference = {int(d.id[1:]) for d in DOCS if matches(where, field_values(d))}
        found = {int(h.chunk.doc_id[1:]) for h in snapshot.search(query, 50, where)}
        assert reference == EXPECTED[name], name
        assert found == EXPECTED[name], name


def test_tags_edited_in_place_are_filtered_on_at_once(varied: StoreCollection):
    query = np.ones(DIM, dtype=np.float32)
    where = parse({"field": "tags.client", "eq": "initech"})
    assert varied.snapshot().search(query, 10, where) == []
    doc = varied.set_tags("d00004", {"client": "initech"})
    assert doc.tags == {"client": "initech"}
    assert {h.chunk.doc_id for h in varied.snapshot().search(query, 10, where)} == {"d00004"}
    listed = {d.id: d for d in varied.snapshot().documents()}
    assert listed["d00004"].tags == {"client": "initech"} and listed["d00001"].type == "pdf"


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"field": "colour", "eq": "red"}, "unknown field 'colour'"),
        ({"field": "size", "glob": "1*"}, "operator 'glob' does not apply to 'size'"),
        ({"field": "size", "gt": "big"}, "expected a number"),
        ({"field": "modified", "gte": "yesterday"}, "not an ISO 8601 date"),
        ({"field": "type", "eq": "pdf", "ne": "md"}, "exactly one operator"),
        ({"and": []}, "non-empty list"),
        ({"xor": [{"field": "type", "eq": "pdf"}]}, "one of and / or / not"),
        ({"field": "tags.bad key", "eq": "x"}, "tag names"),
        ({"field": "source", "glob": "[ab]*"}, "glob patterns know * and ? only"),
        ({"field": "type", "in": []}, "list of 1 to"),
        ({"and": [{"field": "type", "eq": "pdf"}] * 70}, "filter too large"),
        ("type = pdf", "expected an object"),
    ],
)
def test_invalid_filters_say_what_is_wrong(raw: object, says: str):
    with pytest.raises(InvalidFilter, match=None) as caught:
        parse(raw)
    assert says in str(caught.value)
