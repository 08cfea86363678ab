"""One collection on disk, read side: snapshots of its current committed generation."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.errors import EmptyCollection, IndexCorrupt
from index.faiss_store.chunkstore import ChunkStore
from index.faiss_store.compressed import CompressedIndex, SegmentFile, open_compressed
from index.faiss_store.keyword import MAX_QUERY_TERMS, KeywordIndex, load_keyword
from index.faiss_store.liveids import read_live, write_live
from index.faiss_store.manifest import MANIFEST, PREVIOUS, Manifest, Segment, read_manifest
from index.faiss_store.vectors import VectorIndex, current_policy, load_segments
from index.filters import Filter
from index.types import ChunkRow, DocumentRow, Hit, IndexSpec

STORE = "chunks.sqlite"
LOCK = "write.lock"


class Snapshot:
    """One whole committed generation: its vectors in memory and its rows in the store."""

    def __init__(
        self,
        manifest: Manifest,
        vectors: VectorIndex | CompressedIndex,
        chunk_store: ChunkStore,
        keyword: KeywordIndex | None = None,
        max_query_terms: int = MAX_QUERY_TERMS,
    ) -> None:
        self.manifest = manifest
        self.vectors = vectors
        self.chunk_store = chunk_store
        self.keyword = keyword
        self.max_query_terms = max_query_terms
        self._matches: dict[str, np.ndarray | None] = {}
        self._cache_lock = threading.Lock()

    @property
    def generation(self) -> int:
        return self.manifest.generation

    @property
    def spec(self) -> IndexSpec:
        return self.manifest.spec

    def exact_search(self, query: np.ndarray, k: int) -> list[Hit]:
        """Exhaustive search even when an IVF index answers `search` (to compare stores by)."""
        ids, scores = self.vectors.exact_search(query, k)
        keep = ids[0] >= 0
        return self._hits(ids[0][keep], scores[0][keep])

    def search(self, query: np.ndarray, k: int, where: Filter | None = None) -> list[Hit]:
        """The `k` nearest chunks; with `where`, the nearest among the matching ones (the
        filter is applied first, so k come back whenever k match)."""
        among = None if where is None else self.matching(where)
        if among is None:
            return self._hits(*self.vectors.search(query, k))
        return self._hits(*self.vectors.search_among(query, k, among))

    def keyword_search(self, text: str, k: int, where: Filter | None = None) -> list[Hit]:
        """BM25 over the chunk texts; empty when no chunk shares a term with `text`."""
        if self.keyword is None:
            return []
        among = None if where is None else self.matching(where)
        return self._hits(*self.keyword.search(text, k, self.max_query_terms, among))

    def matching(self, where: Filter) -> np.ndarray | None:
        """Sorted ids of the chunks whose document matches, None when every chunk does (the
        documents' chunk counts tell, without reading chunk ids); the last few filters are
        kept (a hybrid search asks twice), until tags change."""
        key = repr(where)
        with self._cache_lock:
            if key in self._matches:
                return self._matches[key]
        store, gen = self.chunk_store, self.generation
        every = store.matching_chunks(gen, where) >= self.manifest.rows
        ids = None if every else store.matching_ids(gen, where)
        with self._cache_lock:
            self._matches[key] = ids
            while len(self._matches) > 8:
                self._matches.pop(next(iter(self._matches)))
        return ids

    def forget_matches(self) -> None:
        with self._cache_lock:
            self._matches.clear()

    def _hits(self, ids: np.ndarray, scores: np.ndarray) -> list[Hit]:
        rows = self.chunk_store.chunks(self.generation, [int(i) for i in ids])
        return [Hit(rows[int(i)], float(s)) for i, s in zip(ids, scores, strict=True) if i in rows]

    def documents(self) -> list[DocumentRow]:
        return self.chunk_store.documents(self.generation)

    def chunks_at(self, doc_id: str, ords: Sequence[int]) -> list[ChunkRow]:
        return self.chunk_store.chunks_at(self.generation, doc_id, ords)


class Collection:
    """A named folder holding manifests, FAISS segments, the chunk store and the writer lock."""

    def __init__(self, folder: Path, max_query_terms: int = MAX_QUERY_TERMS) -> None:
        self.folder = folder
        self.max_query_terms = max_query_terms
        self.name = folder.name
        self._snapshot: Snapshot | None = None
        self._seen: Manifest | None = None  # the manifest the snapshot was loaded for
        self._store: ChunkStore | None = None
        self._lock = threading.Lock()
        self._segment_files: dict[Segment, SegmentFile] = {}  # checked once, reused

    @property
    def chunk_store(self) -> ChunkStore:
        if self._store is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._store = ChunkStore(self.folder / STORE)
        return self._store

    def manifest(self) -> Manifest | None:
        return read_manifest(self.folder)

    def snapshot(self) -> Snapshot:
        """The newest committed generation, reloaded here when a writer has committed another."""
        with self._lock:
            manifest = self.manifest()
            if manifest is None:
                raise EmptyCollection(
                    f"collection {self.name!r} is empty: add documents with "
                    f"`ingest PATH --collection {self.name}` or POST /api/documents"
                )
            if self._snapshot is None or self._seen != manifest:
                self._snapshot = self._load(manifest)
                self._seen = manifest
            return self._snapshot

    def _load(self, manifest: Manifest) -> Snapshot:
        try:
            return self._load_exact(manifest)
        except IndexCorrupt as exc:
            previous = read_manifest(self.folder, PREVIOUS)
            if previous is None or previous.generation >= manifest.generation:
                raise IndexCorrupt(
                    f"{exc}; no earlier good generation to serve. Rebuild the collection with "
                    f"`ingest --rebuild PATH --collection {self.name}`"
                ) from exc
            return self._load_exact(previous)  # serve the last good generation meanwhile

    def _load_exact(self, manifest: Manifest) -> Snapshot:
        live = self._live_ids(manifest)
        vectors = self._vectors(manifest, live)
        if len(vectors) != manifest.vectors or len(live) != manifest.rows:
            raise IndexCorrupt(
                f"collection {self.name!r} generation {manifest.generation}: manifest says "
                f"{manifest.vectors} vectors / {manifest.rows} chunks, found {len(vectors)} "
                f"vectors / {len(live)} chunks. Rebuild it with `ingest --rebuild PATH`."
            )
        keyword = self._keyword(manifest, live)
        return Snapshot(manifest, vectors, self.chunk_store, keyword, self.max_query_terms)

    def _live_ids(self, manifest: Manifest) -> np.ndarray:
        """The generation's live chunk ids: from live.ids when it is this manifest's, else from
        SQLite (kept in live.ids for the next start when the collection is large)."""
        live = read_live(self.folder, manifest)
        if live is None:
            live = self.chunk_store.live_ids(manifest.generation)
            if manifest.ann:  # large enough to keep codes: seconds to read from SQLite
                write_live(self.folder, manifest, live)
        return live

    def _keyword(self, manifest: Manifest, live: np.ndarray) -> KeywordIndex:
        """The generation's BM25 index, reusing the segments already loaded.

        A collection committed before keyword search has none until its next commit.
        """
        loaded = self._snapshot.keyword if self._snapshot else None
        keyword = load_keyword(self.folder, manifest.keyword, live, loaded)
        if manifest.keyword and not keyword.covers(live):
            raise IndexCorrupt(
                f"collection {self.name!r} generation {manifest.generation}: the keyword "
                f"index covers {keyword.live_count} of {len(live)} live chunks. "
                "Rebuild it with `ingest --rebuild PATH`."
            )
        return keyword

    def _vectors(self, manifest: Manifest, live: np.ndarray) -> VectorIndex | CompressedIndex:
        """A large collection's codes with its segments on disk; otherwise the vectors in
        memory, reusing the loaded generation when the new one only adds segments and drops
        chunks."""
        if manifest.ann and current_policy().codes:
            dimension, ann = manifest.spec.dimension, manifest.ann[0]
            opened = self._segment_files
            return open_compressed(self.folder, manifest.segments, ann, dimension, live, opened)
        base = self._snapshot
        files = {s.file for s in manifest.segments}
        if base is None or base.manifest.spec != manifest.spec:
            return load_segments(self.folder, manifest.segments, manifest.spec.dimension, live)
        known = {s.file for s in base.manifest.segments}
        if not known <= files or not isinstance(base.vectors, VectorIndex):  # compacted, or
            # shrunk below the size that keeps codes: nothing in memory to reuse
            return load_segments(self.folder, manifest.segments, manifest.spec.dimension, live)
        vectors = base.vectors.clone()  # in-flight searches keep using the old snapshot
        vectors.remove(np.setdiff1d(vectors.ids(), live, assume_unique=True))
        added = [s for s in manifest.segments if s.file not in known]
        vectors.merge(load_segments(self.folder, added, manifest.spec.dimension, live))
        return vectors

    def exists(self) -> bool:
        return (self.folder / MANIFEST).exists()

    def forget_matches(self) -> None:
        """Drop the loaded snapshot's remembered filter matches (a document's tags changed)."""
        with self._lock:
            if self._snapshot is not None:
                self._snapshot.forget_matches()
