"""The chunk store: documents and chunk texts in SQLite, every row tagged with its generation."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.faiss_store.where import to_sql
from index.filters import Filter
from index.types import ChunkRow, DocumentRow, NewChunk, keyword_text

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL, source TEXT NOT NULL, hash TEXT NOT NULL,
    pages INTEGER, chunks INTEGER NOT NULL, ingested_at TEXT NOT NULL,
    added_gen INTEGER NOT NULL, deleted_gen INTEGER);
CREATE INDEX IF NOT EXISTS documents_id ON documents(id);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL, ord INTEGER NOT NULL, text TEXT NOT NULL,
    page INTEGER, heading TEXT,
    added_gen INTEGER NOT NULL, deleted_gen INTEGER);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE INDEX IF NOT EXISTS documents_added ON documents(added_gen);
CREATE INDEX IF NOT EXISTS documents_deleted ON documents(deleted_gen)
    WHERE deleted_gen IS NOT NULL;
CREATE INDEX IF NOT EXISTS chunks_added ON chunks(added_gen);
CREATE INDEX IF NOT EXISTS chunks_deleted ON chunks(deleted_gen)
    WHERE deleted_gen IS NOT NULL;
"""
# The *_added / *_deleted indexes let a writer's rollback and purge touch only the rows of the
# generations involved, so a commit costs the same at 10k and 1M chunks. Reads of a whole
# generation must not range-scan them: the unary + in VISIBLE keeps those on the table.
# A row belongs to generation g when it was added at or before g and not yet deleted at g.
VISIBLE = "+added_gen <= :g AND (deleted_gen IS NULL OR deleted_gen > :g)"
# Document metadata, added after the first release: older files gain the columns when opened.
METADATA = {
    "file_type": "TEXT NOT NULL DEFAULT ''",
    "size": "INTEGER NOT NULL DEFAULT 0",
    "modified": "TEXT NOT NULL DEFAULT ''",
    "title": "TEXT NOT NULL DEFAULT ''",
    "tags": "TEXT NOT NULL DEFAULT '{}'",
}
DOC_COLUMNS = "id, source, hash, pages, chunks, ingested_at, file_type, size, modified, title, tags"


class ChunkStore:
    """SQLite in WAL mode: one writer process, any number of readers."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Add the metadata columns a file from before them lacks (SQLite adds them in place)."""
        have = {row[1] for row in self._db.execute("PRAGMA table_info(documents)")}
        for name, kind in METADATA.items():
            if name not in have:
                self._db.execute(f"ALTER TABLE documents ADD COLUMN {name} {kind}")

    def close(self) -> None:
        self._db.close()

    def documents(self, gen: int) -> list[DocumentRow]:
        sql = f"SELECT {DOC_COLUMNS} FROM documents WHERE {VISIBLE}"
        return [_document(row) for row in self._query(sql + " ORDER BY source", {"g": gen})]

    def document(self, gen: int, *, source: str = "", doc_id: str = "") -> DocumentRow | None:
        sql = f"SELECT {DOC_COLUMNS} FROM documents WHERE {VISIBLE} AND (source = :s OR id = :i)"
        rows = self._query(sql, {"g": gen, "s": source, "i": doc_id})
        return _document(rows[0]) if rows else None

    def matching_ids(self, gen: int, where: Filter) -> np.ndarray:
        """Sorted ids of the chunks visible at `gen` whose document matches `where`: the
        documents are scanned once, then only the matching ones' chunks are read (by index)."""
        params: list[Any] = []
        condition = to_sql(where, params)
        sql = (
            "SELECT c.id FROM documents d JOIN chunks c ON c.doc_id = d.id "
            "AND +c.added_gen <= ? AND (c.deleted_gen IS NULL OR c.deleted_gen > ?) "
            "WHERE +d.added_gen <= ? AND (d.deleted_gen IS NULL OR d.deleted_gen > ?) "
            f"AND {condition}"
        )
        rows = self._query(sql, (gen, gen, gen, gen, *params))
        return np.sort(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))

    def matching_chunks(self, gen: int, where: Filter) -> int:
        """How many chunks the documents matching `where` hold (documents only: cheap)."""
        params: list[Any] = []
        condition = to_sql(where, params)
        sql = (
            "SELECT COALESCE(SUM(d.chunks), 0) FROM documents d WHERE +d.added_gen <= ? "
            f"AND (d.deleted_gen IS NULL OR d.deleted_gen > ?) AND {condition}"
        )
        return int(self._query(sql, (gen, gen, *params))[0][0])

    def set_tags(self, gen: int, doc_id: str, tags: dict[str, str]) -> DocumentRow | None:
        """Replace a visible document's tags in place (metadata only: no new generation)."""
        with self._lock:
            self._db.execute(
                f"UPDATE documents SET tags = :t WHERE id = :i AND {VISIBLE}",
                {"g": gen, "i": doc_id, "t": json.dumps(tags, sort_keys=True)},
            )
        return self.document(gen, doc_id=doc_id)

    def chunks(self, gen: int, ids: Sequence[int]) -> dict[int, ChunkRow]:
        """Visible chunks by id, with their document's source."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        sql = (
            "SELECT c.id, c.doc_id, d.source, c.ord, c.text, c.page, c.heading FROM chunks c "
            "JOIN documents d ON d.id = c.doc_id AND +d.added_gen <= ? "
            "AND (d.deleted_gen IS NULL OR d.deleted_gen > ?) "
            f"WHERE c.id IN ({marks}) AND +c.added_gen <= ? "
            "AND (c.deleted_gen IS NULL OR c.deleted_gen > ?)"
        )
        rows = self._query(sql, (gen, gen, *[int(i) for i in ids], gen, gen))
        return {row[0]: ChunkRow(*row) for row in rows}

    def chunks_of(self, gen: int, doc_ids: Sequence[str]) -> list[ChunkRow]:
        """The visible chunks of these documents, by document then order (source left blank)."""
        marks = ",".join(f":d{i}" for i in range(len(doc_ids)))
        sql = (
            "SELECT id, doc_id, '', ord, text, page, heading FROM chunks "
            f"WHERE doc_id IN ({marks}) AND {VISIBLE} ORDER BY doc_id, ord"
        )
        params = {"g": gen, **{f"d{i}": d for i, d in enumerate(doc_ids)}}
        return [ChunkRow(*row) for row in self._query(sql, params)]

    def chunks_at(self, gen: int, doc_id: str, ords: Sequence[int]) -> list[ChunkRow]:
        """The visible chunks of one document at these positions, in order, with its source."""
        if not ords:
            return []
        marks = ",".join(f":o{i}" for i in range(len(ords)))
        sql = (
            "SELECT c.id, c.doc_id, d.source, c.ord, c.text, c.page, c.heading FROM chunks c "
            "JOIN documents d ON d.id = c.doc_id AND +d.added_gen <= :g "
            "AND (d.deleted_gen IS NULL OR d.deleted_gen > :g) "
            f"WHERE c.doc_id = :d AND c.ord IN ({marks}) AND +c.added_gen <= :g "
            "AND (c.deleted_gen IS NULL OR c.deleted_gen > :g) ORDER BY c.ord"
        )
        params = {"g": gen, "d": doc_id, **{f"o{i}": int(o) for i, o in enumerate(ords)}}
        return [ChunkRow(*row) for row in self._query(sql, params)]

    def live_ids(self, gen: int) -> np.ndarray:
        rows = self._query(f"SELECT id FROM chunks WHERE {VISIBLE}", {"g": gen})
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def live_texts(self, gen: int) -> tuple[np.ndarray, list[str]]:
        """Ids and keyword texts (heading path and text) of every chunk visible at `gen`, in id
        order (for the keyword index)."""
        sql = f"SELECT id, text, heading FROM chunks WHERE {VISIBLE} ORDER BY id"
        rows = self._query(sql, {"g": gen})
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return ids, [keyword_text(r[1], r[2]) for r in rows]

    def integrity_problems(self) -> list[str]:
        """SQLite's own page-level check; an empty list means the file is sound."""
        rows = self._query("PRAGMA quick_check", ())
        return [] if rows == [("ok",)] else [f"chunk store: {r[0]}" for r in rows]

    def counts(self, gen: int) -> tuple[int, int]:
        """(documents, chunks) visible at `gen`."""
        docs = self._query(f"SELECT COUNT(*) FROM documents WHERE {VISIBLE}", {"g": gen})
        chunks = self._query(f"SELECT COUNT(*) FROM chunks WHERE {VISIBLE}", {"g": gen})
        return int(docs[0][0]), int(chunks[0][0])

    def totals(self, gen: int) -> tuple[int, int]:
        """(documents, chunks) visible at `gen`, from the document rows alone: a commit's cost
        then grows with the number of documents, not chunks (`counts` checks it)."""
        sql = f"SELECT COUNT(*), COALESCE(SUM(chunks), 0) FROM documents WHERE {VISIBLE}"
        docs, chunks = self._query(sql, {"g": gen})[0]
        return int(docs), int(chunks)

    def apply(
        self,
        gen: int,
        deletes: Iterable[str],
        adds: Iterable[tuple[DocumentRow, Sequence[NewChunk]]],
    ) -> list[int]:
        """One transaction: retire `deletes` and replaced documents, insert `adds` at `gen`."""
        with self._lock:
            self._rollback()  # one left open by a failed rollback
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                ids = self._apply(cur, gen, deletes, adds)
                cur.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        return ids

    def _apply(
        self,
        cur: sqlite3.Cursor,
        gen: int,
        deletes: Iterable[str],
        adds: Iterable[tuple[DocumentRow, Sequence[NewChunk]]],
    ) -> list[int]:
        for doc_id in deletes:
            self._retire(cur, gen, doc_id)
        ids: list[int] = []
        for doc, chunks in adds:
            self._retire(cur, gen, doc.id)
            cur.execute(
                f"INSERT INTO documents ({DOC_COLUMNS}, added_gen) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*_document_values(doc, len(chunks)), gen),
            )
            for ord_, chunk in enumerate(chunks):
                cur.execute(
                    "INSERT INTO chunks (doc_id, ord, text, page, heading, added_gen) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (doc.id, ord_, chunk.text, chunk.page, chunk.heading, gen),
                )
                ids.append(int(cur.lastrowid or 0))
        return ids

    def _retire(self, cur: sqlite3.Cursor, gen: int, doc_id: str) -> None:
        params = {"g": gen, "d": doc_id}
        for table, key in (("documents", "id"), ("chunks", "doc_id")):
            cur.execute(
                f"UPDATE {table} SET deleted_gen = :g WHERE {key} = :d AND deleted_gen IS NULL",
                params,
            )

    def rollback_after(self, gen: int) -> None:
        """Forget what an interrupted writer did beyond the committed generation `gen`."""
        self._script(
            "DELETE FROM documents WHERE added_gen > :g",
            "DELETE FROM chunks WHERE added_gen > :g",
            "UPDATE documents SET deleted_gen = NULL WHERE deleted_gen > :g",
            "UPDATE chunks SET deleted_gen = NULL WHERE deleted_gen > :g",
            gen=gen,
        )

    def purge_through(self, gen: int) -> None:
        """Drop rows deleted at or before `gen`: no kept generation can see them."""
        self._script(
            "DELETE FROM documents WHERE deleted_gen <= :g",
            "DELETE FROM chunks WHERE deleted_gen <= :g",
            gen=gen,
        )

    def _script(self, *statements: str, gen: int) -> None:
        with self._lock:
            self._rollback()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql in statements:
                    self._db.execute(sql, {"g": gen})
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        """Undo the open transaction, if SQLite has not already (it may, on SQLITE_FULL)."""
        if self._db.in_transaction:
            # The error being raised says more; the next transaction retries the rollback.
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    def _query(self, sql: str, params: object) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()  # type: ignore[arg-type]


def _document(row: tuple[Any, ...]) -> DocumentRow:
    doc_id, source, hash_, pages, chunks, ingested, type_, size, modified, title, tags = row
    return DocumentRow(
        doc_id,
        source,
        hash_,
        pages,
        chunks,
        ingested,
        type_,
        size,
        modified,
        title,
        json.loads(tags or "{}"),
    )


def _document_values(doc: DocumentRow, chunks: int) -> tuple[Any, ...]:
    tags = json.dumps(doc.tags, sort_keys=True)
    return (
        doc.id,
        doc.source,
        doc.hash,
        doc.pages,
        chunks,
        doc.ingested_at,
        doc.type,
        doc.size,
        doc.modified,
        doc.title,
        tags,
    )
