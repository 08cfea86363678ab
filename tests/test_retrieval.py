"""Hybrid retrieval: BM25 generations beside the vectors, fusion, modes, and abstention."""

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.answering.answer import ABSTAIN_ANSWER
from app.answering.retrieval import Retriever
from app.answering.services import Services
from app.server.main import create_app
from index.errors import IndexCorrupt
from index.faiss_store.check import check_collection
from index.faiss_store.keyword import (
    K1,
    B,
    KeywordIndex,
    count_terms,
    merge_counts,
    query_terms,
    tokenize,
)
from index.faiss_store.manifest import Segment, write_manifest
from index.fusion import per_document, reciprocal_rank, weighted
from index.types import ChunkRow, Hit
from ingest.pipeline import build_ingestor, discover
from tests.fakes import FakeGenerator
from tests.support import write_files

DOCS = {
    "solar.txt": "Solar panels turn sunlight into electricity. Panel efficiency drops with heat.",
    "wind.txt": "Wind turbines turn moving air into electricity on windy coasts.",
    "bread.md": "# Bread\n\nKnead the dough, let it rise, and bake the bread for forty minutes.",
    "codes.txt": "The maintenance code for the XR-7 inverter is QZV-4471.",
}


def hit(chunk_id: int, score: float, doc: str = "") -> Hit:
    doc = doc or f"doc{chunk_id}"
    row = ChunkRow(chunk_id, doc, f"{doc}.txt", 0, f"text {chunk_id}", None, None)
    return Hit(row, score)


def ids(hits: list[Hit]) -> list[int]:
    return [h.chunk.id for h in hits]


def test_reciprocal_rank_fusion_adds_one_over_k_plus_rank():
    dense = [hit(1, 0.9), hit(2, 0.8), hit(3, 0.1)]
    keyword = [hit(3, 12.0), hit(2, 10.0), hit(4, 1.0)]
    fused = reciprocal_rank([dense, keyword], k=1)
    # 2: 1/3 + 1/3; 1: 1/2; 3: 1/4 + 1/2; 4: 1/4
    assert ids(fused) == [3, 2, 1, 4]
    assert fused[0].score == pytest.approx(0.75) and fused[1].score == pytest.approx(2 / 3)


def test_weighted_fusion_min_max_normalizes_each_list():
    dense = [hit(1, 0.9), hit(2, 0.8), hit(3, 0.1)]
    keyword = [hit(3, 12.0), hit(2, 10.0), hit(4, 1.0)]
    fused = weighted(dense, keyword, alpha=0.5)
    # dense -> 1, 0.875, 0; keyword -> 1, 9/11, 0; the chunk both rank well wins
    assert ids(fused) == [2, 1, 3, 4]
    assert fused[0].score == pytest.approx(0.5 * 0.875 + 0.5 * 9 / 11)
    assert ids(weighted(dense, keyword, alpha=1.0))[:3] == [1, 2, 3]


def test_per_document_moves_repeats_behind_the_other_documents():
    docs = ["a", "a", "b", "a", "b"]
    hits = [hit(n, 1 - n / 10, doc) for n, doc in enumerate(docs, 1)]
    assert ids(per_document(hits, 1)) == [1, 3, 2, 5, 4]
    assert ids(per_document(hits, 2)) == [1, 2, 3, 5, 4]
    assert ids(per_document(hits, 0)) == [1, 2, 3, 4, 5]
    only = [hit(n, 1 / n, "a") for n in range(1, 4)]
    assert ids(per_document(only, 1)) == [1, 2, 3]  # one long document still fills k


def _ingested(settings, embedder, store, tmp_path: Path) -> Services:
    root = write_files(tmp_path / "d", DOCS)
    build_ingestor(settings, embedder, store).ingest(discover([root]))
    return Services(settings, embedder, FakeGenerator(), store)


@pytest.fixture
def ingested(settings, embedder, store, tmp_path: Path) -> Services:
    """The tiny corpus in each vector store in turn."""
    return _ingested(settings, embedder, store, tmp_path)


@pytest.fixture
def on_disk(settings, embedder, library, tmp_path: Path) -> Services:
    """The tiny corpus on FAISS, for tests of ragd's own keyword segments."""
    return _ingested(settings, embedder, library, tmp_path)


def sources(services: Services, query: str, mode: str) -> list[str]:
    retriever = Retriever(services.settings, services.embedder, services.store)
    return [p.chunk.source for p in retriever.retrieve(query, None, 4, mode).passages]  # type: ignore[arg-type]


def test_each_mode_ranks_the_tiny_corpus(ingested):
    assert sources(ingested, "QZV-4471", "keyword") == ["codes.txt"]  # only one chunk has the term
    assert sources(ingested, "how long to bake bread", "dense")[0] == "bread.md"
    hybrid = sources(ingested, "electricity from sunlight", "hybrid")
    assert hybrid[0] == "solar.txt" and set(hybrid) == set(DOCS)


def test_hybrid_is_the_weighted_fusion_of_both_sides(ingested):
    query, retriever = (
        "turbines electricity",
        Retriever(ingested.settings, ingested.embedder, ingested.store),
    )
    snapshot = ingested.store.collection("default").snapshot()
    dense = snapshot.search(ingested.embedder.embed([query])[0], 100)
    keyword = snapshot.keyword_search(query, 100)
    expected = [h.chunk.id for h in weighted(dense, keyword, 0.5)]
    got = [p.chunk.id for p in retriever.retrieve(query, None, 4, "hybrid").passages]
    assert got == expected[:4] and got[0] == keyword[0].chunk.id


def test_a_pure_delete_keeps_the_keyword_segments_and_masks_the_dead_chunks(on_disk, tmp_path):
    collection = on_disk.store.collection("default")
    before = collection.manifest().keyword
    assert [s.count for s in before] == [4]
    ingestor = build_ingestor(on_disk.settings, on_disk.embedder, on_disk.store)
    with ingestor.writer() as writer:
        writer.delete(writer.document(source="codes.txt").id)
        writer.commit()
    assert collection.manifest().keyword == before  # nothing rewritten
    assert collection.snapshot().keyword_search("QZV-4471 inverter", 5) == []
    assert check_collection(collection) == []
    more = write_files(tmp_path / "more", {"more.txt": "The QZV-4471 code is in a new document."})
    ingestor.ingest(discover([more]))
    after = collection.manifest().keyword
    assert after[0] == before[0] and [s.count for s in after] == [4, 1]  # one segment per add
    found = collection.snapshot().keyword_search("QZV-4471", 5)
    assert [h.chunk.source for h in found] == ["more.txt"]
    assert check_collection(collection) == []


def lucene_bm25(texts: dict[int, str], word: str) -> dict[int, float]:
    """Lucene's BM25 of one query word, worked out here from the chunk texts alone."""
    tokens, vocab = tokenize(list(texts.values()))
    term = vocab[next(iter(query_terms(word)))]
    mean = sum(len(t) for t in tokens) / len(tokens)
    tf = {cid: row.count(term) for cid, row in zip(texts, tokens, strict=True)}
    length = {cid: len(row) for cid, row in zip(texts, tokens, strict=True)}
    df = sum(1 for n in tf.values() if n)
    idf = math.log(1 + (len(texts) - df + 0.5) / (df + 0.5))
    norm = {cid: K1 * (1 - B + B * length[cid] / mean) for cid in texts}
    return {cid: idf * n / (n + norm[cid]) for cid, n in tf.items() if n}


def live_texts(collection) -> dict[int, str]:  # type: ignore[no-untyped-def]
    snap = collection.snapshot()
    live = snap.chunk_store.live_ids(snap.generation).tolist()
    return {cid: row.text for cid, row in snap.chunk_store.chunks(snap.generation, live).items()}


def test_keyword_scores_are_lucene_bm25_over_the_live_chunks(on_disk):
    collection = on_disk.store.collection("default")
    found = {h.chunk.id: h.score for h in collection.snapshot().keyword_search("electricity", 5)}
    assert len(found) == 2  # solar.txt and wind.txt
    assert found == pytest.approx(lucene_bm25(live_texts(collection), "electricity"))
    with build_ingestor(on_disk.settings, on_disk.embedder, on_disk.store).writer() as writer:
        writer.delete(writer.document(source="bread.md").id)
        writer.commit()
    # One chunk fewer: idf, the mean length and so every score change, with nothing rewritten.
    after = {h.chunk.id: h.score for h in collection.snapshot().keyword_search("electricity", 5)}
    assert after == pytest.approx(lucene_bm25(live_texts(collection), "electricity"))
    assert after != pytest.approx(found)


def test_a_corrupt_keyword_segment_is_reported_and_never_served(on_disk):
    collection = on_disk.store.collection("default")
    path = collection.folder / collection.manifest().keyword[0].file
    path.write_bytes(path.read_bytes()[:-10])
    assert any("keyword segment" in p and "checksum" in p for p in check_collection(collection))
    fresh = type(collection)(collection.folder)  # a new reader: no loaded generation to reuse
    with pytest.raises(IndexCorrupt, match="rebuild"):
        fresh.snapshot()


def test_search_mode_is_chosen_per_request(ingested):
    with TestClient(create_app(services=ingested)) as client:
        for mode in ("hybrid", "dense", "keyword"):
            response = client.post("/api/search", json={"query": "QZV-4471", "mode": mode})
            assert response.status_code == 200
            assert response.json()["results"][0]["source"] == "codes.txt", mode
        assert client.post("/api/search", json={"query": "q", "mode": "magic"}).status_code == 422


def test_weak_evidence_abstains_without_calling_the_model(ingested):
    ingested.settings.abstain_below = 0.99
    with TestClient(create_app(services=ingested)) as client:
        body = client.post("/api/ask", json={"question": "Who painted the Mona Lisa?"}).json()
        assert body["answer"] == ABSTAIN_ANSWER and body["answerable"] is False
        assert body["sources"] and not any(s["cited"] for s in body["sources"])
        assert body["evidence"] < 0.99
        streamed = {"question": "Mona Lisa?", "stream": True}
        with client.stream("POST", "/api/ask", json=streamed) as r:
            text = "".join(r.iter_lines())
        assert ABSTAIN_ANSWER in text
    assert ingested.generator.prompts == []  # type: ignore[attr-defined]


def test_strong_evidence_answers(ingested):
    ingested.settings.abstain_below = 0.1
    with TestClient(create_app(services=ingested)) as client:
        body = client.post("/api/ask", json={"question": "maintenance code XR-7 inverter"}).json()
    assert body["answerable"] is True and body["evidence"] >= 0.1


def test_merged_segments_score_exactly_as_the_separate_ones():
    texts = [f"{w} common words here {w} {w}" for w in ("alpha", "beta", "gamma", "delta", "eps")]
    first, second = count_terms([1, 2, 3], texts[:3]), count_terms([4, 5], texts[3:])
    live = np.array([1, 3, 4, 5])  # chunk 2 was deleted
    separate = KeywordIndex({_entry("a"): first, _entry("b"): second}, live)
    alive = [np.isin(s.chunk_ids, live) for s in (first, second)]
    merged = merge_counts([(first, alive[0]), (second, alive[1])])
    assert list(merged.chunk_ids) == [1, 3, 4, 5]
    together = KeywordIndex({_entry("m"): merged}, live)
    for query in ("alpha common", "delta words", "beta"):
        a, b = separate.search(query, 5), together.search(query, 5)
        assert list(a[0]) == list(b[0]) and np.allclose(a[1], b[1]), query
    assert separate.search("beta", 5)[0].size == 0  # only the dead chunk had it


def test_compaction_merges_the_keyword_segments_with_the_vectors(on_disk, tmp_path, monkeypatch):
    monkeypatch.setattr("index.faiss_store.writer.MAX_SEGMENTS", 2)
    ingestor = build_ingestor(on_disk.settings, on_disk.embedder, on_disk.store)
    for n in range(3):
        root = write_files(tmp_path / f"batch{n}", {f"n{n}.txt": f"Batch {n} talks of QZV-4471."})
        ingestor.ingest(discover([root]))
    collection = on_disk.store.collection("default")
    manifest = collection.manifest()
    assert len(manifest.segments) == len(manifest.keyword) <= 2
    assert sum(s.count for s in manifest.keyword) == manifest.rows
    found = {h.chunk.source for h in collection.snapshot().keyword_search("QZV-4471", 10)}
    assert found == {"codes.txt", "n0.txt", "n1.txt", "n2.txt"}
    assert check_collection(collection) == []


def test_a_collection_from_before_keyword_search_gains_it_on_its_next_commit(on_disk):
    collection = on_disk.store.collection("default")
    manifest = collection.manifest()
    write_manifest(collection.folder, replace(manifest, keyword=()))
    assert collection.snapshot().keyword_search("QZV-4471", 5) == []
    assert "no keyword index" in " ".join(check_collection(collection))
    with build_ingestor(on_disk.settings, on_disk.embedder, on_disk.store).writer() as w:
        w.commit()
    assert [s.count for s in collection.manifest().keyword] == [4]
    assert collection.snapshot().keyword_search("QZV-4471", 5)[0].chunk.source == "codes.txt"


def _entry(name: str) -> Segment:
    return Segment(file=name, sha256=name, count=0)
