"""Searching one ragd collection in Milvus: dense, and ragd's BM25 (keyword.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from index.bm25 import query_terms
from index.filters import Filter
from index.milvus_store import keyword
from index.milvus_store.meta import Meta
from index.milvus_store.rows import CHUNK_FIELDS, chunk_row
from index.types import ChunkRow, DocumentRow, Hit

MAX_TOPK = 16384  # Milvus' limit on one search
HNSW_EF = 200  # recall@10 1.0 against exact search on SciFact's vectors (README)


class MilvusReader:
    """A collection's latest committed data as a Reader; spec and statistics as read when it
    was opened. Dense search: one Milvus search; keyword: one query (the query terms' document
    frequencies) and one search; a filter adds one query of the document rows, once."""

    def __init__(self, collection: Any, meta: Meta) -> None:
        self.collection = collection
        self.meta = meta
        self.spec = meta.spec
        self.chunks = collection.store.chunks(meta.spec.dimension)
        self._filters: dict[str, str | None] = {}

    def search(self, query: np.ndarray, k: int, where: Filter | None = None) -> list[Hit]:
        vector = np.asarray(query, dtype=np.float32).reshape(-1).tolist()
        return [hit for hit, _ in self._search([vector], "vector", k, where)]

    def keyword_search(self, text: str, k: int, where: Filter | None = None) -> list[Hit]:
        """ragd's BM25 over the chunk texts; empty when no chunk shares a term with `text`."""
        store = self.collection.store
        asked = query_terms(text, store.max_query_terms)
        if not asked or not self.meta.chunks or k <= 0:
            return []
        weights = keyword.Stats(self.meta.chunks, self._df(asked)).weights(asked)
        if not weights:
            return []
        # The chunks' weights used the mean length of their day: more candidates, scored again.
        fetch = min(MAX_TOPK, k + k // 4 + 10)
        vector = keyword.query_vector(weights)
        found = self._search([vector], "sparse", fetch, where, keyword.ROW_FIELDS)
        return keyword.rescore(found, weights, self.meta.mean_length)[:k]

    def _df(self, asked: dict[str, int]) -> dict[str, int]:
        store = self.collection.store
        keys = {keyword.term_key(self.collection.name, t): t for t in asked}
        rows = store.client.query(store.terms, ids=list(keys), output_fields=["df"])
        return {keys[str(r["key"])]: int(r["df"]) for r in rows}

    def documents(self) -> list[DocumentRow]:
        docs: list[DocumentRow] = self.collection.documents()
        return docs

    def chunks_at(self, doc_id: str, ords: Sequence[int]) -> list[ChunkRow]:
        """The chunks of one document at these positions, in order (one query)."""
        if not ords:
            return []
        scope, wanted = self.collection.scope, json.dumps(sorted(set(ords)))
        expr = f"{scope} and doc_id == {json.dumps(doc_id)} and ord in {wanted}"
        client = self.collection.client
        rows = client.query(self.chunks, filter=expr, output_fields=CHUNK_FIELDS)
        return sorted((chunk_row(r["id"], r) for r in rows), key=lambda c: c.ord)

    def _search(
        self, data: list[Any], field: str, k: int, where: Filter | None, more: Sequence[str] = ()
    ) -> list[tuple[Hit, dict[str, Any]]]:
        """Hits, each with its row (chunk fields and `more`)."""
        condition = self._condition(where)
        if k <= 0 or condition is None:
            return []
        # Milvus filters before it ranks (a bitset over the segment), so k come back when k match.
        found = self.collection.client.search(
            self.chunks,
            data=data,
            anns_field=field,
            limit=min(k, MAX_TOPK),
            filter=condition,
            output_fields=[*CHUNK_FIELDS[1:], *more],
            # ef: HNSW's candidate list (from HNSW_MIN_ROWS chunks); FLAT ignores it
            search_params={"metric_type": "IP", "params": {"ef": max(k, HNSW_EF)}},
        )
        rows = found[0]
        return [
            (Hit(chunk_row(h["id"], h["entity"]), float(h["distance"])), h["entity"]) for h in rows
        ]

    def _condition(self, where: Filter | None) -> str | None:
        """This collection's rows, of the documents matching `where` (asked once per reader);
        None when no document matches."""
        if where is None:
            return str(self.collection.scope)
        key = repr(where)
        if key not in self._filters:
            docs = self.collection.matching_documents(where)
            condition = f"{self.collection.scope} and doc_id in {json.dumps(docs)}"
            self._filters[key] = condition if docs else None
        return self._filters[key]
