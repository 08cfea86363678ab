"""Writing one ragd collection to Milvus: staged documents and deletes, written at commit with
the BM25 statistics (chunk count, total length, document frequencies) they change."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any

import numpy as np

from index.errors import DocumentNotFound, IndexStoreError, ModelMismatch, WriterBusy, write_failed
from index.milvus_store import keyword
from index.milvus_store.meta import Meta, MilvusState
from index.milvus_store.rows import check_fields, chunk_dict, doc_dict, query_all
from index.types import DocumentRow, IndexSpec, NewChunk, mismatch_message

BATCH = 512  # rows per upsert call
Rows = list[dict[str, Any]]


@dataclass
class _Pending:
    deletes: list[str] = field(default_factory=list)
    adds: dict[str, tuple[DocumentRow, Rows]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.deletes or self.adds)


class MilvusWriter:
    """Stages documents and deletes, and writes them to Milvus at `commit()`."""

    def __init__(
        self, collection: Any, spec: IndexSpec, wait: float = 0, rebuild: bool = False
    ) -> None:
        self.collection = collection
        self.store = collection.store
        self.client = collection.client
        self.spec = spec
        self.rebuild = rebuild
        self._wait = wait
        self._pending = _Pending()
        self._docs: dict[str, DocumentRow] = {}

    def __enter__(self) -> MilvusWriter:
        lock = self.collection.write_lock
        if not lock.acquire(timeout=self._wait if self._wait > 0 else -1, blocking=self._wait > 0):
            raise WriterBusy(
                f"ingest already running on collection {self.collection.name!r}; "
                "wait for it to finish and try again"
            )
        try:
            self._load()
        except BaseException:
            lock.release()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.collection.write_lock.release()

    def _load(self) -> None:
        meta = self.store.read_meta(self.collection.name)
        if meta is not None and meta.spec != self.spec and not self.rebuild:
            raise ModelMismatch(mismatch_message(self.collection.name, meta.spec, self.spec))
        # A rebuild starts from nothing: every file is embedded again.
        docs = [] if self.rebuild else self.collection.documents()
        self._docs = {d.id: d for d in docs}

    def documents(self) -> list[DocumentRow]:
        return sorted(self._docs.values(), key=lambda d: d.source)

    def document(self, *, source: str = "", doc_id: str = "") -> DocumentRow | None:
        if doc_id in self._docs:
            return self._docs[doc_id]
        return next((d for d in self._docs.values() if d.source == source), None)

    def put(self, doc: DocumentRow, chunks: Sequence[NewChunk], vectors: np.ndarray) -> None:
        """Stage a document (replacing any document with the same id) and its chunk vectors."""
        assert len(chunks) == len(vectors), "one vector per chunk"
        check_fields(doc, chunks)
        name = self.collection.name
        pairs = enumerate(zip(chunks, vectors, strict=True))
        rows = [chunk_dict(name, doc, i, chunk, vector) for i, (chunk, vector) in pairs]
        self._pending.adds[doc.id] = (doc, rows)

    def delete(self, doc_id: str) -> DocumentRow:
        doc = self.document(doc_id=doc_id)
        if doc is None:
            raise DocumentNotFound(f"no document {doc_id!r} in collection {self.collection.name!r}")
        self._pending.deletes.append(doc_id)
        return doc

    @property
    def staged_chunks(self) -> int:
        return sum(len(rows) for _, rows in self._pending.adds.values())

    def commit(self) -> MilvusState:
        """Write the staged changes; the generation counts commits (informational)."""
        pending, self._pending = self._pending, _Pending()
        if pending or self.rebuild:
            try:
                self._write(pending)
            except IndexStoreError:
                raise
            except Exception as exc:  # pymilvus raises several kinds (MilvusException, gRPC)
                serving = "documents already written before it stay searchable"
                name = self.collection.name
                raise write_failed(exc, name, "writing to Milvus", serving) from exc
        # Nothing ever committed (as with FAISS, an empty commit creates nothing): generation 0.
        return self.collection.state() or MilvusState(0, self.spec, 0, 0)

    def _write(self, pending: _Pending) -> None:
        if self.rebuild:
            self.collection.drop()
            self.rebuild = False
        self.store.create(self.spec)
        old = self._current()
        # Recorded first: the collection exists (with its spec) while its rows are written, and
        # a commit that dies before the end leaves `writing` set: the next one counts again.
        began = replace(old, generation=old.generation + 1, writing=True)
        self.store.write_meta(self.collection.name, began)
        chunks = self.store.chunks(self.spec.dimension)
        gone_ids, gone = self._remove(chunks, pending.deletes)
        added, (stale_ids, stale) = self._existing(chunks, pending.adds)
        new = keyword.many_chunk_terms([(r["text"], r["heading"] or None) for r in added])
        n = old.chunks + len(added) - len(gone_ids) - len(stale_ids)
        length = old.length + keyword.lengths(new) - keyword.lengths(gone + stale)
        for row, counts in zip(added, new, strict=True):
            row.update(keyword.sparse_row(counts, length / n if n else 1.0))
        self._upsert(chunks, added)
        self._delete_ids(chunks, stale_ids)
        # Sealed segments are searched by their index; growing ones are scanned row by row
        # (milvus-lite: 10x slower), so a commit seals what it wrote, before its rows: a
        # failed flush fails the commit while a rerun still redoes its documents.
        self.client.flush(chunks)
        # Statistics before the document rows: a commit that fails before them leaves the
        # rows at the old version, so running it again redoes those documents.
        self._update_df(keyword.df_changes(new, gone + stale))
        self.store.write_meta(self.collection.name, Meta(self.spec, old.generation + 1, n, length))
        self._write_rows(pending)
        self.store.grow_index(self.spec.dimension)

    def _current(self) -> Meta:
        """The statistics before this commit; recounted from the chunks when they disagree
        with what Milvus holds (a commit died half-way, or another replica wrote at once)."""
        meta = self.store.read_meta(self.collection.name) or Meta(self.spec)
        meta = replace(meta, spec=self.spec)
        chunks = self.store.chunks(self.spec.dimension)
        if not meta.writing and self.store.count(chunks, self.collection.scope) == meta.chunks:
            return meta
        return self._recount(meta, chunks)

    def _recount(self, meta: Meta, chunks: str) -> Meta:
        rows = query_all(self.client, chunks, self.collection.scope, ["text", "heading"])
        counts = keyword.many_chunk_terms([(r["text"], r["heading"] or None) for r in rows])
        self.client.delete(self.store.terms, filter=self.collection.scope)
        self._update_df(keyword.df_changes(counts, []))
        return replace(meta, chunks=len(counts), length=keyword.lengths(counts))

    def _remove(self, chunks: str, doc_ids: list[str]) -> tuple[list[int], list[Counter[str]]]:
        """Delete documents' chunks (their rows go last); the chunks' ids and terms."""
        ids: list[int] = []
        counts: list[Counter[str]] = []
        coll = self.collection
        for start in range(0, len(doc_ids), BATCH):
            batch = doc_ids[start : start + BATCH]
            where = f"{coll.scope} and doc_id in {json.dumps(batch)}"
            rows = query_all(self.client, chunks, where, ["id", "text", "heading"])
            ids += [int(r["id"]) for r in rows]
            counts += keyword.many_chunk_terms([(r["text"], r["heading"] or None) for r in rows])
            self._delete_ids(chunks, [int(r["id"]) for r in rows])
        return ids, counts

    def _write_rows(self, pending: _Pending) -> None:
        """The document rows, last: until then a rerun redoes their documents."""
        name = self.collection.name
        gone = [self.collection.doc_key(d) for d in pending.deletes]
        for start in range(0, len(gone), BATCH):
            self.client.delete(self.store.docs, ids=gone[start : start + BATCH])
        for doc_id in pending.deletes:
            self._docs.pop(doc_id, None)
        self._upsert(self.store.docs, [doc_dict(name, doc) for doc, _ in pending.adds.values()])
        self._docs.update((doc.id, doc) for doc, _ in pending.adds.values())

    def _existing(
        self, chunks: str, adds: dict[str, tuple[DocumentRow, Rows]]
    ) -> tuple[Rows, tuple[list[int], list[Counter[str]]]]:
        """The staged chunk rows Milvus lacks, and the documents' stored chunks no longer
        staged (ids, terms): always asked, another replica may have written since."""
        docs, added = list(adds), []
        stale_ids: list[int] = []
        stale_rows: list[Any] = []
        for start in range(0, len(docs), BATCH):
            batch = docs[start : start + BATCH]
            where = f"{self.collection.scope} and doc_id in {json.dumps(batch)}"
            found = query_all(self.client, chunks, where, ["id", "text", "heading"])
            stored = {int(r["id"]): r for r in found}
            staged = [row for doc_id in batch for row in adds[doc_id][1]]
            added += [row for row in staged if row["id"] not in stored]
            keep = {row["id"] for row in staged}
            stale_ids += [i for i in stored if i not in keep]
            stale_rows += [r for i, r in stored.items() if i not in keep]
        counts = keyword.many_chunk_terms([(r["text"], r["heading"] or None) for r in stale_rows])
        return added, (stale_ids, counts)

    def _update_df(self, change: Counter[str]) -> None:
        """Add `change` to the stored document frequencies (a read and an upsert per batch)."""
        name, terms = self.collection.name, list(change)
        for start in range(0, len(terms), BATCH * 4):
            batch = {keyword.term_key(name, t): t for t in terms[start : start + BATCH * 4]}
            rows = self.client.query(self.store.terms, ids=list(batch), output_fields=["df"])
            df = {str(r["key"]): int(r["df"]) for r in rows}
            new = {key: df.get(key, 0) + change[t] for key, t in batch.items()}
            rows = [_term_row(name, key, n) for key, n in new.items() if n > 0]
            self._upsert(self.store.terms, rows)
            drop = [k for k, n in new.items() if n <= 0 and k in df]
            if drop:
                self.client.delete(self.store.terms, ids=drop)

    def _upsert(self, collection: str, rows: Rows) -> None:
        for start in range(0, len(rows), BATCH):
            self.client.upsert(collection, rows[start : start + BATCH])

    def _delete_ids(self, collection: str, ids: list[int]) -> None:
        for start in range(0, len(ids), BATCH * 8):
            self.client.delete(collection, ids=ids[start : start + BATCH * 8])


def _term_row(collection: str, key: str, df: int) -> dict[str, Any]:
    return {"key": key, "collection": collection, "df": df, "stub": [0.0, 0.0]}
