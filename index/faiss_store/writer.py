"""The single writer of a collection: batches changes, then commits them as a new generation."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType

import numpy as np
from filelock import FileLock, Timeout

from index.errors import DocumentNotFound, ModelMismatch, WriterBusy, write_failed
from index.faiss_store.collection import LOCK, Collection
from index.faiss_store.compressed import (
    ANN_SUFFIX,
    SegmentFile,
    new_ann,
    read_ann,
    stale,
    update_ann,
    write_ann,
)
from index.faiss_store.keyword import KEYWORD_SUFFIX, keyword_from_store, keyword_segments
from index.faiss_store.liveids import write_live
from index.faiss_store.manifest import PREVIOUS, Manifest, Segment, read_manifest, write_manifest
from index.faiss_store.vectors import current_policy, load_segments, write_segment
from index.types import DocumentRow, IndexSpec, NewChunk, keyword_text, mismatch_message

log = logging.getLogger("ragd.index")
IO_ERRORS = (OSError, sqlite3.Error)  # what a full or failing disk raises on the commit path

# Merge segments once this many pile up, or once dead vectors outnumber live ones.
MAX_SEGMENTS = 16


@dataclass
class _Pending:
    deletes: list[str] = field(default_factory=list)
    adds: list[tuple[DocumentRow, Sequence[NewChunk]]] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.deletes or self.adds)


class Writer:
    """Holds the collection's lock file; `commit()` makes everything staged visible at once."""

    def __init__(
        self, collection: Collection, spec: IndexSpec, wait: float = 0, rebuild: bool = False
    ) -> None:
        self.collection = collection
        self.spec = spec
        self.rebuild = rebuild
        self._lock = FileLock(collection.folder / LOCK)
        self._wait = wait
        self._pending = _Pending()
        self.manifest = Manifest(generation=0, spec=spec)
        self._opened: dict[Segment, SegmentFile] = {}
        self._live: tuple[int, np.ndarray] | None = None  # a large generation's live ids

    def __enter__(self) -> Writer:
        self.collection.folder.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=self._wait)
        except Timeout:
            raise WriterBusy(
                f"ingest already running on collection {self.collection.name!r}; "
                "wait for it to finish and try again"
            ) from None
        try:
            self._recover()
        except IO_ERRORS as exc:
            self._lock.release()
            raise self._failed(exc, "recovering the last commit") from exc
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._lock.release()

    def _recover(self) -> None:
        current = self.collection.manifest()
        if current is not None:
            if current.spec != self.spec and not self.rebuild:
                raise ModelMismatch(mismatch_message(self.collection.name, current.spec, self.spec))
            self.manifest = current
        self.collection.chunk_store.rollback_after(self.manifest.generation)
        self._remove_unreferenced()
        if self.rebuild and current is not None:
            self.manifest = replace(current, spec=self.spec, segments=(), vectors=0, rows=0)
            committed = self.collection.chunk_store.documents(current.generation)
            self._pending.deletes.extend(d.id for d in committed)

    # Reading what is committed; a rebuild starts from nothing, so every file is embedded again
    # (an "unchanged" file would otherwise be skipped and then dropped with the old generation).
    def documents(self) -> list[DocumentRow]:
        if self.rebuild:
            return []
        return self.collection.chunk_store.documents(self.manifest.generation)

    def document(self, *, source: str = "", doc_id: str = "") -> DocumentRow | None:
        if self.rebuild:
            return None
        return self.collection.chunk_store.document(
            self.manifest.generation, source=source, doc_id=doc_id
        )

    # Staging changes.
    def put(self, doc: DocumentRow, chunks: Sequence[NewChunk], vectors: np.ndarray) -> None:
        """Stage a document (replacing any document with the same id) and its chunk vectors."""
        assert len(chunks) == len(vectors), "one vector per chunk"
        self._pending.adds.append((doc, chunks))
        self._pending.vectors.append(vectors)

    def delete(self, doc_id: str) -> DocumentRow:
        doc = self.document(doc_id=doc_id)
        if doc is None:
            raise DocumentNotFound(f"no document {doc_id!r} in collection {self.collection.name!r}")
        self._pending.deletes.append(doc_id)
        return doc

    @property
    def staged_chunks(self) -> int:
        return sum(len(v) for v in self._pending.vectors)

    def commit(self) -> Manifest:
        """Write staged changes as generation N+1: rows, then a segment, then the manifest."""
        if not self._pending and not self.rebuild and not self._keyword_missing:
            return self.manifest
        pending, self._pending = self._pending, _Pending()
        gen = self.manifest.generation + 1
        try:
            manifest = self._write_generation(gen, pending)
        except IO_ERRORS as exc:
            self._recover_quietly()  # undo the half-written generation, keep serving the old
            raise self._failed(exc, f"writing generation {gen}") from exc
        except BaseException:
            self._recover_quietly()
            raise
        self.manifest, self.rebuild = manifest, False
        self._after_commit()
        return manifest

    def _recover_quietly(self) -> None:
        """Recover now if the disk lets us; if not, the next writer's `_recover` does it."""
        try:
            self._recover()
        except IO_ERRORS as exc:
            log.warning("collection %s: recovery deferred (%s)", self.collection.name, exc)

    def _failed(self, exc: BaseException, doing: str) -> Exception:
        """The domain error for `exc`, saying which generation readers now get."""
        try:
            current = self.collection.manifest()
        except Exception:  # an unreadable manifest: `ragd index check` says more
            current = None
        serving = (
            f"the index serves generation {current.generation}"
            if current
            else "the collection is still empty"
        )
        return write_failed(exc, self.collection.name, doing, serving)

    def _write_generation(self, gen: int, pending: _Pending) -> Manifest:
        self._live = None  # never a failed attempt's ids
        ids = self.collection.chunk_store.apply(gen, pending.deletes, pending.adds)
        segments = list(self.manifest.segments)
        if ids:
            vectors = np.concatenate(pending.vectors).reshape(len(ids), self.spec.dimension)
            name = f"seg-{gen:08d}.faiss"
            segments.append(write_segment(self.collection.folder, name, ids, vectors))
        manifest = self._manifest(gen, segments)
        texts = [keyword_text(c.text, c.heading) for _, chunks in pending.adds for c in chunks]
        compacted = list(manifest.segments) != segments
        manifest = replace(manifest, keyword=self._keyword(gen, ids, texts, compacted))
        manifest = replace(manifest, ann=self._ann(gen, manifest, ids))
        write_manifest(self.collection.folder, manifest)
        return manifest

    @property
    def _keyword_missing(self) -> bool:
        """A collection committed before keyword search existed: its next commit adds it."""
        return not self.manifest.keyword and self.manifest.rows > 0 and not self.rebuild

    def _keyword(
        self, gen: int, ids: list[int], texts: list[str], compacted: bool
    ) -> tuple[Segment, ...]:
        """BM25 segments beside the vectors: one more per add, merged when vectors compact."""
        folder, store = self.collection.folder, self.collection.chunk_store
        if self._keyword_missing:
            return keyword_from_store(folder, gen, store)
        current = () if self.rebuild else self.manifest.keyword
        live = store.live_ids(gen) if compacted else None
        return keyword_segments(folder, gen, current, (ids, texts), live)

    def _ann(self, gen: int, manifest: Manifest, added: list[int]) -> tuple[Segment, ...]:
        """Compressed codes once the collection is large: the last generation's, updated,
        or new ones trained when there are none yet or they were sized for a quarter of it."""
        policy = current_policy()
        if manifest.rows < policy.min_vectors or not policy.codes:
            return ()
        folder, dimension = self.collection.folder, self.spec.dimension
        live = self.collection.chunk_store.live_ids(gen)
        self._live = gen, live  # kept in live.ids once the generation is in
        parts = [self._segment_file(s) for s in manifest.segments]
        current = () if self.rebuild else self.manifest.ann
        ann = read_ann(folder, current[0]) if current else None
        if ann is None or stale(ann, len(live)):
            ann, added = new_ann(parts, live, dimension), live.tolist()
        ann = update_ann(ann, parts, live, np.asarray(added, dtype=np.int64))
        return (write_ann(folder, f"ann-{gen:08d}{ANN_SUFFIX}", ann),)

    def _segment_file(self, segment: Segment) -> SegmentFile:
        """A segment opened for reading, checksummed once per writer (a 1M one is 1.5 GB)."""
        if segment not in self._opened:
            folder, dimension = self.collection.folder, self.spec.dimension
            self._opened[segment] = SegmentFile(folder, segment, dimension)
        return self._opened[segment]

    def _manifest(self, gen: int, segments: list[Segment]) -> Manifest:
        documents, rows = self.collection.chunk_store.totals(gen)
        if len(segments) > MAX_SEGMENTS or sum(s.count for s in segments) > 2 * rows + 1024:
            segments = self._compact(gen, segments)
        return Manifest(
            generation=gen,
            spec=self.spec,
            segments=tuple(segments),
            vectors=rows,
            rows=rows,
            documents=documents,
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )

    def _compact(self, gen: int, segments: list[Segment]) -> list[Segment]:
        live = self.collection.chunk_store.live_ids(gen)
        merged = load_segments(self.collection.folder, segments, self.spec.dimension, live)
        name = f"seg-{gen:08d}-merged.faiss"
        return [write_segment(self.collection.folder, name, merged.ids(), merged.vectors())]

    def _after_commit(self) -> None:
        """Housekeeping once the generation is in: the commit stands even if this fails."""
        try:
            previous = read_manifest(self.collection.folder, PREVIOUS)
            self.collection.chunk_store.purge_through(previous.generation if previous else 0)
            self._remove_unreferenced()
            if self._live and self._live[0] == self.manifest.generation:
                write_live(self.collection.folder, self.manifest, self._live[1])
            self._live = None
        except IO_ERRORS as exc:
            log.warning("collection %s: clean-up deferred (%s)", self.collection.name, exc)

    def _remove_unreferenced(self) -> None:
        """Delete segment files and temporaries no kept generation refers to."""
        folder = self.collection.folder
        kept = _files(self.manifest)
        previous = read_manifest(folder, PREVIOUS)
        if previous is not None:
            kept |= _files(previous)
        for path in folder.iterdir():
            ours = path.suffix in (".faiss", KEYWORD_SUFFIX, ANN_SUFFIX)
            stale_segment = ours and path.name not in kept
            if stale_segment or path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)


def _files(manifest: Manifest) -> set[str]:
    """Every data file a manifest refers to."""
    return {s.file for s in (*manifest.segments, *manifest.keyword, *manifest.ann)}
