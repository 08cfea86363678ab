"""Pruned BM25 (MaxScore over per-term bounds) returns exactly what summing every posting does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.faiss_store.keyword import (
    KeywordIndex,
    count_terms,
    keyword_segments,
    load_keyword,
    read_keyword,
    write_keyword,
)

VOCAB = [f"w{i}x" for i in range(300)]  # distinct stems, none a stop word


def _texts(rng: np.random.Generator, count: int) -> list[str]:
    """Zipf-like words, lengths 1-80, some texts repeated (tied scores)."""
    weights = 1 / np.arange(1, len(VOCAB) + 1)
    weights /= weights.sum()
    texts = [" ".join(rng.choice(VOCAB, int(rng.integers(1, 80)), p=weights)) for _ in range(count)]
    for i in rng.integers(0, count, count // 10):
        texts[int(rng.integers(0, count))] = texts[int(i)]
    return texts


def _query(rng: np.random.Generator) -> str:
    words = list(rng.choice(VOCAB, int(rng.integers(1, 9))))
    words += list(rng.choice(words, int(rng.integers(0, 3))))  # repeated query terms
    return " ".join([*words, "absentword"] if rng.random() < 0.3 else words)


def _index(folder: Path, rng: np.random.Generator, segments: int) -> KeywordIndex:
    """`segments` segments of random sizes, some chunks deleted (masked when loading)."""
    current: tuple = ()
    next_id = 0
    for gen in range(1, segments + 1):
        n = int(rng.integers(50, 400))
        ids = list(range(next_id, next_id + n))
        current = keyword_segments(folder, gen, current, (ids, _texts(rng, n)))
        next_id += n
    live = np.arange(next_id)
    live = live[rng.random(next_id) > 0.1] if segments > 1 else live
    return load_keyword(folder, current, live, None)


@pytest.mark.parametrize("seed", range(6))
def test_pruned_bm25_returns_the_exhaustive_ids_scores_and_tie_order(
    tmp_path: Path, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    index = _index(tmp_path, rng, segments=1 + seed % 3)
    assert index.bounded
    for _ in range(40):
        query, k = _query(rng), int(rng.choice([1, 3, 10, 50, 100]))
        pruned, exhaustive = index.search(query, k), index.search_exhaustive(query, k)
        assert np.array_equal(pruned[0], exhaustive[0]), query
        assert np.array_equal(pruned[1], exhaustive[1]), query
        assert pruned[1].dtype == exhaustive[1].dtype


def test_pruned_bm25_keeps_every_chunk_tied_at_the_kth_place(tmp_path: Path) -> None:
    texts = ["alpha beta"] * 20 + ["alpha"] * 30 + ["beta gamma"] * 5
    segment = write_keyword(tmp_path, "kw.bm25", count_terms(range(len(texts)), texts))
    index = load_keyword(tmp_path, [segment], np.arange(len(texts)), None)
    for k in (1, 5, 20, 21, 25, 60):
        pruned, exhaustive = index.search("alpha beta", k), index.search_exhaustive("alpha beta", k)
        assert np.array_equal(pruned[0], exhaustive[0])
        assert np.array_equal(pruned[1], exhaustive[1])


def test_keyword_segment_written_without_bounds_opens_and_is_searched_exhaustively(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(7)
    texts = _texts(rng, 300)
    counts = count_terms(range(300), texts)
    with_bounds = write_keyword(tmp_path, "new.bm25", counts)
    old = tmp_path / "old"
    old.mkdir()
    without = _write_without_bounds(old, "old.bm25", counts)
    old_index = load_keyword(old, [without], np.arange(300), None)
    new_index = load_keyword(tmp_path, [with_bounds], np.arange(300), None)
    assert read_keyword(old, without).max_tf is None and not old_index.bounded
    for _ in range(20):
        query = _query(rng)
        got, want = old_index.search(query, 10), new_index.search(query, 10)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def _write_without_bounds(folder: Path, name: str, counts: object) -> object:
    """A segment as ragd wrote them before bounds were kept (the same arrays, no bounds)."""
    import io
    import json

    from index.faiss_store.keyword import KEYWORD_FORMAT
    from index.faiss_store.manifest import Segment, atomic_write, sha256

    header = json.dumps({"format": KEYWORD_FORMAT, "terms": counts.terms}).encode()  # type: ignore[attr-defined]
    buffer = io.BytesIO()
    np.savez(
        buffer,
        header=np.frombuffer(header, dtype=np.uint8),
        **{a: getattr(counts, a) for a in ("chunk_ids", "lengths", "indptr", "rows", "counts")},
    )
    atomic_write(folder / name, buffer.getvalue())
    return Segment(name, sha256(buffer.getvalue()), len(counts.chunk_ids))  # type: ignore[attr-defined]


def test_pruned_bm25_from_several_threads_at_once_matches_the_exhaustive_sum(
    tmp_path: Path,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(11)
    index = _index(tmp_path, rng, segments=3)
    queries = [_query(rng) for _ in range(60)]
    want = [index.search_exhaustive(q, 10) for q in queries]
    with ThreadPoolExecutor(4) as pool:  # partial-sum arrays are shared between queries
        got = list(pool.map(lambda q: index.search(q, 10), queries))
    for (got_ids, got_scores), (want_ids, want_scores) in zip(got, want, strict=True):
        assert np.array_equal(got_ids, want_ids) and np.array_equal(got_scores, want_scores)
