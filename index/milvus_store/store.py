"""The Milvus vector store: chunks, vectors and BM25 in Milvus, shared by every ragd replica.

Every ragd collection lives in the same few Milvus collections (index.milvus_store.schema),
keyed by the partition key `collection`: a deployment with many ragd collections is still a
handful of Milvus collections, and every read and delete is scoped by that key. Chunk vectors
of one dimension share `<prefix>chunks_<dim>`. Keyword search is ragd's own BM25 (keyword.py):
the same terms and scores as the FAISS store.

Writes are single-writer per document, last writer wins: chunk ids derive from the content, so
an upsert is idempotent; re-ingesting a document upserts its new chunks, deletes its old ones,
then the BM25 statistics, then its row, so a reader never finds it missing (briefly both
versions, never none). The row goes last, for a delete too: a write that fails half-way leaves
the row at the old version, and running the same ingest again redoes the document, clears what
was left and counts the statistics again (writer.py). Within one process a lock serializes
writers as with FAISS; across replicas none is taken.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from index.bm25 import MAX_QUERY_TERMS
from index.errors import (
    CollectionNotFound,
    DocumentNotFound,
    EmptyCollection,
    IndexStoreError,
    InvalidCollectionName,
    WriterBusy,
)
from index.filters import Filter, field_values, matches
from index.milvus_store.meta import Meta, MilvusState
from index.milvus_store.reader import MilvusReader
from index.milvus_store.rows import (
    DOC_FIELDS,
    doc_dict,
    document_row,
    new_chunk,
    query_all,
)
from index.milvus_store.schema import (
    chunk_index,
    chunk_schema,
    collections_schema,
    doc_schema,
    stub_index,
    terms_schema,
    vector_index,
)
from index.milvus_store.where import to_expr
from index.types import DocumentRow, Health, IndexSpec, NewChunk, valid_name

log = logging.getLogger("ragd.milvus")
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


def scope(name: str) -> str:
    """The filter expression selecting one ragd collection's rows (its partition key)."""
    return f"collection == {json.dumps(name)}"


class MilvusStore:
    """Collections by name in one Milvus database; `prefix` keeps deployments apart.

    With `owns_client`, `close()` releases the client (one from `connect()`); otherwise the
    caller that made the client closes it. A deployment in the earlier layout (two Milvus
    collections per ragd collection) is moved into this one when first used (legacy.py).
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
        self.meta = f"{prefix}collections"
        self.docs = f"{prefix}docs"
        self.terms = f"{prefix}terms"
        self._open: dict[str, MilvusCollection] = {}
        self._lock = threading.Lock()
        self._loaded: set[str] = set()
        self._layout_checked = False

    def chunks(self, dimension: int) -> str:
        """The chunk collection of vectors of `dimension` (one per embedding size in use)."""
        return f"{self.prefix}chunks_{dimension}"

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
        self.upgrade_layout()
        with self._lock:
            if name not in self._open:
                self._open[name] = MilvusCollection(self, name)
            collection = self._open[name]
        if must_exist and not collection.exists():
            raise CollectionNotFound(f"no collection named {name!r}; see GET /api/collections")
        return collection

    def upgrade_layout(self) -> list[dict[str, object]]:
        """Move collections of the earlier layout into this one (once per store object)."""
        if self._layout_checked:
            return []
        self._layout_checked = True
        from index.milvus_store.legacy import migrate_legacy

        return migrate_legacy(self)

    def close(self) -> None:
        if self.owns_client:
            self.owns_client = False
            release(self.client)

    def names(self) -> list[str]:
        self.upgrade_layout()
        if not self.ready(self.meta):
            return []
        rows = query_all(self.client, self.meta, 'name != ""', ["name"])
        return sorted(str(r["name"]) for r in rows)

    def read_meta(self, name: str) -> Meta | None:
        if not self.ready(self.meta):
            return None
        fields = ["spec", "generation", "chunks", "length", "writing"]
        rows = self.client.query(self.meta, ids=[name], output_fields=fields)
        if not rows:
            return None
        row = rows[0]
        spec = IndexSpec(**json.loads(row["spec"]))
        counts = (int(row["generation"]), int(row["chunks"]), int(row["length"]))
        return Meta(spec, *counts, writing=bool(row["writing"]))

    def write_meta(self, name: str, meta: Meta) -> None:
        row = {**asdict(meta), "spec": json.dumps(asdict(meta.spec)), "name": name}
        self.client.upsert(self.meta, [{**row, "stub": [0.0, 0.0]}])

    def create(self, spec: IndexSpec) -> None:
        """The shared collections, and the chunk collection for `spec.dimension`."""
        if not self.ready(self.meta):
            self._create(self.meta, collections_schema(), stub_index(self.client))
        if not self.ready(self.docs):
            self._create(self.docs, doc_schema(), stub_index(self.client))
        if not self.ready(self.terms):
            self._create(self.terms, terms_schema(), stub_index(self.client))
        chunks = self.chunks(spec.dimension)
        if not self.ready(chunks):
            self._create(chunks, chunk_schema(spec), chunk_index(self.client))

    def _create(self, name: str, schema: Any, index: Any) -> None:
        # Strong consistency: a replica's search sees every write acknowledged before it.
        self.client.create_collection(
            name, schema=schema, index_params=index, consistency_level="Strong"
        )
        self._loaded.add(name)

    def count(self, collection: str, where: str) -> int:
        if not self.ready(collection):
            return 0
        rows = self.client.query(collection, filter=where, output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def grow_index(self, dimension: int) -> None:
        """Switch a chunk collection from FLAT to HNSW once it holds HNSW_MIN_ROWS chunks."""
        chunks = self.chunks(dimension)
        wanted = vector_index(self.count(chunks, ""))
        built = self.client.describe_index(chunks, "vector")
        if built.get("index_type") == wanted["index_type"]:
            return
        log.warning("Milvus %s: building a %s index", chunks, wanted["index_type"])
        self.client.release_collection(chunks)
        self.client.drop_index(chunks, "vector")
        index = self.client.prepare_index_params()
        index.add_index(field_name="vector", **wanted)
        self.client.create_index(chunks, index)
        self.client.load_collection(chunks)


class MilvusCollection:
    """One ragd collection: its rows in the shared Milvus collections."""

    def __init__(self, store: MilvusStore, name: str) -> None:
        self.store = store
        self.client = store.client
        self.name = name
        self.scope = scope(name)
        self.write_lock = threading.Lock()

    @property
    def chunks(self) -> str:
        """The Milvus collection of this collection's chunks (by its spec's dimension)."""
        meta = self.store.read_meta(self.name)
        return self.store.chunks(meta.spec.dimension) if meta else ""

    def exists(self) -> bool:
        return self.store.read_meta(self.name) is not None

    def state(self) -> MilvusState | None:
        """The spec and generation (one query) and the sizes (a count query each)."""
        meta = self.store.read_meta(self.name)
        if meta is None:
            return None
        docs = self.store.count(self.store.docs, self.scope)
        chunks = self.store.count(self.store.chunks(meta.spec.dimension), self.scope)
        return MilvusState(meta.generation, meta.spec, docs, chunks)

    def snapshot(self) -> MilvusReader:
        """Milvus keeps no snapshots: a reader of the latest commit, with the spec and BM25
        statistics that built it (one query, all a search's model check needs)."""
        meta = self.store.read_meta(self.name)
        if meta is None:
            raise EmptyCollection(
                f"collection {self.name!r} is empty: add documents with "
                f"`ingest PATH --collection {self.name}` or POST /api/documents"
            )
        reader = MilvusReader(self, meta)
        for name in (reader.chunks, self.store.terms):
            self.store.ready(name)  # once per process: loaded after a restart
        return reader

    def documents(self) -> list[DocumentRow]:
        if not self.store.ready(self.store.docs):
            return []
        rows = query_all(self.client, self.store.docs, self.scope, DOC_FIELDS)
        return sorted((document_row(r) for r in rows), key=lambda d: d.source)

    def matching_documents(self, where: Filter) -> list[str]:
        """Ids of the documents matching `where`: Milvus narrows them by the compiled
        expression, then each row is checked against the filter itself."""
        expr = to_expr(where)
        condition = self.scope if expr is None else f"{self.scope} and ({expr})"
        rows = query_all(self.client, self.store.docs, condition, DOC_FIELDS)
        docs = (document_row(r) for r in rows)
        return sorted(d.id for d in docs if matches(where, field_values(d)))

    def set_tags(self, doc_id: str, tags: dict[str, str], wait: float = 5) -> DocumentRow:
        """Replace a document's tags (its row only: chunks carry no metadata)."""
        if not self.write_lock.acquire(timeout=wait):
            raise WriterBusy(f"ingest running on collection {self.name!r}; try again")
        try:
            rows = self.client.query(
                self.store.docs, ids=[self.doc_key(doc_id)], output_fields=DOC_FIELDS
            )
            if not rows:
                raise DocumentNotFound(f"no document {doc_id!r} in collection {self.name!r}")
            doc = replace(document_row(rows[0]), tags=dict(tags))
            self.client.upsert(self.store.docs, [doc_dict(self.name, doc)])
        finally:
            self.write_lock.release()
        return doc

    def doc_key(self, doc_id: str) -> str:
        return f"{self.name}/{doc_id}"

    def writer(self, spec: IndexSpec, wait: float = 0, rebuild: bool = False) -> Any:
        from index.milvus_store.writer import MilvusWriter

        return MilvusWriter(self, spec, wait=wait, rebuild=rebuild)

    def check(self) -> list[str]:
        """The spec is readable, every document has exactly its chunks, no more, no fewer, and
        BM25's statistics count the chunks there are.

        A writer that died mid-commit can leave a document's old chunks beside its new ones, or
        chunks of a document never listed: re-ingesting the file (or `--rebuild`) clears them.
        """
        try:
            meta = self.store.read_meta(self.name)
        except (TypeError, ValueError, KeyError) as exc:
            return [f"collection {self.name!r}: unreadable index spec ({exc})"]
        if meta is None:
            return []  # never committed: empty, not broken
        chunks = self.store.chunks(meta.spec.dimension)
        ready = self.store.ready(chunks)
        rows = query_all(self.client, chunks, self.scope, ["doc_id"]) if ready else []
        found = Counter(str(r["doc_id"]) for r in rows)
        problems = []
        for doc in self.documents():
            stored = found.pop(doc.id, 0)
            if stored != doc.chunks:
                problems.append(f"{doc.source}: {stored} chunks stored, {doc.chunks} listed")
        if found:
            problems.append(f"{sum(found.values())} chunks of {len(found)} unlisted documents")
        if meta.writing or meta.chunks != len(rows):  # the next commit counts them again
            unsure = "a commit did not finish; " if meta.writing else ""
            problems.append(
                f"{unsure}BM25 statistics count {meta.chunks} chunks, {len(rows)} stored"
            )
        return problems

    def export(self, batch: int = 64) -> Iterator[tuple[DocumentRow, list[NewChunk], np.ndarray]]:
        """Each listed document with its chunks in order and their stored vectors."""
        docs, chunks = self.documents(), self.chunks
        fields = ["doc_id", "ord", "text", "page", "heading", "vector"]
        for start in range(0, len(docs), batch):
            part = docs[start : start + batch]
            where = f"{self.scope} and doc_id in {json.dumps([d.id for d in part])}"
            by_doc: dict[str, list[Any]] = {}
            for row in query_all(self.client, chunks, where, fields):
                by_doc.setdefault(str(row["doc_id"]), []).append(row)
            for doc in part:
                rows = sorted(by_doc.get(doc.id, []), key=lambda r: int(r["ord"]))
                vectors = np.asarray([r["vector"] for r in rows], dtype=np.float32)
                yield doc, [new_chunk(r) for r in rows], vectors.reshape(len(rows), -1)

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

    def drop(self) -> None:
        """Every row of this collection, in each shared Milvus collection, and its meta row."""
        shared = (self.store.docs, self.store.terms)
        for name in self.client.list_collections():
            if name.startswith(f"{self.store.prefix}chunks_") or name in shared:
                self.client.delete(name, filter=self.scope)
        if self.store.ready(self.store.meta):
            self.client.delete(self.store.meta, ids=[self.name])


def _how_to_add(name: str) -> str:
    return f"add documents with `ingest PATH --collection {name}` or POST /api/documents"
