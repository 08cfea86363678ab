"""Retrieval for search and answers: dense, keyword (BM25) or hybrid, and the evidence strength."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from app.answering import hyde
from app.answering.neighbours import expand
from app.answering.prompt import Passage
from app.answering.rarity import PASSING, frequencies, in_passing, rare_parts
from config.settings import Settings
from index.errors import ModelMismatch
from index.filters import Filter
from index.fusion import per_document, reciprocal_rank, weighted, z_score
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
    dense_docs: tuple[str, ...] = ()  # with evidence: the dense side's top documents, in order
    keyword_docs: tuple[str, ...] = ()  # with evidence: the keyword side's top documents
    unknown: tuple[str, ...] = ()  # with evidence: question words no chunk of the collection has
    # with evidence: rare question words a chunk or two mention, none of them among the passages
    passing: tuple[str, ...] = ()
    # with evidence: each topic word of the question -> chunks holding it (at most rarity.CAP)
    frequency: Mapping[str, int] = field(default_factory=dict)


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
        neighbours: int = 0,
        hypothesis: str = "",
    ) -> Retrieval:
        """The `k` best chunks; with `evidence`, also the nearest chunk's cosine similarity.
        `where` (a parsed metadata filter) restricts both searches before they rank;
        `neighbours` widens each chunk by that many of its document's chunks each side;
        `hypothesis` (HyDE, as RAGD_HYDE says) joins the query's embedding and/or keywords."""
        name = collection or self.settings.collection
        snapshot = self.store.collection(name).snapshot()
        require_model(name, snapshot.spec, self.embedder)
        mode = mode or self.settings.retrieval_mode
        depth = max(self.settings.retrieval_candidates, k)
        vector = self._vector(query, hypothesis) if mode != "keyword" or evidence else None
        dense = snapshot.search(vector, depth, where) if vector is not None else []
        words = self._keywords(query, hypothesis)
        hits = self._rank(snapshot, words, dense, mode, depth, where)
        hits = per_document(hits, self.settings.chunks_per_document)[:k]
        passages = expand(snapshot, [Passage(h.chunk, h.score) for h in hits], neighbours)
        if not evidence:
            return Retrieval(passages, None)
        # which documents each side puts first: agreement is evidence the question is on topic
        keyword = snapshot.keyword_search(query, 10)
        best = dense[0].score if dense else 0.0
        unknown, passing = absent_names(snapshot, query, self.embedder, passages)
        counts = frequencies(query, lambda w, cap: len(snapshot.keyword_search(w, cap)))
        return Retrieval(
            passages, best, _documents(dense), _documents(keyword), unknown, passing, counts
        )

    def _vector(self, query: str, hypothesis: str) -> np.ndarray:
        if hypothesis and self.settings.hyde in ("dense", "both"):
            return hyde.query_vector(self.embedder, query, hypothesis)
        vector: np.ndarray = self.embedder.embed([query])[0]
        return vector

    def _keywords(self, query: str, hypothesis: str) -> str:
        if hypothesis and self.settings.hyde in ("keyword", "both"):
            return f"{query} {hypothesis}"
        return query

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
        alpha = self.settings.fusion_dense_weight
        if self.settings.fusion == "rrf":  # weights 1 and 1 at 0.5: plain RRF
            return reciprocal_rank(
                [dense, keyword], self.settings.rrf_k, [2 * alpha, 2 - 2 * alpha]
            )
        return weighted(
            dense, keyword, alpha, z_score if self.settings.fusion == "zscore" else None
        )


def absent_names(
    snapshot: Reader, query: str, embedder: Embedder, passages: list[Passage]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(unknown, passing): the query's rare words that no chunk contains, and those that a
    chunk or two mention but no passage holds. A question naming something the documents never
    mention (Simulink, of Octave manuals; "lighttpd.conf", of Apache's: each part is looked up)
    or name only in passing (nginx, once in Apache's) is not answered by the passages, however
    close its other words come. Only rare words count (rarity.rare_parts): a common word
    ("weekly") missing from a small collection says little."""
    hits = _part_hits(snapshot, query, embedder)
    unknown = tuple(w for w, found in hits.items() if any(n == 0 for _, n in found))
    text = " ".join(p.chunk.text for p in passages).lower()
    unseen = {  # chunks holding each rare part that no passage holds
        w: [n for part, n in found if part not in text]
        for w, found in hits.items()
        if w not in unknown
    }
    if not any(unseen.values()):
        return unknown, ()
    chunks = sum(d.chunks for d in snapshot.documents())  # only now: a query of its own
    return unknown, tuple(w for w, ns in unseen.items() if any(in_passing(n, chunks) for n in ns))


def _part_hits(
    snapshot: Reader, query: str, embedder: Embedder
) -> dict[str, list[tuple[str, int]]]:
    """Each rare word of the query -> (part, chunks holding it, counted up to PASSING + 1)."""
    return {
        word: [(part, len(snapshot.keyword_search(part, PASSING + 1))) for part in parts]
        for word, parts in rare_parts(query, embedder.count_tokens).items()
    }


def _documents(hits: list[Hit], n: int = 10) -> tuple[str, ...]:
    return tuple(dict.fromkeys(h.chunk.doc_id for h in hits))[:n]


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
