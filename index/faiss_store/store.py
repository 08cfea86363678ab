"""The FAISS vector store: every collection under one data folder, opened by name."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from index.errors import CollectionNotFound, DocumentNotFound, InvalidCollectionName, WriterBusy
from index.faiss_store.check import check_collection, collection_health
from index.faiss_store.collection import LOCK, Collection
from index.faiss_store.export import Exported, export_documents
from index.faiss_store.keyword import MAX_QUERY_TERMS
from index.faiss_store.manifest import Manifest
from index.faiss_store.writer import Writer
from index.types import DocumentRow, Health, IndexSpec, valid_name


class FaissCollection(Collection):
    """A collection as the store hands it out: its reader, plus its single writer and its check."""

    def state(self) -> Manifest | None:
        """The store protocol's name for the manifest."""
        return self.manifest()

    def writer(self, spec: IndexSpec, wait: float = 0, rebuild: bool = False) -> Writer:
        """This collection's single writer (enter it to take the lock)."""
        return Writer(self, spec, wait=wait, rebuild=rebuild)

    def check(self) -> list[str]:
        """Problems found on disk; an empty list means consistent."""
        return check_collection(self)

    def export(self) -> Iterator[Exported]:
        """Each document of the newest generation with its chunks and stored vectors."""
        return export_documents(self)

    def health(self) -> Health:
        """Empty, ok, degraded or broken, with what to do."""
        return collection_health(self)

    def close(self) -> None:
        """Close the chunk store's SQLite connection (and the snapshot reading it)."""
        if self._store is not None:
            self._store.close()
        self._store, self._snapshot, self._seen = None, None, None

    def set_tags(self, doc_id: str, tags: dict[str, str], wait: float = 5) -> DocumentRow:
        """Replace a document's tags at once, holding the writer's lock (no new generation:
        metadata only, so nothing is embedded or rewritten)."""
        try:
            with FileLock(self.folder / LOCK, timeout=wait):
                manifest = self.manifest()
                gen = manifest.generation if manifest else 0
                doc = self.chunk_store.set_tags(gen, doc_id, tags)
        except Timeout:
            raise WriterBusy(f"ingest running on collection {self.name!r}; try again") from None
        if doc is None:
            raise DocumentNotFound(f"no document {doc_id!r} in collection {self.name!r}")
        self.forget_matches()
        return doc


class FaissStore:
    """Collections live in `<root>/<name>/`; names are validated so they are never paths."""

    def __init__(self, root: Path, max_query_terms: int = MAX_QUERY_TERMS) -> None:
        self.root = root
        self.max_query_terms = max_query_terms  # distinct keyword terms a query looks up
        self._open: dict[str, FaissCollection] = {}
        self._lock = threading.Lock()

    def collection(self, name: str, *, must_exist: bool = False) -> FaissCollection:
        if not valid_name(name):
            raise InvalidCollectionName(
                f"invalid collection name {name!r}: use 1-64 letters, digits, '_' or '-'"
            )
        with self._lock:
            if name not in self._open:
                self._open[name] = FaissCollection(self.root / name, self.max_query_terms)
            collection = self._open[name]
        if must_exist and not collection.exists():
            raise CollectionNotFound(f"no collection named {name!r}; see GET /api/collections")
        return collection

    def close(self) -> None:
        with self._lock:
            collections, self._open = list(self._open.values()), {}
        for collection in collections:
            collection.close()

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if valid_name(p.name) and p.is_dir())
