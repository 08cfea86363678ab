"""Hybrid retrieval: BM25 generations beside the vectors, fusion, modes, and abstention."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.answer import ABSTAIN_ANSWER
from app.main import create_app
from app.retrieval import Retriever
from app.services import Services
from index.check import check_collection
from index.chunkstore import ChunkRow
from index.collection import Hit
from index.errors import IndexCorrupt
from index.fusion import per_document, reciprocal_rank, weighted
from ingest.pipeline import build_ingestor, discover
from tests.conftest import FakeGenerator, write_files

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


def test_per_document_keeps_the_best_chunks_of_each_document():
    hits = [hit(1, 0.9, "a"), hit(2, 0.8, "a"), hit(3, 0.7, "b"), hit(4, 0.6, "a")]
    assert ids(per_document(hits, 1)) == [1, 3]
    assert ids(per_document(hits, 2)) == [1, 2, 3]
    assert ids(per_document(hits, 0)) == [1, 2, 3, 4]


@pytest.fixture
def ingested(settings, embedder, library, tmp_path: Path) -> Services:
    root = write_files(tmp_path / "d", DOCS)
    build_ingestor(settings, embedder, library).ingest(discover([root]))
    return Services(settings, embedder, FakeGenerator(), library)


def sources(services: Services, query: str, mode: str) -> list[str]:
    retriever = Retriever(services.settings, services.embedder, services.library)
    return [p.chunk.source for p in retriever.retrieve(query, None, 4, mode).passages]  # type: ignore[arg-type]


def test_each_mode_ranks_the_tiny_corpus(ingested):
    assert sources(ingested, "QZV-4471", "keyword") == ["codes.txt"]  # only one chunk has the term
    assert sources(ingested, "how long to bake bread", "dense")[0] == "bread.md"
    hybrid = sources(ingested, "electricity from sunlight", "hybrid")
    assert hybrid[0] == "solar.txt" and set(hybrid) == set(DOCS)


def test_hybrid_is_the_weighted_fusion_of_both_sides(ingested):
    query, retriever = "turbines electricity", Retriever(
        ingested.settings, ingested.embedder, ingested.library
    )
    snapshot = ingested.library.collection("default").snapshot()
    dense = snapshot.search(ingested.embedder.embed([query])[0], 100)
    keyword = snapshot.keyword_search(query, 100)
    expected = [h.chunk.id for h in weighted(dense, keyword, 0.5)]
    got = [p.chunk.id for p in retriever.retrieve(query, None, 4, "hybrid").passages]
    assert got == expected[:4] and got[0] == keyword[0].chunk.id


def test_a_pure_delete_keeps_the_keyword_file_and_masks_the_dead_chunks(ingested, tmp_path):
    collection = ingested.library.collection("default")
    before = collection.manifest()
    assert before.keyword is not None and before.keyword.count == 4
    ingestor = build_ingestor(ingested.settings, ingested.embedder, ingested.library)
    with ingestor.writer() as writer:
        writer.delete(writer.document(source="codes.txt").id)
        writer.commit()
    after = collection.manifest()
    assert after.keyword == before.keyword  # not rebuilt: the file is the same
    assert collection.snapshot().keyword_search("QZV-4471 inverter", 5) == []
    assert check_collection(collection) == []
    more = write_files(tmp_path / "more", {"more.txt": "The QZV-4471 code is in a new document."})
    ingestor.ingest(discover([more]))
    rebuilt = collection.manifest().keyword
    assert rebuilt.file != before.keyword.file and rebuilt.count == 4  # dead chunk gone
    assert [h.chunk.source for h in collection.snapshot().keyword_search("QZV-4471", 5)] == [
        "more.txt"
    ]


def test_a_corrupt_keyword_file_is_reported_and_never_served(ingested):
    collection = ingested.library.collection("default")
    path = collection.folder / collection.manifest().keyword.file
    path.write_bytes(path.read_bytes()[:-10])
    assert any("keyword index" in p and "checksum" in p for p in check_collection(collection))
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
