"""The BM25 keyword index (index.bm25): immutable term-count segments beside the FAISS segments.

Each commit that adds chunks writes one segment holding only the new chunks' term counts,
tokenized by bm25s (lower case, English stop words, Snowball stems). Document frequencies, the
chunk count and the mean chunk length are taken over the live chunks when a generation loads,
so a delete rewrites nothing and scores stay exact. Scores are Lucene's BM25, the variant behind
the published BEIR baselines.
"""

from __future__ import annotations

import io
import json
import os
import struct
import weakref
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np

# The terms and parameters are index.bm25's, shared by both stores (re-exported here).
from index.bm25 import K1 as K1
from index.bm25 import MAX_QUERY_TERMS as MAX_QUERY_TERMS
from index.bm25 import B as B
from index.bm25 import idf, term_scores
from index.bm25 import query_terms as query_terms
from index.bm25 import tokenize as tokenize
from index.errors import IndexCorrupt
from index.faiss_store.manifest import Segment, atomic_write, sha256
from index.faiss_store.maxscore import MaxScore, Part, Sums
from index.faiss_store.verified import check_file, remember_written

KEYWORD_FORMAT = "tf-csc-bm25s-en-snowball-v1"  # how terms were made; checked when loading
KEYWORD_SUFFIX = ".bm25"
Postings = tuple[np.ndarray, np.ndarray, np.ndarray]  # segment rows, term counts, chunk lengths


@dataclass(frozen=True)
class TermCounts:
    """One segment: how often each term occurs in each of its chunks (chunks x terms, CSC)."""

    chunk_ids: np.ndarray  # int64, one per row
    lengths: np.ndarray  # float32, terms per chunk after stop words
    terms: dict[str, int]  # term -> column
    indptr: np.ndarray  # int64, where each column starts
    rows: np.ndarray  # int32, the row of each count
    counts: np.ndarray  # float32
    file: PostingsFile | None = None  # where rows and counts lie on disk, once written
    # per term, the largest count and the shortest chunk among its postings: together they
    # bound the term's BM25 in this segment whatever the collection's mean length (None: a
    # segment written before bounds were kept)
    max_tf: np.ndarray | None = None
    min_len: np.ndarray | None = None

    def postings(self, term: str, alive: np.ndarray | None) -> Postings:
        """The rows of the live chunks holding `term` (`alive` None: every row is), with
        their counts and lengths. Only this term's slice of the postings is read from the
        file (pread: the page cache keeps it, not this process's memory)."""
        column = self.terms.get(term)
        if column is None:
            return _NO_POSTINGS
        start, end = int(self.indptr[column]), int(self.indptr[column + 1])
        if self.file is not None:
            rows, counts = self.file.read(start, end)
        else:
            rows, counts = np.asarray(self.rows[start:end]), np.asarray(self.counts[start:end])
        if alive is not None:
            keep = alive[rows]
            rows, counts = rows[keep], counts[keep]
        return rows, counts, np.asarray(self.lengths[rows])

    def column(self, column: int) -> tuple[np.ndarray, np.ndarray]:
        """A term's rows and counts, every posting (dead chunks too)."""
        start, end = int(self.indptr[column]), int(self.indptr[column + 1])
        if self.file is not None:
            return self.file.read(start, end)
        return np.asarray(self.rows[start:end]), np.asarray(self.counts[start:end])

    def counts_at(self, column: int, at: np.ndarray) -> np.ndarray:
        """The counts of a term's postings number `at` (sorted): one read from the first to
        the last."""
        if not len(at):
            return np.empty(0, np.float32)
        start = int(self.indptr[column])
        first, last = start + int(at[0]), start + int(at[-1]) + 1
        span = self.file.counts(first, last) if self.file else np.asarray(self.counts[first:last])
        picked: np.ndarray = span[at - at[0]]
        return picked


class PostingsFile:
    """A written segment's rows and counts arrays, read a term's slice at a time."""

    def __init__(self, path: Path, rows_at: int, counts_at: int) -> None:
        self.rows_at, self.counts_at = rows_at, counts_at
        self._fd = os.open(path, os.O_RDONLY)
        self._closer = weakref.finalize(self, os.close, self._fd)

    def read(self, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        size = 4 * (end - start)  # int32 rows, float32 counts
        rows = os.pread(self._fd, size, self.rows_at + 4 * start)
        counts = os.pread(self._fd, size, self.counts_at + 4 * start)
        if len(rows) != size or len(counts) != size:
            raise IndexCorrupt("a keyword segment is shorter than its header says")
        return np.frombuffer(rows, np.int32), np.frombuffer(counts, np.float32)

    def counts(self, start: int, end: int) -> np.ndarray:
        data = os.pread(self._fd, 4 * (end - start), self.counts_at + 4 * start)
        if len(data) != 4 * (end - start):
            raise IndexCorrupt("a keyword segment is shorter than its header says")
        return np.frombuffer(data, np.float32)


_EMPTY = (np.empty(0, np.int64), np.empty(0, np.float32))
_NO_POSTINGS: Postings = (np.empty(0, np.int32), np.empty(0, np.float32), np.empty(0, np.float32))


def count_terms(chunk_ids: Sequence[int] | np.ndarray, texts: Sequence[str]) -> TermCounts:
    """Tokenize `texts` and count each term per chunk."""
    from scipy.sparse import csc_matrix

    ids, vocab = tokenize(texts) if len(texts) else ([], {})
    sizes = np.array([len(row) for row in ids], dtype=np.int64)
    lengths = sizes.astype(np.float32)
    # counted in integers: a float32 sum is off by some once past 2^24 terms (~400k chunks)
    cols = np.fromiter((t for row in ids for t in row), dtype=np.int32, count=int(sizes.sum()))
    rows = np.repeat(np.arange(len(ids), dtype=np.int32), sizes)
    ones = np.ones(len(cols), dtype=np.float32)
    matrix = csc_matrix((ones, (rows, cols)), shape=(len(ids), len(vocab)), dtype=np.float32)
    matrix.sum_duplicates()
    return TermCounts(
        chunk_ids=np.asarray(chunk_ids, dtype=np.int64),
        lengths=lengths,
        terms=dict(vocab),
        indptr=matrix.indptr.astype(np.int64),
        rows=matrix.indices.astype(np.int32),
        counts=matrix.data.astype(np.float32),
    )


class KeywordIndex:
    """BM25 over the live chunks of one generation, across its term-count segments."""

    def __init__(self, segments: Mapping[Segment, TermCounts], live: np.ndarray) -> None:
        self.segments = dict(segments)  # the next generation reuses the unchanged ones
        masks = [(s, np.isin(s.chunk_ids, live)) for s in self.segments.values()]
        self.live_count = sum(int(alive.sum()) for _, alive in masks)
        length = sum(float(s.lengths[alive].sum()) for s, alive in masks)
        self._mean_length = length / self.live_count if self.live_count else 1.0
        # a segment whose chunks all live needs no mask per posting (the common case)
        self._parts = [(s, None if alive.all() else alive) for s, alive in masks]
        self._masks = masks
        bases = np.cumsum([0] + [len(s.chunk_ids) for s, _ in self._parts])
        self._pruning = [Part(s, a, int(b)) for (s, a), b in zip(self._parts, bases, strict=False)]
        # segments written before bounds were kept are searched exhaustively
        self.bounded = all(s.max_tf is not None for s, _ in self._parts)
        self._sums = Sums(int(bases[-1]))

    def covers(self, live: np.ndarray) -> bool:
        """Whether every live chunk is in exactly one segment."""
        ids = np.concatenate([s.chunk_ids[alive] for s, alive in self._masks] or [_EMPTY[0]])
        ids.sort()  # a sort and a comparison: np.unique hashes, 2 s at 1M chunks
        return len(ids) == len(live) and not np.any(ids[1:] == ids[:-1])

    def search(
        self, text: str, k: int, max_terms: int = MAX_QUERY_TERMS, among: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, BM25 scores) of the best `k` live chunks sharing a term with `text`;
        with `among` (sorted chunk ids), only those chunks (statistics stay the collection's).
        Ties go to the older chunk (the smaller id)."""
        if k <= 0:
            return _EMPTY
        terms = query_terms(text, max_terms)
        if among is None and self.bounded and self.live_count:
            return MaxScore(self._pruning, self.live_count, self._mean_length, self._sums).top(
                terms, k
            )
        return self._exhaustive(terms, k, among)

    def search_exhaustive(
        self, text: str, k: int, max_terms: int = MAX_QUERY_TERMS
    ) -> tuple[np.ndarray, np.ndarray]:
        """`search` summing every posting of every term (what the pruned search must equal)."""
        return self._exhaustive(query_terms(text, max_terms), k, None) if k > 0 else _EMPTY

    def _exhaustive(
        self, terms: Mapping[str, int], k: int, among: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        totals = self._totals(terms)
        found = [
            _best(segment.chunk_ids, total.astype(np.float32), k, among)
            for (segment, _), total in zip(self._parts, totals, strict=True)
        ]
        ids = np.concatenate([f[0] for f in found] or [_EMPTY[0]]).astype(np.int64)
        scores = np.concatenate([f[1] for f in found] or [_EMPTY[1]])
        top = np.lexsort((ids, -scores))[:k]
        return ids[top], scores[top]

    def scores(self, terms: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
        """BM25 of every live chunk holding at least one of `terms` (term -> query count),
        by chunk id."""
        ids, sums = [], []
        for (segment, _), total in zip(self._parts, self._totals(terms), strict=True):
            rows = np.flatnonzero(total)  # every term's score is > 0: 0 means no term
            ids.append(segment.chunk_ids[rows])
            sums.append(total[rows])
        if not ids:
            return _EMPTY
        merged, totals = np.concatenate(ids).astype(np.int64), np.concatenate(sums)
        order = np.argsort(merged, kind="stable")
        return merged[order], totals[order].astype(np.float32)

    def _totals(self, terms: Mapping[str, int]) -> list[np.ndarray]:
        """Each segment's BM25 per row, summed term by term in a dense float64 array: the same
        additions in the same order as a sparse sum (so the same scores), at the cost of one
        pass over the postings rather than a sort of them."""
        totals = [np.zeros(len(s.chunk_ids)) for s, _ in self._parts]
        for term, weight in terms.items() if self.live_count else ():
            found = [segment.postings(term, alive) for segment, alive in self._parts]
            if not sum(len(f[0]) for f in found):
                continue
            scores, start = weight * self._term_score(found), 0
            for f, total in zip(found, totals, strict=True):
                total[f[0]] += scores[start : start + len(f[0])]  # rows are unique per term
                start += len(f[0])
        return totals

    def _term_score(self, found: list[Postings]) -> np.ndarray:
        counts = np.concatenate([f[1] for f in found]).astype(np.float64)
        lengths = np.concatenate([f[2] for f in found])
        return term_scores(idf(self.live_count, len(counts)), counts, lengths, self._mean_length)


def _best(
    chunk_ids: np.ndarray, scores: np.ndarray, k: int, among: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """A segment's rows that can be in the top `k`: every row scoring at least its k-th best
    (ties included, so the final order by score then id is exact)."""
    if among is not None:
        scores[~np.isin(chunk_ids, among)] = 0
    kth = _kth_largest(scores, k) if len(scores) > k else 0.0
    rows = np.flatnonzero(scores >= kth) if kth > 0 else np.flatnonzero(scores)
    return chunk_ids[rows], scores[rows]


def _kth_largest(scores: np.ndarray, k: int, stride: int = 16) -> float:
    """The k-th largest score. Every `stride`-th score is a sample whose own k-th largest
    bounds it from below (those k rows score at least that), so only the few rows above
    that bound are partitioned, not all of them."""
    sample = scores[::stride]
    if len(sample) > k:
        bound = np.partition(sample, len(sample) - k)[len(sample) - k]
        scores = scores[scores >= bound]
    return float(np.partition(scores, len(scores) - k)[len(scores) - k])


def to_bytes(segment: TermCounts) -> bytes:
    buffer = io.BytesIO()
    header = {"format": KEYWORD_FORMAT, "terms": segment.terms}
    bounds = term_bounds(segment)
    np.savez(
        buffer,
        header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
        chunk_ids=segment.chunk_ids,
        lengths=segment.lengths,
        indptr=segment.indptr,
        rows=segment.rows,
        counts=segment.counts,
        max_tf=bounds["max_tf"],
        min_len=bounds["min_len"],
    )
    return buffer.getvalue()


def term_bounds(segment: TermCounts) -> dict[str, np.ndarray]:
    """Each term's largest count and shortest chunk (0 and inf for a term with no postings)."""
    sizes = np.diff(segment.indptr)
    held = sizes > 0
    max_tf = np.zeros(len(sizes), dtype=np.float32)
    min_len = np.full(len(sizes), np.inf, dtype=np.float32)
    if held.any():
        starts = segment.indptr[:-1][held]
        max_tf[held] = np.maximum.reduceat(segment.counts, starts)
        min_len[held] = np.minimum.reduceat(segment.lengths[segment.rows], starts)
    return {"max_tf": max_tf, "min_len": min_len}


def from_bytes(data: bytes) -> TermCounts:
    return _from_arrays(np.load(io.BytesIO(data), allow_pickle=False))


def _from_arrays(arrays: Mapping[str, np.ndarray]) -> TermCounts:
    header = json.loads(np.asarray(arrays["header"]).tobytes())
    if header.get("format") != KEYWORD_FORMAT:
        raise ValueError(f"format {header.get('format')!r}, this ragd reads {KEYWORD_FORMAT!r}")
    return TermCounts(
        chunk_ids=arrays["chunk_ids"],
        lengths=arrays["lengths"],
        terms=header["terms"],
        indptr=arrays["indptr"],
        rows=arrays["rows"],
        counts=arrays["counts"],
        max_tf=arrays.get("max_tf"),
        min_len=arrays.get("min_len"),
    )


def write_keyword(folder: Path, name: str, segment: TermCounts) -> Segment:
    """Write one term-count segment durably and return its manifest entry."""
    data = to_bytes(segment)
    atomic_write(folder / name, data)
    written = Segment(file=name, sha256=sha256(data), count=len(segment.chunk_ids))
    remember_written(folder, written)  # hashed as written: no re-hash at load
    return written


def read_keyword(folder: Path, segment: Segment, trust: bool = True) -> TermCounts:
    """A term-count segment, memory-mapped, after checking its checksum (streamed, once per
    version of the file unless `trust` is off: verified.py) and size.

    The file is an uncompressed .npz, so each array lies whole inside it: mapping them keeps
    the postings on disk (and in the page cache), not in the process's own memory.
    """
    path = folder / segment.file
    check_file(folder, segment, "keyword segment", trust)
    try:
        arrays, offsets = map_npz(path)
        counts = _with_file(_from_arrays(arrays), path, offsets)
    except (ValueError, KeyError, OSError, zipfile.BadZipFile) as exc:
        raise IndexCorrupt(f"keyword segment {segment.file} is unreadable: {exc}") from exc
    if len(counts.chunk_ids) != segment.count:
        raise IndexCorrupt(f"keyword segment {segment.file} holds {len(counts.chunk_ids)} chunks")
    return counts


def _with_file(counts: TermCounts, path: Path, offsets: dict[str, int]) -> TermCounts:
    """`counts` reading its postings from `path` (when they are the expected int32/float32)."""
    if counts.rows.dtype != np.int32 or counts.counts.dtype != np.float32:
        return counts
    if "rows" not in offsets or "counts" not in offsets:
        return counts  # empty arrays: nothing to read
    return replace(counts, file=PostingsFile(path, offsets["rows"], offsets["counts"]))


def map_npz(path: Path) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Each array of an uncompressed .npz, memory-mapped read-only where it lies in the file,
    and where each one's data starts."""
    arrays, offsets = {}, {}
    with zipfile.ZipFile(path) as archive, open(path, "rb") as handle:
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"{info.filename} is compressed")
            handle.seek(info.header_offset)
            local = handle.read(30)  # the local file header: its name and extra field follow
            name_len, extra_len = struct.unpack("<HH", local[26:30])
            handle.seek(info.header_offset + 30 + name_len + extra_len)
            name = info.filename.removesuffix(".npy")
            arrays[name], offsets[name] = _map_npy(path, handle)
    return arrays, offsets


def _map_npy(path: Path, handle: BinaryIO) -> tuple[np.ndarray, int]:
    """The .npy array starting at the handle's position, mapped (an empty one made), and
    where its data starts."""
    version = np.lib.format.read_magic(handle)
    read = np.lib.format.read_array_header_1_0
    if version != (1, 0):
        read = np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read(handle)
    if fortran or dtype.hasobject:
        raise ValueError("unexpected array layout")
    if int(np.prod(shape)) == 0:
        return np.empty(shape, dtype=dtype), handle.tell()
    mapped = np.memmap(path, dtype=dtype, mode="r", offset=handle.tell(), shape=shape)
    return mapped.view(np.ndarray), handle.tell()  # a plain view: slicing a memmap is slow


def load_keyword(
    folder: Path,
    segments: Sequence[Segment],
    live: np.ndarray,
    loaded: KeywordIndex | None,
    trust: bool = True,
) -> KeywordIndex:
    """The generation's keyword index, reusing segments `loaded` already holds."""
    known = loaded.segments if loaded else {}
    read = {s: known.get(s) or read_keyword(folder, s, trust) for s in segments}
    return KeywordIndex(read, live)


def merge_counts(parts: Sequence[tuple[TermCounts, np.ndarray]]) -> TermCounts:
    """One segment of the rows each `alive` mask keeps, without tokenizing anything again."""
    from scipy.sparse import csc_matrix

    terms: dict[str, int] = {}
    for segment, _ in parts:
        for term in segment.terms:
            terms.setdefault(term, len(terms))
    rows, cols, counts, base = [], [], [], 0
    for segment, alive in parts:
        renumber = np.cumsum(alive) - 1 + base  # old row -> new row, for kept rows
        remap = np.array([terms[t] for t in segment.terms], dtype=np.int64)
        column = np.repeat(np.arange(len(segment.terms)), np.diff(segment.indptr))
        keep = alive[segment.rows]
        rows.append(renumber[segment.rows[keep]])
        cols.append(remap[column[keep]] if len(remap) else column[keep])
        counts.append(segment.counts[keep])
        base += int(alive.sum())
    matrix = csc_matrix(
        (np.concatenate(counts), (np.concatenate(rows), np.concatenate(cols))),
        shape=(base, len(terms)),
        dtype=np.float32,
    )
    return TermCounts(
        chunk_ids=np.concatenate([s.chunk_ids[alive] for s, alive in parts]),
        lengths=np.concatenate([s.lengths[alive] for s, alive in parts]),
        terms=terms,
        indptr=matrix.indptr.astype(np.int64),
        rows=matrix.indices.astype(np.int32),
        counts=matrix.data.astype(np.float32),
    )


class _TextSource(Protocol):
    def live_texts(self, gen: int) -> tuple[np.ndarray, list[str]]: ...


def keyword_segments(
    folder: Path,
    gen: int,
    current: Sequence[Segment],
    added: tuple[Sequence[int], Sequence[str]],
    compact_to: np.ndarray | None = None,
) -> tuple[Segment, ...]:
    """Generation `gen`'s segments: `current` plus one for the `added` (ids, texts) chunks.

    With `compact_to` (the live chunk ids), everything is merged into one segment instead.
    A pure delete adds nothing: dead chunks are masked out when the generation loads.
    """
    name = f"kw-{gen:08d}{KEYWORD_SUFFIX}"
    new = count_terms(*added) if len(added[0]) else None
    if compact_to is None:
        return (*current, write_keyword(folder, name, new)) if new else tuple(current)
    parts = [(read_keyword(folder, s), np.empty(0, dtype=bool)) for s in current]
    parts = [(c, np.isin(c.chunk_ids, compact_to)) for c, _ in parts]
    if new is not None:
        parts.append((new, np.ones(len(new.chunk_ids), dtype=bool)))
    return (write_keyword(folder, name, merge_counts(parts)),)


def keyword_from_store(folder: Path, gen: int, store: _TextSource) -> tuple[Segment, ...]:
    """One segment for every chunk live at `gen` (a collection built before keyword search)."""
    name = f"kw-{gen:08d}{KEYWORD_SUFFIX}"
    return (write_keyword(folder, name, count_terms(*store.live_texts(gen))),)
