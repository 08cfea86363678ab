"""Large collections: compressed codes in memory find candidates, exact vectors on disk rank them.

From `AnnPolicy.min_vectors` live vectors the writer keeps an IVF-PQ index (4-bit fast-scan
codes, 24 bytes a vector at 384 dimensions) in its own file beside the segments. A reader holds
only those codes and the chunk ids in memory; the float vectors stay in the segment files,
on disk, and only the candidates' rows are read to re-rank them exactly.
"""

from __future__ import annotations

import math
import os
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import IndexCorrupt
from index.faiss_store.manifest import Segment, atomic_write, sha256
from index.faiss_store.vectors import EXACT_SUBSET, AnnPolicy, current_policy, open_segment

ANN_SUFFIX = ".ivfpq"
TRAIN_PER_LIST = 40  # training sample per IVF list: enough for these codes, and fast
BATCH = 65536
# Candidates re-ranked at least: 24-byte codes order a cluster's members roughly, so a small k
# still takes enough of them for the exact vectors to sort out (reading one is ~2 us).
MIN_CANDIDATES = 128


class SegmentFile:
    """One segment's ids (in memory) and float vectors (read from the file when needed).

    An IndexIDMap2 over a flat index ends with its vectors, then the id count and the ids; the
    first and last rows are checked against FAISS's own reading, so a layout change is caught.
    Rows are read with pread, not through a mapping: the page cache holds them, and the
    process's resident memory does not grow with every page a search ever touched (mapped
    pages count there, and fault-around maps sixteen of them at a time).
    """

    def __init__(self, folder: Path, segment: Segment, dimension: int) -> None:
        index = open_segment(folder, segment, dimension)  # checksum, shape
        n, path = segment.count, folder / segment.file
        end = path.stat().st_size - 8 * n
        self.ids = np.fromfile(path, np.int64, count=n, offset=end)
        self.dimension, self.row_bytes = dimension, 4 * dimension
        self.offset = end - 8 - self.row_bytes * n
        self._fd = os.open(path, os.O_RDONLY)
        self._closer = weakref.finalize(self, os.close, self._fd)
        _check_layout(self, index, segment.file)

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """The vectors of `rows`, in sorted row order: one read of the span when the rows lie
        close together (a batch), else one read each (candidates to re-rank)."""
        rows = np.sort(rows)
        if len(rows) == 0:
            return np.empty((0, self.dimension), dtype=np.float32)
        span = int(rows[-1] - rows[0]) + 1
        if span <= 4 * len(rows):
            block: np.ndarray = self.span(int(rows[0]), span)[rows - rows[0]]
            return block
        out = np.empty((len(rows), self.dimension), dtype=np.float32)
        for i, row in enumerate(rows.tolist()):
            out[i] = np.frombuffer(self._read(row * self.row_bytes, self.row_bytes), np.float32)
        return out

    def span(self, first: int, count: int) -> np.ndarray:
        """`count` consecutive rows from `first`."""
        data = self._read(first * self.row_bytes, count * self.row_bytes)
        return np.frombuffer(data, np.float32).reshape(count, self.dimension)

    def _read(self, at: int, size: int) -> bytes:
        data = os.pread(self._fd, size, self.offset + at)
        if len(data) != size:
            raise IndexCorrupt("a segment file is shorter than its manifest says")
        return data


_NO_IDS = np.empty(0, dtype=np.int64)


def _check_layout(part: SegmentFile, index: Any, name: str) -> None:
    n = len(part)
    if n == 0:
        return
    known = int(index.id_map.at(0)), int(index.id_map.at(n - 1))
    same_ids = part.ids[0] == known[0] and part.ids[-1] == known[1]
    first, last = index.index.reconstruct(0), index.index.reconstruct(n - 1)
    same = np.array_equal(part.span(0, 1)[0], first) and np.array_equal(
        part.span(n - 1, 1)[0], last
    )
    if not (same_ids and same):
        raise IndexCorrupt(f"segment {name}: vectors are not where this ragd expects them")


class CompressedIndex:
    """The VectorIndex interface over IVF-PQ codes plus exact vectors read from disk."""

    approximate = True
    on_disk = True  # float vectors are read from the segment files, not held in memory

    def __init__(self, parts: list[SegmentFile], live: np.ndarray, ann: Any, policy: AnnPolicy):
        self.parts, self.ann, self.policy = parts, ann, policy
        self.dimension = int(ann.d)
        keys = [p.ids[np.isin(p.ids, live)] if len(p.ids) else _NO_IDS for p in parts]
        rows = [np.flatnonzero(np.isin(p.ids, live)) for p in parts]
        part_of = [np.full(len(k), i, dtype=np.int32) for i, k in enumerate(keys)]
        ids = np.concatenate(keys or [_NO_IDS])
        order = np.argsort(ids, kind="stable")
        self._ids = ids[order]  # sorted live ids, then where each one lies
        self._part = np.concatenate(part_of or [np.empty(0, np.int32)])[order]
        self._row = np.concatenate(rows or [np.empty(0, np.int64)]).astype(np.int32)[order]

    def __len__(self) -> int:
        return len(self._ids)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The `k` nearest: candidates from the codes, re-ranked by exact inner products."""
        k = min(k, len(self))
        if k <= 0:
            return _NO_IDS, np.empty(0, dtype=np.float32)
        _, found = self.ann.search(_row(query, self.dimension), self._candidates(k))
        return self._rerank(_row(query, self.dimension)[0], found[0][found[0] >= 0], k)

    def _candidates(self, k: int) -> int:
        return min(len(self), max(self.policy.rerank * k, MIN_CANDIDATES))

    def search_among(
        self, query: np.ndarray, k: int, ids: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `k` nearest among `ids`: a small subset is scored exactly; a larger one is
        searched through the codes with an ID selector, falling back to a scan of the subset
        when the probed lists hold fewer than `k` of it."""
        q = _row(query, self.dimension)
        if len(ids) == 0 or k <= 0:
            return _NO_IDS, np.empty(0, dtype=np.float32)
        if len(ids) <= EXACT_SUBSET:
            return self._rerank(q[0], ids, k)
        found = self._select_search(q, ids, k)
        if len(found) < min(k, len(ids)):
            return self._scan(q[0], ids, k)
        return self._rerank(q[0], found, k)

    def _select_search(self, q: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
        import faiss

        faiss_: Any = faiss  # its stubs lack the selector keywords
        selector = faiss.IDSelectorBatch(ids.astype(np.int64))
        nprobe = faiss.extract_index_ivf(self.ann).nprobe
        params = faiss_.SearchParametersIVF(sel=selector, nprobe=nprobe)
        _, found = self.ann.search(q, self._candidates(k), params=params)
        return np.asarray(found[0][found[0] >= 0])

    def _scan(self, q: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact top `k` of a large subset, a batch at a time (rare: a sparse filter)."""
        best_ids, best = _NO_IDS, np.empty(0, dtype=np.float32)
        for start in range(0, len(ids), BATCH):
            keys, scores = self._rerank(q, ids[start : start + BATCH], k)
            keys, scores = np.concatenate([best_ids, keys]), np.concatenate([best, scores])
            best_ids, best = _top(keys, scores, k)
        return best_ids, best

    def _rerank(self, q: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact scores of the live `ids`, read from the segment files; the best `k`."""
        keys, parts, rows = self._where(np.unique(ids))
        scores = np.empty(len(keys), dtype=np.float32)
        for p in np.unique(parts):
            mine = np.flatnonzero(parts == p)
            order = np.argsort(rows[mine], kind="stable")  # rows() returns them sorted
            scores[mine[order]] = self.parts[p].rows(rows[mine]) @ q
        return _top(keys, scores, k)

    def _where(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The live ones of `ids` (sorted), with their part and row."""
        if len(self._ids) == 0:
            return _NO_IDS, np.empty(0, np.int32), np.empty(0, np.int32)
        at = np.minimum(np.searchsorted(self._ids, ids), len(self._ids) - 1)
        present = self._ids[at] == ids
        at = at[present]
        return ids[present], self._part[at], self._row[at]

    def exact_search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exhaustive search over the vectors on disk (what recall is measured against)."""
        ids, scores = self._scan(_row(query, self.dimension)[0], self._ids, k)
        return ids[None, :], scores[None, :]

    def ids(self) -> np.ndarray:
        return self._ids.copy()

    def vectors(self) -> np.ndarray:
        """Every live vector, in `ids()` order (compaction and export read them)."""
        out = np.empty((len(self), self.dimension), dtype=np.float32)
        for p, part in enumerate(self.parts):
            mine = np.flatnonzero(self._part == p)
            order = np.argsort(self._row[mine], kind="stable")
            out[mine[order]] = part.rows(self._row[mine])
        return out

    def build_ann(self, wait: bool = True) -> None:
        """Nothing to build: the writer keeps the codes up to date."""


def _top(ids: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The best `k` by score, ties by the smaller id (as a flat index orders them)."""
    order = np.lexsort((ids, -scores))[:k]
    return ids[order], scores[order].astype(np.float32)


def _row(vectors: np.ndarray, dimension: int) -> np.ndarray:
    return np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dimension)


# The writer's side: train, update and store the codes.


def new_ann(parts: Sequence[SegmentFile], live: np.ndarray, dimension: int) -> Any:
    """An IVF-PQ index (sqrt(n) lists, 4-bit fast-scan codes) trained on a sample of `live`."""
    import faiss

    n = len(live)
    lists = max(16, int(math.sqrt(n)))
    codes = max(1, dimension // 8)  # 8 dimensions a sub-quantizer, 4 bits each
    ann = faiss.index_factory(dimension, f"IVF{lists},PQ{codes}x4fs", faiss.METRIC_INNER_PRODUCT)
    ivf = faiss.extract_index_ivf(ann)
    ivf.cp.niter = 10
    sample = np.sort(np.random.default_rng(0).choice(live, min(n, TRAIN_PER_LIST * lists), False))
    ann.train(np.concatenate([v for _, v in _batches(parts, sample)]))
    return ann


def update_ann(ann: Any, parts: Sequence[SegmentFile], live: np.ndarray, new: np.ndarray) -> Any:
    """`ann` without the chunks no longer live and with the `new` ids added."""
    import faiss

    ann.remove_ids(faiss.IDSelectorNot(faiss.IDSelectorBatch(live.astype(np.int64))))
    for keys, vectors in _batches(parts, np.sort(new)):
        ann.add_with_ids(vectors, keys)
    return ann


def stale(ann: Any, live: int) -> bool:
    """Retrain once the collection has grown past 4x what the lists were sized for."""
    import faiss

    return int(faiss.extract_index_ivf(ann).nlist) ** 2 * 4 < live


def _batches(
    parts: Sequence[SegmentFile], wanted: np.ndarray
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(ids, vectors) of the `wanted` ids (sorted), read part by part, a batch at a time."""
    for part in parts:
        rows = np.flatnonzero(np.isin(part.ids, wanted))
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            yield np.asarray(part.ids[chunk]), part.rows(chunk)


def write_ann(folder: Path, name: str, ann: Any) -> Segment:
    import faiss

    data = faiss.serialize_index(ann).tobytes()
    atomic_write(folder / name, data)
    return Segment(file=name, sha256=sha256(data), count=int(ann.ntotal))


def read_ann(folder: Path, segment: Segment, policy: AnnPolicy | None = None) -> Any:
    """The stored codes, checked, with nprobe set for the policy's recall."""
    import faiss

    data = _checked(folder, segment)
    try:
        ann: Any = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
    except RuntimeError as exc:
        raise IndexCorrupt(f"ANN index {segment.file} is unreadable: {exc}") from exc
    if ann.ntotal != segment.count:
        raise IndexCorrupt(f"ANN index {segment.file} holds {ann.ntotal} vectors")
    lists = int(faiss.extract_index_ivf(ann).nlist)
    policy = policy or current_policy()
    faiss.extract_index_ivf(ann).nprobe = min(
        lists, max(policy.nprobe, math.ceil(lists * policy.probe_share))
    )
    return ann


def _checked(folder: Path, segment: Segment) -> bytes:
    try:
        data = (folder / segment.file).read_bytes()
    except OSError as exc:
        raise IndexCorrupt(f"ANN index {segment.file} cannot be read: {exc}") from exc
    if sha256(data) != segment.sha256:
        raise IndexCorrupt(f"ANN index {segment.file} fails its checksum (truncated or altered)")
    return data


def open_compressed(
    folder: Path,
    segments: Sequence[Segment],
    ann: Segment,
    dimension: int,
    live: np.ndarray,
    opened: dict[Segment, SegmentFile] | None = None,
) -> CompressedIndex:
    """A reader's index: the segment files (ids in memory, vectors on disk) and the codes.
    Segments in `opened` (the last generation's) are reused, not checksummed again; it is
    left holding this generation's."""
    known = dict(opened or {})
    parts = [known.get(s) or SegmentFile(folder, s, dimension) for s in segments]
    if opened is not None:
        opened.clear()
        opened.update(zip(segments, parts, strict=True))
    return CompressedIndex(parts, live, read_ann(folder, ann), current_policy())
