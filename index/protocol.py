"""The VectorStore protocol: what app and ingest need from an index, whichever engine holds it.

Two implementations: `index.faiss_store.store.FaissStore` (FAISS segments + SQLite on local
disk, the default) and `index.milvus_store.store.MilvusStore` (a Milvus server, or milvus-lite
embedded in a file).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Protocol

import numpy as np

from index.filters import Filter
from index.types import ChunkRow, DocumentRow, Health, Hit, IndexSpec, NewChunk


class State(Protocol):
    """What built a collection and how big it is (FAISS: its manifest; Milvus: its meta row
    and row counts)."""

    @property
    def generation(self) -> int: ...
    @property
    def spec(self) -> IndexSpec: ...
    @property
    def documents(self) -> int: ...
    @property
    def rows(self) -> int: ...


class Reader(Protocol):
    """A view for searching one collection: dense, keyword (BM25), and its documents.

    `where` (index.filters) restricts both searches to the chunks of matching documents
    before ranking: k results come back whenever k chunks match.
    """

    @property
    def spec(self) -> IndexSpec:
        """What built the data this reader reads: the per-search model check costs nothing."""
        ...

    def search(self, query: np.ndarray, k: int, where: Filter | None = None) -> list[Hit]: ...
    def keyword_search(self, text: str, k: int, where: Filter | None = None) -> list[Hit]: ...
    def documents(self) -> list[DocumentRow]: ...
    def chunks_at(self, doc_id: str, ords: Sequence[int]) -> list[ChunkRow]:
        """The visible chunks of one document at these positions, in position order (the
        neighbours a retrieved chunk brings into the prompt)."""
        ...


class StoreWriter(Protocol):
    """Stages documents and deletes; `commit()` makes them visible to every reader."""

    def __enter__(self) -> StoreWriter: ...
    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    def documents(self) -> list[DocumentRow]: ...
    def document(self, *, source: str = "", doc_id: str = "") -> DocumentRow | None: ...
    def put(self, doc: DocumentRow, chunks: Sequence[NewChunk], vectors: np.ndarray) -> None: ...
    def delete(self, doc_id: str) -> DocumentRow: ...
    @property
    def staged_chunks(self) -> int: ...
    def commit(self) -> State: ...


class StoreCollection(Protocol):
    """One named collection of documents, chunks and their vectors."""

    @property
    def name(self) -> str: ...
    def exists(self) -> bool: ...
    def state(self) -> State | None:
        """Spec, generation and sizes, or None before the first commit. Milvus counts rows
        (three queries): for listings and startup checks, not for every search."""
        ...

    def snapshot(self) -> Reader:
        """A reader of the committed data: FAISS pins one generation; Milvus has no snapshots
        and reads the latest commit. Raises EmptyCollection before the first commit."""
        ...

    def writer(self, spec: IndexSpec, wait: float = 0, rebuild: bool = False) -> StoreWriter: ...
    def check(self) -> list[str]: ...
    def set_tags(self, doc_id: str, tags: dict[str, str], wait: float = 5) -> DocumentRow: ...
    def health(self) -> Health: ...
    def export(self) -> Iterator[tuple[DocumentRow, list[NewChunk], np.ndarray]]: ...


class VectorStore(Protocol):
    """Collections by name."""

    def collection(self, name: str, *, must_exist: bool = False) -> StoreCollection: ...
    def names(self) -> list[str]: ...
    def close(self) -> None:
        """Release files and connections; collections opened afterwards start afresh."""
        ...
