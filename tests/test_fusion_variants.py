"""Fusion variants: weighted reciprocal rank and z-score linear fusion, on fixed lists."""

import pytest

from app.answering.retrieval import Retriever
from index.fusion import min_max, reciprocal_rank, weighted, z_score
from index.types import ChunkRow, Hit
from ingest.pipeline import build_ingestor, discover
from tests.support import write_files


def hit(chunk_id: int, score: float) -> Hit:
    row = ChunkRow(chunk_id, f"doc{chunk_id}", f"doc{chunk_id}.txt", 0, "text", None, None)
    return Hit(row, score)


DENSE = [hit(1, 0.9), hit(2, 0.8), hit(3, 0.1)]
KEYWORD = [hit(3, 12.0), hit(2, 10.0), hit(4, 1.0)]


def ids(hits: list[Hit]) -> list[int]:
    return [h.chunk.id for h in hits]


def test_weighted_reciprocal_rank_scales_each_lists_share():
    fused = reciprocal_rank([DENSE, KEYWORD], k=1, weights=[0.75, 0.25])
    # 1: .75/2; 2: .75/3 + .25/3; 3: .75/4 + .25/2; 4: .25/4
    assert ids(fused) == [1, 2, 3, 4]
    assert [h.score for h in fused] == pytest.approx([0.375, 1 / 3, 0.3125, 0.0625])


def test_equal_weights_rank_as_plain_reciprocal_rank_fusion():
    plain = reciprocal_rank([DENSE, KEYWORD], k=5)
    halves = reciprocal_rank([DENSE, KEYWORD], k=5, weights=[0.5, 0.5])
    assert ids(plain) == ids(halves)
    assert [h.score for h in halves] == pytest.approx([h.score / 2 for h in plain])


def test_z_score_centres_and_scales_a_list():
    assert z_score([1.0, 2.0, 3.0]) == pytest.approx([-1.224744871, 0.0, 1.224744871])
    assert z_score([4.0, 4.0]) == [0.0, 0.0] and z_score([]) == []


def test_z_score_fusion_gives_a_missing_chunk_the_lists_lowest_score():
    fused = weighted(DENSE, KEYWORD, 0.5, z_score)
    dense, keyword = z_score([0.9, 0.8, 0.1]), z_score([12.0, 10.0, 1.0])
    expected = {
        1: 0.5 * dense[0] + 0.5 * min(keyword),  # missing from the keyword list
        2: 0.5 * dense[1] + 0.5 * keyword[1],
        3: 0.5 * dense[2] + 0.5 * keyword[0],
        4: 0.5 * min(dense) + 0.5 * keyword[2],  # missing from the dense list
    }
    assert {h.chunk.id: h.score for h in fused} == pytest.approx(expected)
    assert ids(fused) == sorted(expected, key=lambda c: -expected[c])


def test_min_max_fusion_is_unchanged_by_naming_its_normalization():
    assert [(h.chunk.id, h.score) for h in weighted(DENSE, KEYWORD, 0.4)] == [
        (h.chunk.id, h.score) for h in weighted(DENSE, KEYWORD, 0.4, min_max)
    ]


def test_fusion_is_deterministic_with_ties_broken_by_chunk_id():
    tied = [hit(7, 1.0), hit(5, 1.0)]
    for fuse in (
        lambda: weighted(tied, tied, 0.5, z_score),
        lambda: weighted(tied, tied, 0.5),
        lambda: reciprocal_rank([tied, list(reversed(tied))], 60, [0.5, 0.5]),
    ):
        assert ids(fuse()) == [5, 7] and ids(fuse()) == ids(fuse())


DOCS = {
    "solar.txt": "Solar panels turn sunlight into electricity. Panel efficiency drops with heat.",
    "wind.txt": "Wind turbines turn moving air into electricity on windy coasts.",
    "grid.txt": "The grid stores electricity from sunlight and wind in batteries overnight.",
}


@pytest.mark.parametrize(
    ("fusion", "weight", "expected"),
    [
        ("zscore", 0.3, lambda d, k: weighted(d, k, 0.3, z_score)),
        ("rrf", 0.7, lambda d, k: reciprocal_rank([d, k], 10, [1.4, 0.6])),
        ("weighted", 0.5, lambda d, k: weighted(d, k, 0.5)),
    ],
)
def test_the_retriever_fuses_as_the_fusion_settings_say(
    settings, embedder, library, tmp_path, fusion, weight, expected
):
    root = write_files(tmp_path / "d", DOCS)
    build_ingestor(settings, embedder, library).ingest(discover([root]))
    tuned = settings.model_copy(
        update={"fusion": fusion, "fusion_dense_weight": weight, "rrf_k": 10}
    )
    query = "electricity from sunlight"
    snapshot = library.collection("default").snapshot()
    dense = snapshot.search(embedder.embed([query])[0], 100)
    keyword = snapshot.keyword_search(query, 100)
    got = Retriever(tuned, embedder, library).retrieve(query, None, 3, "hybrid").passages
    assert [p.chunk.id for p in got] == ids(expected(dense, keyword))[:3]
