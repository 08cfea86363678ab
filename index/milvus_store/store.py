"""The Milvus vector store: chunks, vectors and BM25 in Milvus, shared by every ragd replica.

Each ragd collection is two Milvus collections, `<prefix>c_<name>` (one row per chunk: text,
metadata, a dense vector, and a sparse BM25 vector that Milvus derives from the text with its
built-in BM25 function) and `<prefix>d_<name>` (one row per document); `<prefix>meta` holds each
collection's index spec and generation, so every replica checks the same embedding model.

Writes are single-writer per document, last writer wins: chunk ids derive from the content, so
an upsert is idempotent; re-ingesting a document upserts its new chunks, deletes its old ones,
then writes its row, so a reader never finds it missing (briefly both versions, never none).
The row goes last (first, for a delete): a write that fails half-way leaves the row at the old
version, and running the same ingest again redoes the document and clears what was left.
Within one process a lock serializes writers as with FAISS; across replicas none is taken.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from index.errors import (
    CollectionNotFound,
    DocumentNotFound,
    EmptyCollection,
    FilterUnsupported,
    IndexStoreError,
    InvalidCollectionName,
    ModelMismatch,
    RowTooLarge,
    WriterBusy,
    write_failed,
)
from index.filters import Filter, field_values, matches
from index.milvus_store.schema import (
    MAX_NAME_BYTES,
    MAX_TEXT_BYTES,
    METADATA_FIELDS,
    chunk_index,
    chunk_schema,
    doc_schema,
    meta_schema,
    stub_index,
)
from index.milvus_store.where import to_expr
from index.types import (
    ChunkRow,
    DocumentRow,
    Health,
    Hit,
    IndexSpec,
    NewChunk,
    mismatch_message,
    valid_name,
)

CHUNK_FIELDS = ["id", "doc_id", "source", "ord", "text", "page", "heading"]
DOC_FIELDS = ["id", "source", "hash", "pages", "chunks", "ingested_at", *METADATA_FIELDS]
MAX_TOPK = 16384  # Milvus' limit on one search
BATCH = 512  # rows per upsert call
MAX_QUERY_TERMS = 64  # distinct query words sent to Milvus' BM25 (as the FAISS store's)
_WORD = re.compile(r"\w+")
_clients: dict[tuple[str, str], Any] = {}
_users: dict[tuple[str, str], int] = {}  # connect() calls not yet matched by release()
_clients_lock = threading.Lock()


def connect(uri: str, token: str = "") -> Any:
    """One MilvusClient per endpoint and process, shared by its users until the last
    `release()`; a `.db` path runs milvus-lite embedded."""
    from pymilvus import MilvusClient

    # milvus-lite answers no mvccTs for a query iterator; the client-side time it falls back on
    # is right here (strong consistency), so its warning on every listing is noise.
    logging.getLogger("pymilvus.client.iterator.query_iterator").setLevel(logging.ERROR)
    with _clients_lock:
        if (uri, token) not in _clients:
            if "://" not in uri:
                Path(uri).parent.mkdir(parents=True, exist_ok=True)
            try:
                # No keepalive pings while idle: milvus-lite answers them with GOAWAY
                # "too_many_pings" (logged as an error) between an ingest's commits.
                options = {"grpc.keepalive_permit_without_calls": False}
                _clients[uri, token] = MilvusClient(uri=uri, token=token, grpc_options=options)
            except Exception as exc:  # pymilvus raises several kinds for an unreachable server
                raise IndexStoreError(
                    f"cannot open the Milvus store at {uri!r} ({exc}); check RAGD_MILVUS_URI "
                    "(http://host:19530, or a .db file path no other process has open)"
                ) from exc
        _users[uri, token] = _users.get((uri, token), 0) + 1
        return _clients[uri, token]


def release(client: Any) -> None:
    """One user of a `connect()`ed client is done with it; the last one closes it."""
    with _clients_lock:
        key = next((k for k, known in _clients.items() if known is client), None)
        if key is None:
            return
        _users[key] -= 1
        if _users[key] > 0:
            return
        del _clients[key], _users[key]
    client.close()


@dataclass(frozen=True)
class MilvusState:
    """A collection's spec, generation (commits so far) and sizes."""

    generation: int
    spec: IndexSpec
    documents: int
    rows: int


class MilvusStore:
    """Collections by name in one Milvus database; `prefix` keeps deployments apart.

    With `owns_client`, `close()` releases the client (one from `connect()`); otherwise the
    caller that made the client closes it.
    """

    def __init__(
        self,
        client: Any,
        prefix: str = "ragd_",
        max_query_terms: int = MAX_QUERY_TERMS,
        owns_client: bool = False,
    ) -> None:
        self.client = client
        self.owns_client = owns_client
        self.prefix = prefix
        self.max_query_terms = max_query_terms
        self.meta = f"{prefix}meta"
        self._open: dict[str, MilvusCollection] = {}
        self._lock = threading.Lock()
        self._loaded: set[str] = set()

    def ready(self, collection: str) -> bool:
        """Whether the Milvus collection exists, loading it for queries (once per process):
        Milvus keeps a collection released after a restart until a client loads it."""
        if collection in self._loaded:
            return True
        if not self.client.has_collection(collection):
            return False
        self.client.load_collection(collection)
        self._loaded.add(collection)
        return True

    def collection(self, name: str, *, must_exist: bool = False) -> MilvusCollection:
        if not valid_name(name):
            raise InvalidCollectionName(
                f"invalid collection name {name!r}: use 1-64 letters, digits, '_' or '-'"
            )
        with self._lock:
            if name not in self._open:
                self._open[name] = MilvusCollection(self, name)
            collection = self._open[name]
        if must_exist and not collection.exists():
            raise CollectionNotFound(f"no collection named {name!r}; see GET /api/collections")
        return collection

    def close(self) -> None:
        if self.owns_client:
            self.owns_client = False
            release(self.client)

    def names(self) -> list[str]:
        if not self.ready(self.meta):
            return []
        rows = _query_all(self.client, self.meta, 'name != ""', ["name"])
        return sorted(str(r["name"]) for r in rows)

    def read_meta(self, name: str) -> tuple[IndexSpec, int] | None:
        if not self.ready(self.meta):
            return None
        rows = self.client.query(self.meta, ids=[name], output_fields=["spec", "generation"])
        if not rows:
            return None
        return IndexSpec(**json.loads(rows[0]["spec"])), int(rows[0]["generation"])

    def write_meta(self, name: str, spec: IndexSpec, generation: int) -> None:
        if not self.ready(self.meta):
            self._create(self.meta, meta_schema(), stub_index(self.client))
        row = {"name": name, "spec": json.dumps(asdict(spec)), "generation": generation}
        self.client.upsert(self.meta, [{**row, "stub": [0.0, 0.0]}])

    def _create(self, name: str, schema: Any, index: Any) -> None:
        # Strong consistency: a replica's search sees every write acknowledged before it.
        self.client.create_collection(
            name, schema=schema, index_params=index, consistency_level="Strong"
        )
        self._loaded.add(name)


class MilvusCollection:
    """One ragd collection: its chunk and document collections in Milvus."""

    def __init__(self, store: MilvusStore, name: str) -> None:
        self.store = store
        self.client = store.client
        self.name = name
        encoded = name.replace("_", "_u").replace("-", "_h")  # Milvus names allow no '-'
        self.chunks = f"{store.prefix}c_{encoded}"
        self.docs = f"{store.prefix}d_{encoded}"
        self.write_lock = threading.Lock()
        self._metadata: bool | None = None  # whether the document rows have metadata fields

    def exists(self) -> bool:
        return self.store.read_meta(self.name) is not None

    def state(self) -> MilvusState | None:
        """The spec and generation (one query) and the sizes (a count query each)."""
        meta = self.store.read_meta(self.name)
        if meta is None:
            return None
        return MilvusState(meta[1], meta[0], self._count(self.docs), self._count(self.chunks))

    def _count(self, collection: str) -> int:
        if not self.store.ready(collection):
            return 0
        rows = self.client.query(collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def snapshot(self) -> MilvusReader:
        """Milvus keeps no snapshots: a reader of the latest commit, with the spec that built
        it (one query, which is all a search's model check needs)."""
        meta = self.store.read_meta(self.name)
        if meta is None:
            raise EmptyCollection(
                f"collection {self.name!r} is empty: add documents with "
                f"`ingest PATH --collection {self.name}` or POST /api/documents"
            )
        return MilvusReader(self, meta[0])

    def search(self, query: np.ndarray, k: int, where: Filter | None = None) -> list[Hit]:
        vector = np.asarray(query, dtype=np.float32).reshape(-1).tolist()
        return self._search([vector], "vector", "IP", k, where)

    def keyword_search(self, text: str, k: int, where: Filter | None = None) -> list[Hit]:
        """BM25 by Milvus over the chunk texts; empty when no chunk shares a term with `text`."""
        text = first_terms(text, self.store.max_query_terms)
        if not text:
            return []
        return self._search([text], "sparse", "BM25", k, where)

    def _search(
        self, data: list[Any], field: str, metric: str, k: int, where: Filter | None
    ) -> list[Hit]:
        chunk_filter = "" if where is None else self.chunk_filter(where)
        if k <= 0 or chunk_filter is None:
            return []
        # Milvus filters before it ranks (a bitset over the segment), so k come back when k match.
        found = self.client.search(
            self.chunks,
            data=data,
            anns_field=field,
            limit=min(k, MAX_TOPK),
            filter=chunk_filter,
            output_fields=CHUNK_FIELDS[1:],
            search_params={"metric_type": metric},
        )
        # milvus-lite reports BM25 negated (best first still), a Milvus server as is.
        score = abs if metric == "BM25" else float
        return [Hit(_chunk_row(h["id"], h["entity"]), score(h["distance"])) for h in found[0]]

    def documents(self) -> list[DocumentRow]:
        if not self.store.ready(self.docs):
            return []
        rows = _query_all(self.client, self.docs, 'id != ""', self.doc_fields())
        return sorted((_document_row(r) for r in rows), key=lambda d: d.source)

    def chunks_at(self, doc_id: str, ords: Sequence[int]) -> list[ChunkRow]:
        """The chunks of one document at these positions, in order."""
        if not ords or not self.store.ready(self.chunks):
            return []
        expr = f"doc_id == {json.dumps(doc_id)} and ord in {json.dumps(sorted(set(ords)))}"
        rows = self.client.query(self.chunks, filter=expr, output_fields=CHUNK_FIELDS)
        return sorted((_chunk_row(r["id"], r) for r in rows), key=lambda c: c.ord)

    def chunk_filter(self, where: Filter) -> str | None:
        """`doc_id in [...]` for the documents matching `where`; None when none match."""
        docs = self.matching_documents(where)
        return f"doc_id in {json.dumps(docs)}" if docs else None

    def matching_documents(self, where: Filter) -> list[str]:
        """Ids of the documents matching `where`: Milvus narrows them by the compiled
        expression, then each row is checked against the filter itself."""
        if not self.has_metadata():
            raise FilterUnsupported(
                f"collection {self.name!r} was written before document metadata; rebuild it "
                f"with `ingest --rebuild PATH --collection {self.name}` to filter it"
            )
        expr = to_expr(where) or 'id != ""'
        rows = _query_all(self.client, self.docs, expr, DOC_FIELDS)
        docs = (_document_row(r) for r in rows)
        return sorted(d.id for d in docs if matches(where, field_values(d)))

    def has_metadata(self) -> bool:
        """Whether the document collection has the metadata fields (created since they exist)."""
        if not self.store.ready(self.docs):
            return True
        if self._metadata is None:
            names = {f["name"] for f in self.client.describe_collection(self.docs)["fields"]}
            self._metadata = set(METADATA_FIELDS) <= names
        return self._metadata

    def doc_fields(self) -> list[str]:
        return DOC_FIELDS if self.has_metadata() else DOC_FIELDS[: -len(METADATA_FIELDS)]

    def doc_rows(self, docs: Iterable[DocumentRow]) -> list[dict[str, Any]]:
        """Rows to upsert; a collection from before metadata gets the fields it has."""
        rows = [_doc_dict(doc) for doc in docs]
        if not self.has_metadata():
            rows = [{k: v for k, v in r.items() if k not in METADATA_FIELDS} for r in rows]
        return rows

    def set_tags(self, doc_id: str, tags: dict[str, str], wait: float = 5) -> DocumentRow:
        """Replace a document's tags (its row only: chunks carry no metadata)."""
        if not self.has_metadata():
            raise FilterUnsupported(f"collection {self.name!r} predates tags; rebuild it")
        if not self.write_lock.acquire(timeout=wait):
            raise WriterBusy(f"ingest running on collection {self.name!r}; try again")
        try:
            rows = self.client.query(self.docs, ids=[doc_id], output_fields=DOC_FIELDS)
            if not rows:
                raise DocumentNotFound(f"no document {doc_id!r} in collection {self.name!r}")
            doc = replace(_document_row(rows[0]), tags=dict(tags))
            self.client.upsert(self.docs, [_doc_dict(doc)])
        finally:
            self.write_lock.release()
        return doc

    def writer(self, spec: IndexSpec, wait: float = 0, rebuild: bool = False) -> MilvusWriter:
        return MilvusWriter(self, spec, wait=wait, rebuild=rebuild)

    def check(self) -> list[str]:
        """The spec is readable and every document has exactly its chunks, no more, no fewer.

        A writer that died mid-commit can leave a document's old chunks beside its new ones, or
        chunks of a document never listed: re-ingesting the file (or `--rebuild`) clears them.
        """
        try:
            state = self.state()
        except (TypeError, ValueError, KeyError) as exc:
            return [f"collection {self.name!r}: unreadable index spec ({exc})"]
        if state is None:
            return []  # never committed: empty, not broken
        rows = _query_all(self.client, self.chunks, "id >= 0", ["doc_id"])
        found = Counter(str(r["doc_id"]) for r in rows)
        problems = []
        for doc in self.documents():
            stored = found.pop(doc.id, 0)
            if stored != doc.chunks:
                problems.append(f"{doc.source}: {stored} chunks stored, {doc.chunks} listed")
        if found:
            problems.append(f"{sum(found.values())} chunks of {len(found)} unlisted documents")
        return problems

    def export(self, batch: int = 64) -> Iterator[tuple[DocumentRow, list[NewChunk], np.ndarray]]:
        """Each listed document with its chunks in order and their stored vectors."""
        docs = self.documents()
        fields = ["doc_id", "ord", "text", "page", "heading", "vector"]
        for start in range(0, len(docs), batch):
            part = docs[start : start + batch]
            where = f"doc_id in {json.dumps([d.id for d in part])}"
            by_doc: dict[str, list[Any]] = {}
            for row in _query_all(self.client, self.chunks, where, fields):
                by_doc.setdefault(str(row["doc_id"]), []).append(row)
            for doc in part:
                rows = sorted(by_doc.get(doc.id, []), key=lambda r: int(r["ord"]))
                chunks = [_new_chunk(r) for r in rows]
                vectors = np.asarray([r["vector"] for r in rows], dtype=np.float32)
                yield doc, chunks, vectors.reshape(len(rows), -1)

    def health(self) -> Health:
        """Empty, ok, or degraded: a write that failed half-way left chunks beside their
        document's (readers still get every document); Milvus keeps no previous generation."""
        state = self.state()
        if state is None:
            return Health("empty", advice=f"nothing committed yet: {_how_to_add(self.name)}")
        problems = self.check()
        if not problems:
            return Health("ok", state.generation, state.generation)
        advice = (
            "readers still get every document, some chunks twice; ingest the files named "
            f"again, or re-embed with `ingest --rebuild PATH --collection {self.name}`"
        )
        return Health("degraded", state.generation, state.generation, problems, advice)

    def create(self, spec: IndexSpec) -> None:
        """Make the chunk and document collections for vectors of `spec.dimension`."""
        if not self.store.ready(self.chunks):
            self.store._create(self.chunks, chunk_schema(spec), chunk_index(self.client))
        if not self.store.ready(self.docs):
            self.store._create(self.docs, doc_schema(), stub_index(self.client))

    def drop(self) -> None:
        self._metadata = None
        for name in (self.chunks, self.docs):
            self.client.drop_collection(name)
            self.store._loaded.discard(name)


class MilvusReader:
    """A collection's latest committed data as a Reader; `spec` as read when it was opened."""

    def __init__(self, collection: MilvusCollection, spec: IndexSpec) -> None:
        self.collection = collection
        self.spec = spec

    def search(self, query: np.ndarray, k: int, where: Filter | None = None) -> list[Hit]:
        return self.collection.search(query, k, where)

    def keyword_search(self, text: str, k: int, where: Filter | None = None) -> list[Hit]:
        return self.collection.keyword_search(text, k, where)

    def documents(self) -> list[DocumentRow]:
        return self.collection.documents()

    def chunks_at(self, doc_id: str, ords: Sequence[int]) -> list[ChunkRow]:
        return self.collection.chunks_at(doc_id, ords)


@dataclass
class _Pending:
    deletes: list[str] = field(default_factory=list)
    adds: dict[str, tuple[DocumentRow, list[dict[str, Any]]]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.deletes or self.adds)


class MilvusWriter:
    """Stages documents and deletes, and writes them to Milvus at `commit()`."""

    def __init__(
        self, collection: MilvusCollection, spec: IndexSpec, wait: float = 0, rebuild: bool = False
    ) -> None:
        self.collection = collection
        self.spec = spec
        self.rebuild = rebuild
        self._wait = wait
        self._pending = _Pending()
        self._docs: dict[str, DocumentRow] = {}
        self.generation = 0

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
        meta = self.collection.store.read_meta(self.collection.name)
        if meta is not None:
            spec, self.generation = meta
            if spec != self.spec and not self.rebuild:
                raise ModelMismatch(mismatch_message(self.collection.name, spec, self.spec))
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
        pairs = enumerate(zip(chunks, vectors, strict=True))
        rows = [_chunk_dict(doc, i, chunk, vector) for i, (chunk, vector) in pairs]
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
                raise write_failed(exc, self.collection.name, "writing to Milvus", serving) from exc
        # Nothing ever committed (as with FAISS, an empty commit creates nothing): generation 0.
        return self.collection.state() or MilvusState(0, self.spec, 0, 0)

    def _write(self, pending: _Pending) -> None:
        coll = self.collection
        if self.rebuild:
            coll.drop()
            self.rebuild = False
        coll.create(self.spec)
        self.generation += 1
        coll.store.write_meta(coll.name, self.spec, self.generation)
        self._remove(pending.deletes)
        self._upsert(coll.chunks, [row for _, rows in pending.adds.values() for row in rows])
        self._drop_stale(pending.adds)
        self._upsert(coll.docs, coll.doc_rows(doc for doc, _ in pending.adds.values()))
        self._docs.update((doc.id, doc) for doc, _ in pending.adds.values())

    def _upsert(self, collection: str, rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), BATCH):
            self.collection.client.upsert(collection, rows[start : start + BATCH])

    def _remove(self, doc_ids: list[str]) -> None:
        coll = self.collection
        for start in range(0, len(doc_ids), BATCH):
            batch = doc_ids[start : start + BATCH]
            coll.client.delete(coll.chunks, filter=f"doc_id in {json.dumps(batch)}")
            coll.client.delete(coll.docs, ids=batch)  # last: until then a rerun deletes it again
        for doc_id in doc_ids:
            self._docs.pop(doc_id, None)

    def _drop_stale(self, adds: dict[str, tuple[DocumentRow, list[dict[str, Any]]]]) -> None:
        """The documents' chunks from before this version, in one delete per batch: always
        asked, since another replica may have written a document since this writer began."""
        docs = list(adds)
        for start in range(0, len(docs), BATCH):
            batch = docs[start : start + BATCH]
            keep = [row["id"] for doc_id in batch for row in adds[doc_id][1]]
            where = f"doc_id in {json.dumps(batch)} and id not in {json.dumps(keep)}"
            self.collection.client.delete(self.collection.chunks, filter=where)


def first_terms(text: str, limit: int) -> str:
    """The words of `text` among its first `limit` distinct ones (case folded), repeats kept:
    Milvus analyzes the query itself, so this bounds the terms it looks up."""
    kept: set[str] = set()
    words = []
    for word in _WORD.findall(text):
        folded = word.casefold()
        if folded in kept or len(kept) < limit:
            kept.add(folded)
            words.append(word)
    return " ".join(words)


def check_fields(doc: DocumentRow, chunks: Sequence[NewChunk]) -> None:
    """Refuse a document with a field over Milvus' VARCHAR limits before anything is staged:
    at commit the upsert would fail for every document of the batch."""
    if _utf8(doc.source) > MAX_NAME_BYTES:
        raise RowTooLarge(f"the file name is longer than Milvus' {MAX_NAME_BYTES} bytes")
    for chunk in chunks:
        if _utf8(chunk.heading or "") > MAX_NAME_BYTES:
            raise RowTooLarge(f"a heading is longer than Milvus' {MAX_NAME_BYTES} bytes")
        if _utf8(chunk.text) > MAX_TEXT_BYTES:
            raise RowTooLarge(f"a chunk is longer than Milvus' {MAX_TEXT_BYTES} bytes")


def _utf8(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def chunk_id(doc_id: str, ord_: int, chunk: NewChunk) -> int:
    """A 63-bit id derived from the chunk's content and place: upserting it is idempotent."""
    key = json.dumps([doc_id, ord_, chunk.page, chunk.heading, chunk.text])
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") >> 1


def _chunk_dict(doc: DocumentRow, ord_: int, chunk: NewChunk, vector: np.ndarray) -> dict[str, Any]:
    return {
        "id": chunk_id(doc.id, ord_, chunk),
        "doc_id": doc.id,
        "source": doc.source,
        "ord": ord_,
        "text": chunk.text,
        "page": -1 if chunk.page is None else chunk.page,  # -1: no page
        "heading": chunk.heading or "",
        "vector": np.asarray(vector, dtype=np.float32).tolist(),
    }


def _chunk_row(chunk_id_: Any, entity: dict[str, Any]) -> ChunkRow:
    page = int(entity["page"])
    return ChunkRow(
        id=int(chunk_id_),
        doc_id=str(entity["doc_id"]),
        source=str(entity["source"]),
        ord=int(entity["ord"]),
        text=str(entity["text"]),
        page=None if page < 0 else page,
        heading=entity["heading"] or None,
    )


def _doc_dict(doc: DocumentRow) -> dict[str, Any]:
    pages = -1 if doc.pages is None else doc.pages
    row = {**asdict(doc), "pages": pages, "stub": [0.0, 0.0]}
    row["file_type"] = row.pop("type")
    return row


def _document_row(row: dict[str, Any]) -> DocumentRow:
    pages = int(row["pages"])
    return DocumentRow(
        id=str(row["id"]),
        source=str(row["source"]),
        hash=str(row["hash"]),
        pages=None if pages < 0 else pages,
        chunks=int(row["chunks"]),
        ingested_at=str(row["ingested_at"]),
        type=str(row.get("file_type") or ""),
        size=int(row.get("size") or 0),
        modified=str(row.get("modified") or ""),
        title=str(row.get("title") or ""),
        tags={str(k): str(v) for k, v in (row.get("tags") or {}).items()},
    )


def _query_all(client: Any, collection: str, where: str, fields: list[str]) -> Iterable[Any]:
    """Every row matching `where`, fetched in batches (one query is capped at 16384 rows)."""
    iterator = client.query_iterator(
        collection, batch_size=1000, filter=where, output_fields=fields
    )
    rows: list[Any] = []
    try:
        while batch := iterator.next():
            rows.extend(batch)
    finally:
        iterator.close()
    return rows


def _how_to_add(name: str) -> str:
    return f"add documents with `ingest PATH --collection {name}` or POST /api/documents"


def _new_chunk(row: dict[str, Any]) -> NewChunk:
    page = int(row["page"])
    return NewChunk(str(row["text"]), None if page < 0 else page, row["heading"] or None)
