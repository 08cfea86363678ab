"""Retrieval for search and answers: dense, keyword (BM25) or hybrid, and the evidence strength."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.answering.prompt import Passage
from config.settings import Settings
from index.errors import ModelMismatch
from index.filters import Filter
from index.fusion import per_document, reciprocal_rank, weighted
from index.protocol import Reader, VectorStore
from index.types import Hit, IndexSpec, mismatch_message
from ingest.pipeline import index_spec
from models.embedder import Embedder

Mode = Literal["hybrid", "dense", "keyword"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "keyword")


@dataclass(frozen=True)
class Retrieval:
    """The best chunks, and how close the nearest chunk's meaning is to the query."""

    passages: list[Passage]
    evidence: float | None  # cosine similarity of the nearest chunk by embedding (-1..1)


class Retriever:
    """Runs one query against a collection's current generation (blocking: call off the loop)."""

    def __init__(self, settings: Settings, embedder: Embedder, store: VectorStore) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store

    def retrieve(
        self,
        query: str,
        collection: str | None,
        k: int,
        mode: Mode | None = None,
        evidence: bool = False,
        where: Filter | None = None,
    ) -> Retrieval:
        """The `k` best chunks; with `evidence`, also the nearest chunk's cosine similarity.
        `where` (a parsed metadata filter) restricts both searches before they rank."""
        name = collection or self.settings.collection
        snapshot = self.store.collection(name).snapshot()
        require_model(name, snapshot.spec, self.embedder)
        mode = mode or self.settings.retrieval_mode
        depth = max(self.settings.retrieval_candidates, k)
        need_dense = mode != "keyword" or evidence
        vector = self.embedder.embed([query])[0] if need_dense else None
        dense = snapshot.search(vector, depth, where) if vector is not None else []
        hits = self._rank(snapshot, query, dense, mode, depth, where)
        hits = per_document(hits, self.settings.chunks_per_document)[:k]
        best = (dense[0].score if dense else 0.0) if evidence else None
        return Retrieval([Passage(h.chunk, h.score) for h in hits], best)

    def _rank(
        self,
        snapshot: Reader,
        query: str,
        dense: list[Hit],
        mode: Mode,
        depth: int,
        where: Filter | None = None,
    ) -> list[Hit]:
        if mode == "dense":
            return dense
        keyword = snapshot.keyword_search(query, depth, where)
        if mode == "keyword":
            return keyword
        if self.settings.fusion == "rrf":
            return reciprocal_rank([dense, keyword], self.settings.rrf_k)
        return weighted(dense, keyword, self.settings.fusion_dense_weight)


def check_model(store: VectorStore, embedder: Embedder, name: str) -> None:
    """Refuse a collection built by another embedding model or chunker (none yet: fine)."""
    state = store.collection(name).state()
    if state is not None:
        require_model(name, state.spec, embedder)


def require_model(name: str, spec: IndexSpec, embedder: Embedder) -> None:
    """Refuse data built with `spec` unless this embedder and chunker built it."""
    wanted = index_spec(embedder)
    if spec != wanted:
        raise ModelMismatch(mismatch_message(name, spec, wanted))
