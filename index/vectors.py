"""FAISS vectors: immutable segment files on disk, merged into one in-memory index for search."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import IndexCorrupt
from index.manifest import Segment, atomic_write, sha256


class VectorIndex:
    """Exact inner-product search over normalized vectors, keyed by chunk id."""

    def __init__(self, dimension: int) -> None:
        import faiss

        self.dimension = dimension
        self._index: Any = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self._index.add_with_ids(_matrix(vectors, self.dimension), ids.astype(np.int64))

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, scores) of the `k` nearest vectors, best first; ids of -1 are padding."""
        k = min(k, len(self))
        if k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        scores, ids = self._index.search(_matrix(query, self.dimension), k)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def clone(self) -> VectorIndex:
        import faiss

        copy = VectorIndex(self.dimension)
        copy._index = faiss.clone_index(self._index)
        return copy

    def remove(self, ids: np.ndarray) -> None:
        import faiss

        if len(ids):
            self._index.remove_ids(faiss.IDSelectorBatch(ids.astype(np.int64)))

    def merge(self, other: VectorIndex) -> None:
        if len(other):
            self.add(other.ids(), other.vectors())

    def ids(self) -> np.ndarray:
        import faiss

        return np.asarray(faiss.vector_to_array(self._index.id_map), dtype=np.int64)

    def vectors(self) -> np.ndarray:
        return np.asarray(self._index.index.reconstruct_n(0, len(self)), dtype=np.float32)


def write_segment(
    folder: Path, name: str, ids: Sequence[int] | np.ndarray, vectors: np.ndarray
) -> Segment:
    """Write one segment file durably and return its manifest entry."""
    import faiss

    index = VectorIndex(vectors.shape[1])
    index.add(np.asarray(ids, dtype=np.int64), vectors)
    data = faiss.serialize_index(index._index).tobytes()
    atomic_write(folder / name, data)
    return Segment(file=name, sha256=sha256(data), count=len(ids))


def load_segments(
    folder: Path, segments: Sequence[Segment], dimension: int, live: np.ndarray | None = None
) -> VectorIndex:
    """Verify each segment's checksum, then merge its live vectors into one index."""
    merged = VectorIndex(dimension)
    for segment in segments:
        ids, vectors = read_segment(folder, segment, dimension)
        if live is not None:
            keep = np.isin(ids, live, assume_unique=True)
            ids, vectors = ids[keep], vectors[keep]
        merged.add(ids, vectors)
    return merged


def read_segment(folder: Path, segment: Segment, dimension: int) -> tuple[np.ndarray, np.ndarray]:
    """A segment's ids and vectors, after checking size, checksum and shape."""
    import faiss

    path = folder / segment.file
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IndexCorrupt(f"segment {segment.file} cannot be read: {exc}") from exc
    if sha256(data) != segment.sha256:
        raise IndexCorrupt(f"segment {segment.file} fails its checksum (truncated or altered)")
    try:
        index: Any = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
    except RuntimeError as exc:
        raise IndexCorrupt(f"segment {segment.file} is not a FAISS index: {exc}") from exc
    if index.d != dimension or index.ntotal != segment.count:
        raise IndexCorrupt(f"segment {segment.file} holds {index.ntotal}x{index.d} vectors")
    ids = np.asarray(faiss.vector_to_array(index.id_map), dtype=np.int64)
    return ids, np.asarray(index.index.reconstruct_n(0, index.ntotal), dtype=np.float32)


def _matrix(vectors: np.ndarray, dimension: int) -> np.ndarray:
    return np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dimension)
