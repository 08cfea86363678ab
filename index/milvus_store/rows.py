"""ragd's rows as Milvus rows and back: chunks, documents, their ids and size limits."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from index.errors import RowTooLarge
from index.milvus_store.schema import MAX_NAME_BYTES, MAX_TEXT_BYTES
from index.types import ChunkRow, DocumentRow, NewChunk

CHUNK_FIELDS = ["id", "doc_id", "source", "ord", "text", "page", "heading"]
DOC_FIELDS = ["id", "source", "hash", "pages", "chunks", "ingested_at"]
DOC_FIELDS += ["file_type", "size", "modified", "title", "tags"]


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


def chunk_id(collection: str, doc_id: str, ord_: int, chunk: NewChunk) -> int:
    """A 63-bit id derived from the chunk's collection, content and place: upserting it is
    idempotent, and the same file in two collections makes different rows."""
    key = json.dumps([collection, doc_id, ord_, chunk.page, chunk.heading, chunk.text])
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") >> 1


def chunk_dict(
    collection: str, doc: DocumentRow, ord_: int, chunk: NewChunk, vector: np.ndarray
) -> dict[str, Any]:
    """A chunk row, without its sparse vector (that needs the collection's mean length)."""
    return {
        "id": chunk_id(collection, doc.id, ord_, chunk),
        "collection": collection,
        "doc_id": doc.id,
        "source": doc.source,
        "ord": ord_,
        "text": chunk.text,
        "page": -1 if chunk.page is None else chunk.page,  # -1: no page
        "heading": chunk.heading or "",
        "vector": np.asarray(vector, dtype=np.float32).tolist(),
    }


def chunk_row(chunk_id_: Any, entity: dict[str, Any]) -> ChunkRow:
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


def doc_dict(collection: str, doc: DocumentRow) -> dict[str, Any]:
    pages = -1 if doc.pages is None else doc.pages
    row = {**asdict(doc), "pages": pages, "stub": [0.0, 0.0]}
    row["file_type"] = row.pop("type")
    return {**row, "key": f"{collection}/{doc.id}", "collection": collection}


def document_row(row: dict[str, Any]) -> DocumentRow:
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


def new_chunk(row: dict[str, Any]) -> NewChunk:
    page = int(row["page"])
    return NewChunk(str(row["text"]), None if page < 0 else page, row["heading"] or None)


def query_all(client: Any, collection: str, where: str, fields: list[str]) -> list[Any]:
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
