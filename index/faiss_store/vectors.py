"""FAISS vectors: immutable segment files on disk, merged into one in-memory index for search."""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import IndexCorrupt
from index.faiss_store.manifest import Segment, atomic_write, sha256
from index.faiss_store.verified import check_file, remember_written


@dataclass(frozen=True)
class AnnPolicy:
    """When exact search gives way to an approximate one (IVF), and how hard that one looks.

    Below `min_vectors` every search is exact. Above it an IVF index (sqrt(n) lists, 8-bit
    scalar-quantized codes) is built in a background thread at the first search; exact search
    answers until it is ready. At least `nprobe` lists (and an eighth of them) are scanned.

    A collection committed with compressed codes (index/faiss_store/compressed.py) scans a
    `probe_share` of its lists instead and re-ranks `rerank` x k candidates exactly.
    """

    min_vectors: int = 50_000
    nprobe: int = 24
    rerank: int = 2
    probe_share: float = 0.33
    codes: bool = True  # large collections keep compressed codes (False: all in memory)


_policy = AnnPolicy()
# Up to this many vectors a filtered search scores its subset directly (about 12 MB read at
# 384 dimensions); larger subsets go through FAISS with an ID selector.
EXACT_SUBSET = 8192


def set_ann_policy(policy: AnnPolicy) -> None:
    """The policy for indexes made from now on (the app sets it from RAGD_ANN_* settings)."""
    global _policy
    _policy = policy


def current_policy() -> AnnPolicy:
    return _policy


class VectorIndex:
    """Inner-product search over normalized vectors, keyed by chunk id: exact, or IVF when big."""

    def __init__(self, dimension: int, policy: AnnPolicy | None = None) -> None:
        import faiss

        self.dimension = dimension
        self.policy = policy or _policy
        self._index: Any = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        self._ann: Any = None  # the IVF index over the same vectors, once built
        self._building: threading.Thread | None = None
        self._lock = threading.Lock()
        self._sorted: np.ndarray | None = None  # argsort of the ids, for filtered searches

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def approximate(self) -> bool:
        """Whether searches now go through the IVF index."""
        return self._ann is not None

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self._sorted = None
            matrix, keys = _matrix(vectors, self.dimension), ids.astype(np.int64)
            self._index.add_with_ids(matrix, keys)
            if self._ann is not None:
                self._ann.add_with_ids(matrix, keys)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, scores) of the `k` nearest vectors, best first; ids of -1 are padding."""
        k = min(k, len(self))
        if k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        scores, ids = self._searcher().search(_matrix(query, self.dimension), k)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def search_among(
        self, query: np.ndarray, k: int, ids: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(ids, scores) of the `k` nearest among `ids` (sorted chunk ids), best first.

        The cost follows the subset: a small one is scored exactly, vector by vector; a large
        one goes through FAISS with an ID selector (the IVF index once the subset is most of
        the vectors, so its recall stays what it is unfiltered; the exact index otherwise).
        """
        if len(ids) == 0 or k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        if len(ids) <= EXACT_SUBSET:
            return self._score_subset(_matrix(query, self.dimension)[0], k, ids)
        if len(ids) >= len(self):  # the filter keeps every chunk: nothing to select
            return self.search(query, k)
        return self._select_search(query, min(k, len(ids)), ids)

    def _score_subset(
        self, query: np.ndarray, k: int, ids: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        keys, rows = self._rows_of(ids)
        scores = self._stored()[rows] @ query
        top = np.argsort(-scores, kind="stable")[:k]
        return keys[top], scores[top].astype(np.float32)

    def _select_search(
        self, query: np.ndarray, k: int, ids: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        selector = faiss.IDSelectorBatch(ids.astype(np.int64))
        faiss_: Any = faiss  # its stubs lack the selector keywords
        if self._ann is not None and len(ids) >= len(self) // 2:
            params = faiss_.SearchParametersIVF(sel=selector, nprobe=self._ann.nprobe)
            index = self._ann
        else:
            params, index = faiss_.SearchParameters(sel=selector), self._index
        scores, found = index.search(_matrix(query, self.dimension), k, params=params)
        keep = found[0] >= 0
        return found[0][keep], scores[0][keep]

    def _rows_of(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ids present here and their rows in the flat index."""
        stored = self.ids()
        order = self._order(stored)
        where = np.searchsorted(stored, ids, sorter=order)
        where = np.minimum(where, len(stored) - 1)
        rows = order[where]
        present = stored[rows] == ids
        return ids[present], rows[present]

    def _order(self, stored: np.ndarray) -> np.ndarray:
        """argsort of the stored ids, kept until the index changes."""
        cached = self._sorted
        if cached is None or len(cached) != len(stored):
            cached = np.argsort(stored, kind="stable")
            self._sorted = cached
        return cached

    def _stored(self) -> np.ndarray:
        """The flat index's vectors as an array view (no copy)."""
        import faiss

        flat: Any = faiss.downcast_index(self._index.index)
        data = faiss.rev_swig_ptr(flat.get_xb(), len(self) * self.dimension)
        return np.asarray(data).reshape(len(self), self.dimension)

    def exact_search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exhaustive search, whatever the size (what recall is measured against)."""
        scores, ids = self._index.search(_matrix(query, self.dimension), min(k, len(self)))
        return ids, scores

    def _searcher(self) -> Any:
        if self._ann is None and len(self) >= self.policy.min_vectors:
            self.build_ann(wait=False)
        return self._ann if self._ann is not None else self._index

    def build_ann(self, wait: bool = True) -> None:
        """Build the IVF index (once); `wait=False` returns at once and builds in the background."""
        with self._lock:
            if self._ann is None and self._building is None:
                self._building = threading.Thread(target=self._build_ann, daemon=True)
                self._building.start()
            building = self._building
        if wait and building is not None:
            building.join()

    def _build_ann(self) -> None:
        ann = build_ivf(self._index, self.policy)
        with self._lock:
            self._ann, self._building = ann, None

    def clone(self) -> VectorIndex:
        import faiss

        building = self._building
        if building is not None:
            building.join()  # cloning a half-built IVF is impossible; rebuilding it is waste
        copy = VectorIndex(self.dimension, self.policy)
        copy._index = faiss.clone_index(self._index)
        if self._ann is not None:
            copy._ann = faiss.clone_index(self._ann)
            copy._ann.nprobe = self._ann.nprobe
        return copy

    def remove(self, ids: np.ndarray) -> None:
        import faiss

        if len(ids):
            self._sorted = None
            self._index.remove_ids(faiss.IDSelectorBatch(ids.astype(np.int64)))
            if self._ann is not None:
                self._ann.remove_ids(faiss.IDSelectorBatch(ids.astype(np.int64)))

    def merge(self, other: VectorIndex) -> None:
        if len(other):
            self.add(other.ids(), other.vectors())

    def ids(self) -> np.ndarray:
        import faiss

        return np.asarray(faiss.vector_to_array(self._index.id_map), dtype=np.int64)

    def vectors(self) -> np.ndarray:
        return np.asarray(self._index.index.reconstruct_n(0, len(self)), dtype=np.float32)


def build_ivf(exact: Any, policy: AnnPolicy, batch: int = 65536) -> Any:
    """An IVF index (sqrt(n) lists, 8-bit codes) over the vectors of an exact IDMap2 index."""
    import faiss

    n, d = int(exact.ntotal), int(exact.d)
    lists = max(16, int(math.sqrt(n)))
    quantizer = faiss.IndexFlatIP(d)
    ivf = faiss.IndexIVFScalarQuantizer(
        quantizer, d, lists, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    ivf.cp.niter = 10
    ivf.cp.max_points_per_centroid = 40  # a 40-per-list sample trains well enough, and fast
    rows = np.random.default_rng(0).choice(n, size=min(n, 40 * lists), replace=False)
    ivf.train(np.vstack([exact.index.reconstruct(int(r)) for r in np.sort(rows)]))
    ids = np.asarray(faiss.vector_to_array(exact.id_map), dtype=np.int64)
    for start in range(0, n, batch):
        count = min(batch, n - start)
        ivf.add_with_ids(exact.index.reconstruct_n(start, count), ids[start : start + count])
    # Bigger indexes need a larger share of lists probed for the same recall (1M synthetic
    # vectors: recall@10 0.76 at 24 lists of 1000, 0.90 at 128); an eighth keeps it near 0.9.
    ivf.nprobe = min(lists, max(policy.nprobe, lists // 8))
    return ivf


def write_segment(
    folder: Path, name: str, ids: Sequence[int] | np.ndarray, vectors: np.ndarray
) -> Segment:
    """Write one segment file durably and return its manifest entry."""
    import faiss

    index = VectorIndex(vectors.shape[1])
    index.add(np.asarray(ids, dtype=np.int64), vectors)
    data = faiss.serialize_index(index._index).tobytes()
    atomic_write(folder / name, data)
    segment = Segment(file=name, sha256=sha256(data), count=len(ids))
    remember_written(folder, segment)  # its bytes were hashed as written: no re-hash at load
    return segment


def load_segments(
    folder: Path,
    segments: Sequence[Segment],
    dimension: int,
    live: np.ndarray | None = None,
    batch: int = 65536,
) -> VectorIndex:
    """Verify each segment's checksum, then merge its live vectors into one index.

    Segments are memory-mapped and copied in batches, so loading a 1M-vector collection holds
    one copy of the vectors in memory (plus one batch), never the file's bytes as well.
    """
    merged = VectorIndex(dimension)
    for segment in segments:
        index = open_segment(folder, segment, dimension)
        ids = _ids(index)
        for start in range(0, len(ids), batch):
            keys = ids[start : start + batch]
            vectors = index.index.reconstruct_n(start, len(keys))
            if live is not None:
                keep = np.isin(keys, live, assume_unique=True)
                keys, vectors = keys[keep], vectors[keep]
            merged.add(keys, vectors)
    return merged


def read_segment(
    folder: Path, segment: Segment, dimension: int, trust: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """A segment's ids and vectors, after checking size, checksum and shape."""
    index = open_segment(folder, segment, dimension, trust)
    return _ids(index), np.asarray(index.index.reconstruct_n(0, index.ntotal), dtype=np.float32)


def open_segment(folder: Path, segment: Segment, dimension: int, trust: bool = True) -> Any:
    """The segment's FAISS index, memory-mapped, once its checksum and shape check out.

    The checksum is computed by streaming the file (a 1M-vector segment is 1.5 GB), once per
    version of the file unless `trust` is off (verified.py).
    """
    import faiss

    path = folder / segment.file
    check_file(folder, segment, "segment", trust)
    try:
        index: Any = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
    except RuntimeError as exc:
        raise IndexCorrupt(f"segment {segment.file} is not a FAISS index: {exc}") from exc
    if index.d != dimension or index.ntotal != segment.count:
        raise IndexCorrupt(f"segment {segment.file} holds {index.ntotal}x{index.d} vectors")
    return index


def _ids(index: Any) -> np.ndarray:
    import faiss

    return np.asarray(faiss.vector_to_array(index.id_map), dtype=np.int64)


def _matrix(vectors: np.ndarray, dimension: int) -> np.ndarray:
    return np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dimension)
