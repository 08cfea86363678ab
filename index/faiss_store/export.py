"""Reading a committed generation back out, document by document, with its stored vectors."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from index.faiss_store.collection import Collection
from index.faiss_store.manifest import Manifest
from index.faiss_store.vectors import load_segments
from index.types import ChunkRow, DocumentRow, NewChunk

Exported = tuple[DocumentRow, list[NewChunk], np.ndarray]


def export_documents(collection: Collection, batch: int = 256) -> Iterator[Exported]:
    """Every document of the newest generation, its chunks in order and their vectors."""
    manifest = collection.manifest()
    if manifest is None:
        return
    yield from export_generation(collection, manifest, batch)


def export_generation(collection: Collection, manifest: Manifest, batch: int) -> Iterator[Exported]:
    store, gen = collection.chunk_store, manifest.generation
    live = store.live_ids(gen)
    index = load_segments(collection.folder, manifest.segments, manifest.spec.dimension, live)
    ids, matrix = index.ids(), index.vectors()
    order = np.argsort(ids)
    docs = store.documents(gen)
    for start in range(0, len(docs), batch):
        part = docs[start : start + batch]
        by_doc: dict[str, list[ChunkRow]] = {}
        for row in store.chunks_of(gen, [d.id for d in part]):
            by_doc.setdefault(row.doc_id, []).append(row)
        for doc in part:
            mine = by_doc.get(doc.id, [])
            keys = np.array([r.id for r in mine], dtype=np.int64)
            at = order[np.searchsorted(ids, keys, sorter=order)]
            chunks = [NewChunk(r.text, r.page, r.heading) for r in mine]
            yield doc, chunks, matrix[at]
