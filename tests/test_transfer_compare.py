"""Comparing two stores' search results after a copy: float noise passes, another chunk fails."""

from index.transfer import same_results
from index.types import ChunkRow, Hit


def hit(text: str, score: float) -> Hit:
    return Hit(ChunkRow(hash(text) & 0xFFFF, "d", f"{text}.md", 0, text, None, None), score)


def test_scores_differing_by_float32_rounding_are_the_same_results():
    faiss = [hit("a", 1.0000001), hit("b", 0.71046251), hit("c", 0.5)]
    milvus = [hit("a", 0.99999994), hit("b", 0.71046249), hit("c", 0.5)]
    assert same_results(faiss, milvus)


def test_another_chunk_or_another_score_is_a_difference():
    faiss = [hit("a", 0.9), hit("b", 0.7), hit("c", 0.5)]
    assert not same_results(faiss, [hit("a", 0.9), hit("x", 0.7), hit("c", 0.5)])
    assert not same_results(faiss, [hit("a", 0.9), hit("b", 0.69), hit("c", 0.5)])
    assert same_results(faiss, [hit("a", 0.9), hit("b", 0.7), hit("z", 0.5)])  # tied at the cut
