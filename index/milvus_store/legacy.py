"""The earlier Milvus layout (two Milvus collections per ragd collection: `<prefix>c_<name>`,
`<prefix>d_<name>`, and `<prefix>meta`), read once to move it into the shared layout.

The move copies each collection's documents with their stored vectors (no re-embedding), checks
the counts, then drops the old collections. It commits as it goes: an interrupted move, run
again, skips what the new layout already holds (index.transfer.copy_collection).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.milvus_store.meta import Meta
from index.milvus_store.rows import document_row, new_chunk, query_all
from index.transfer import copy_collection
from index.types import DocumentRow, IndexSpec, NewChunk

log = logging.getLogger("ragd.milvus")
OLD_DOC_FIELDS = ["id", "source", "hash", "pages", "chunks", "ingested_at"]
METADATA = ["file_type", "size", "modified", "title", "tags"]  # absent from the oldest


@dataclass(frozen=True)
class LegacyState:
    generation: int
    spec: IndexSpec
    documents: int
    rows: int


class LegacyCollection:
    """One ragd collection in the earlier layout, read-only: what copy_collection reads."""

    def __init__(self, client: Any, prefix: str, name: str, spec: IndexSpec, gen: int) -> None:
        self.client, self.name, self.spec, self.generation = client, name, spec, gen
        encoded = name.replace("_", "_u").replace("-", "_h")  # Milvus names allow no '-'
        self.chunks = f"{prefix}c_{encoded}"
        self.docs = f"{prefix}d_{encoded}"

    def collections(self) -> list[str]:
        return [c for c in (self.chunks, self.docs) if self.client.has_collection(c)]

    def state(self) -> LegacyState:
        rows = 0
        if self._has(self.chunks):
            found = self.client.query(self.chunks, filter="", output_fields=["count(*)"])
            rows = int(found[0]["count(*)"])
        return LegacyState(self.generation, self.spec, len(self.documents()), rows)

    def _has(self, name: str) -> bool:
        if not self.client.has_collection(name):
            return False
        self.client.load_collection(name)
        return True

    def documents(self) -> list[DocumentRow]:
        if not self._has(self.docs):
            return []
        names = {f["name"] for f in self.client.describe_collection(self.docs)["fields"]}
        fields = OLD_DOC_FIELDS + [f for f in METADATA if f in names]
        rows = query_all(self.client, self.docs, 'id != ""', fields)
        return sorted((document_row(r) for r in rows), key=lambda d: d.source)

    def export(self, batch: int = 64) -> Iterator[tuple[DocumentRow, list[NewChunk], np.ndarray]]:
        docs = self.documents()
        fields = ["doc_id", "ord", "text", "page", "heading", "vector"]
        for start in range(0, len(docs), batch):
            part = docs[start : start + batch]
            where = f"doc_id in {json.dumps([d.id for d in part])}"
            by_doc: dict[str, list[Any]] = {}
            for row in query_all(self.client, self.chunks, where, fields):
                by_doc.setdefault(str(row["doc_id"]), []).append(row)
            for doc in part:
                rows = sorted(by_doc.get(doc.id, []), key=lambda r: int(r["ord"]))
                vectors = np.asarray([r["vector"] for r in rows], dtype=np.float32)
                yield doc, [new_chunk(r) for r in rows], vectors.reshape(len(rows), -1)


def legacy_collections(store: Any) -> list[LegacyCollection]:
    """The ragd collections still in the earlier layout (none when `<prefix>meta` is gone)."""
    meta = f"{store.prefix}meta"
    if not store.client.has_collection(meta):
        return []
    store.client.load_collection(meta)
    rows = query_all(store.client, meta, 'name != ""', ["name", "spec", "generation"])
    return [
        LegacyCollection(store.client, store.prefix, str(r["name"]), _spec(r), int(r["generation"]))
        for r in rows
    ]


def _spec(row: dict[str, Any]) -> IndexSpec:
    return IndexSpec(**json.loads(row["spec"]))


def migrate_legacy(store: Any) -> list[dict[str, object]]:
    """Move every collection of the earlier layout into the shared one; a report per collection."""
    reports = []
    for old in legacy_collections(store):
        shared = f"{store.prefix}chunks_{old.spec.dimension}"
        log.warning(
            "Milvus: moving collection %r from the per-collection layout (%s, %s) into the "
            "shared one (%s, partition key `collection`)",
            old.name,
            old.chunks,
            old.docs,
            shared,
        )
        reports.append(_move(store, old))
    meta = f"{store.prefix}meta"
    if reports and not legacy_collections(store):
        store.client.drop_collection(meta)
    return reports


def _move(store: Any, old: LegacyCollection) -> dict[str, object]:
    before = old.state()
    new = store.collection(old.name)
    copied = None
    if before.documents:  # (copy_collection reads only state() and export() of its source)
        copied = copy_collection(old, new, probes=0)  # type: ignore[arg-type]
    else:  # committed, yet empty: it still exists, with its spec
        store.create(old.spec)
        store.write_meta(old.name, Meta(old.spec, old.generation))
    after = new.state()
    moved = after is not None and (after.documents, after.rows) == (before.documents, before.rows)
    if moved or not before.documents:
        for name in old.collections():
            store.client.drop_collection(name)
        store.client.delete(f"{store.prefix}meta", ids=[old.name])
    report: dict[str, object] = {"collection": old.name, "documents": before.documents}
    report.update(chunks=before.rows, moved=moved, copied=copied.copied if copied else 0)
    log.warning("Milvus: collection %r %s", old.name, "moved" if moved else "NOT moved: kept")
    return report
