"""Hybrid fusion of ranked lists (reciprocal rank, weighted scores) and per-document diversity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from index.types import Hit


def reciprocal_rank(lists: Sequence[Sequence[Hit]], k: float = 60) -> list[Hit]:
    """Reciprocal rank fusion (Cormack et al. 2009): score = sum of 1 / (k + rank)."""
    scores: dict[int, float] = {}
    hits: dict[int, Hit] = {}
    for ranked in lists:
        for rank, hit in enumerate(ranked, 1):
            scores[hit.chunk.id] = scores.get(hit.chunk.id, 0.0) + 1.0 / (k + rank)
            hits.setdefault(hit.chunk.id, hit)
    return _ranked(hits, scores)


def weighted(dense: Sequence[Hit], keyword: Sequence[Hit], alpha: float) -> list[Hit]:
    """Convex combination alpha * dense + (1 - alpha) * keyword of min-max normalized scores.

    A chunk missing from one list gets 0 from it: it ranked below that list's last candidate.
    """
    scores: dict[int, float] = {}
    hits: dict[int, Hit] = {}
    for ranked, weight in ((dense, alpha), (keyword, 1.0 - alpha)):
        for hit, norm in zip(ranked, min_max([h.score for h in ranked]), strict=True):
            scores[hit.chunk.id] = scores.get(hit.chunk.id, 0.0) + weight * norm
            hits.setdefault(hit.chunk.id, hit)
    return _ranked(hits, scores)


def min_max(scores: Sequence[float]) -> list[float]:
    """Scores rescaled to [0, 1] within their list; all 1.0 when they are all equal."""
    if not scores:
        return []
    low, high = min(scores), max(scores)
    if high == low:
        return [1.0] * len(scores)
    return [(s - low) / (high - low) for s in scores]


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
