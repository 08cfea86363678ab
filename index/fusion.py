"""Hybrid fusion of ranked lists (reciprocal rank, weighted scores) and per-document diversity."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace

from index.types import Hit

Normalize = Callable[[Sequence[float]], list[float]]


def reciprocal_rank(
    lists: Sequence[Sequence[Hit]], k: float = 60, weights: Sequence[float] | None = None
) -> list[Hit]:
    """Reciprocal rank fusion (Cormack et al. 2009): score = sum of weight / (k + rank), each
    list's weight 1 unless `weights` are given."""
    scores: dict[int, float] = {}
    hits: dict[int, Hit] = {}
    for ranked, weight in zip(lists, weights or [1.0] * len(lists), strict=True):
        for rank, hit in enumerate(ranked, 1):
            scores[hit.chunk.id] = scores.get(hit.chunk.id, 0.0) + weight / (k + rank)
            hits.setdefault(hit.chunk.id, hit)
    return _ranked(hits, scores)


def weighted(
    dense: Sequence[Hit], keyword: Sequence[Hit], alpha: float, normalize: Normalize | None = None
) -> list[Hit]:
    """Convex combination alpha * dense + (1 - alpha) * keyword of normalized scores (min-max
    unless `normalize` is given, e.g. `z_score`).

    A chunk missing from one list gets 0 from it under min-max, that list's lowest score
    under another normalization: it ranked below that list's last candidate.
    """
    scores: dict[int, float] = {}
    hits: dict[int, Hit] = {}
    norms = [
        (ranked, weight, (normalize or min_max)([h.score for h in ranked]))
        for ranked, weight in ((dense, alpha), (keyword, 1.0 - alpha))
    ]
    for ranked, weight, normed in norms:
        for hit, norm in zip(ranked, normed, strict=True):
            scores[hit.chunk.id] = scores.get(hit.chunk.id, 0.0) + weight * norm
            hits.setdefault(hit.chunk.id, hit)
    for ranked, weight, normed in norms:  # the floor for chunks this list did not return
        floor = 0.0 if normalize in (None, min_max) else min(normed, default=0.0)
        present = {h.chunk.id for h in ranked}
        for chunk_id in scores.keys() - present:
            scores[chunk_id] += weight * floor
    return _ranked(hits, scores)


def min_max(scores: Sequence[float]) -> list[float]:
    """Scores rescaled to [0, 1] within their list; all 1.0 when they are all equal."""
    if not scores:
        return []
    low, high = min(scores), max(scores)
    if high == low:
        return [1.0] * len(scores)
    return [(s - low) / (high - low) for s in scores]


def z_score(scores: Sequence[float]) -> list[float]:
    """Scores as standard deviations from their list's mean; all 0.0 when they are all equal."""
    if not scores:
        return []
    mean = sum(scores) / len(scores)
    spread = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
    return [(s - mean) / spread if spread > 0 else 0.0 for s in scores]


def per_document(hits: Sequence[Hit], limit: int) -> list[Hit]:
    """Diversify: each document's first `limit` chunks keep their order; its further chunks
    move behind those of every other document (0 = no change).

    Other documents get a place in the top k before a document's repeats, yet a collection of
    one long document still fills k.
    """
    if limit <= 0:
        return list(hits)
    seen: dict[str, int] = {}
    rounds = []
    for hit in hits:
        rounds.append(seen.get(hit.chunk.doc_id, 0) // limit)
        seen[hit.chunk.doc_id] = seen.get(hit.chunk.doc_id, 0) + 1
    order = sorted(range(len(hits)), key=lambda i: (rounds[i], i))
    return [hits[i] for i in order]


def _ranked(hits: dict[int, Hit], scores: dict[int, float]) -> list[Hit]:
    order = sorted(scores, key=lambda chunk_id: (-scores[chunk_id], chunk_id))
    return [replace(hits[chunk_id], score=scores[chunk_id]) for chunk_id in order]
