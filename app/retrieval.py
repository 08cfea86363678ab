"""Retrieval for search and answers: dense, keyword (BM25) or hybrid, and the evidence strength."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.prompt import Passage
from app.services import Services
from index.collection import Hit, Snapshot
from index.fusion import per_document, reciprocal_rank, weighted

Mode = Literal["hybrid", "dense", "keyword"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "keyword")


@dataclass(frozen=True)
class Retrieval:
    """The best chunks, and how close the nearest chunk's meaning is to the query."""

    passages: list[Passage]
    evidence: float | None  # cosine similarity of the nearest chunk by embedding (-1..1)


class Retriever:
    """Runs one query against a collection's current generation (blocking: call off the loop)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def retrieve(
        self,
        query: str,
        collection: str | None,
        k: int,
        mode: Mode | None = None,
        evidence: bool = False,
    ) -> Retrieval:
        """The `k` best chunks; with `evidence`, also the nearest chunk's cosine similarity."""
        settings = self.services.settings
        name = collection or settings.collection
        self.services.check_collection(name)
        snapshot = self.services.library.collection(name).snapshot()
        mode = mode or settings.retrieval_mode
        dense = self._dense(snapshot, query) if mode != "keyword" or evidence else []
        hits = self._rank(snapshot, query, dense, mode)
        hits = per_document(hits, settings.chunks_per_document)[:k]
        best = (dense[0].score if dense else 0.0) if evidence else None
        return Retrieval([Passage(h.chunk, h.score) for h in hits], best)

    def _dense(self, snapshot: Snapshot, query: str) -> list[Hit]:
        vector = self.services.embedder.embed([query])[0]
        return snapshot.search(vector, self.services.settings.retrieval_candidates)

    def _rank(self, snapshot: Snapshot, query: str, dense: list[Hit], mode: Mode) -> list[Hit]:
        if mode == "dense":
            return dense
        settings = self.services.settings
        keyword = snapshot.keyword_search(query, settings.retrieval_candidates)
        if mode == "keyword":
            return keyword
        if settings.fusion == "rrf":
            return reciprocal_rank([dense, keyword], settings.rrf_k)
        return weighted(dense, keyword, settings.fusion_dense_weight)
