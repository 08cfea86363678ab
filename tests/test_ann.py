"""Approximate search above a size threshold: same answers as exact search, kept in step."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from index.faiss_store.vectors import AnnPolicy, VectorIndex, build_ivf

POLICY = AnnPolicy(min_vectors=3000, nprobe=16)


def clustered(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(7).standard_normal((60, 32))
    v = centres[rng.integers(0, 60, n)] + 0.15 * rng.standard_normal((n, 32))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def big_index(n: int = 4000) -> VectorIndex:
    index = VectorIndex(32, POLICY)
    index.add(np.arange(n), clustered(n, 1))
    return index


def recall(index: VectorIndex, queries: np.ndarray) -> float:
    hits = 0
    for q in queries:
        approx, _ = index.search(q, 10)
        exact, _ = index.exact_search(q, 10)
        hits += len(set(approx.tolist()) & set(exact[0].tolist()))
    return hits / (10 * len(queries))


def test_small_index_stays_exact() -> None:
    index = VectorIndex(32, POLICY)
    index.add(np.arange(100), clustered(100, 1))
    index.search(clustered(1, 2)[0], 5)
    assert not index.approximate


def test_big_index_switches_to_ivf_with_high_recall() -> None:
    index = big_index()
    index.search(clustered(1, 2)[0], 5)  # the first search starts the build
    index.build_ann(wait=True)
    assert index.approximate
    assert recall(index, clustered(50, 3)) >= 0.9


def test_searches_are_exact_while_the_ivf_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    release, started = threading.Event(), threading.Event()

    def held_build(exact: Any, policy: AnnPolicy) -> Any:
        started.set()
        assert release.wait(60), "the test never released the build"
        return build_ivf(exact, policy)

    monkeypatch.setattr("index.faiss_store.vectors.build_ivf", held_build)
    index = big_index()
    query = clustered(1, 4)[0]
    first, _ = index.search(query, 10)  # starts the background build, which is now held
    assert started.wait(30) and not index.approximate
    during, _ = index.search(query, 10)
    exact, _ = index.exact_search(query, 10)
    assert first.tolist() == during.tolist() == exact[0].tolist()
    release.set()
    index.build_ann(wait=True)
    assert index.approximate


def test_removed_and_added_vectors_follow_into_the_ivf() -> None:
    index = big_index()
    index.build_ann(wait=True)
    copy = index.clone()
    assert copy.approximate
    target = clustered(1, 5)
    best, _ = copy.search(target[0], 1)
    copy.remove(best)
    assert best[0] not in copy.search(target[0], 10)[0]
    copy.add(np.array([99_999]), target)
    assert copy.search(target[0], 1)[0][0] == 99_999
    assert best[0] in index.search(target[0], 10)[0]  # the original is untouched
