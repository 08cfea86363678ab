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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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

KEYWORD_FORMAT = "tf-csc-bm25s-en-snowball-v1"  # how terms were made; checked when loading
KEYWORD_SUFFIX = ".bm25"
Postings = tuple[np.ndarray, np.ndarray, np.ndarray]  # chunk ids, term counts, chunk lengths


@dataclass(frozen=True)
class TermCounts:
    """One segment: how often each term occurs in each of its chunks (chunks x terms, CSC)."""

    chunk_ids: np.ndarray  # int64, one per row
    lengths: np.ndarray  # float32, terms per chunk after stop words
    terms: dict[str, int]  # term -> column
    indptr: np.ndarray  # int64, where each column starts
    rows: np.ndarray  # int32, the row of each count
    counts: np.ndarray  # float32

    def postings(self, term: str, alive: np.ndarray) -> Postings:
        """The live chunks holding `term`, with their counts and lengths."""
        column = self.terms.get(term)
        if column is None:
            return _EMPTY
        start, end = self.indptr[column], self.indptr[column + 1]
        rows, counts = self.rows[start:end], self.counts[start:end]
        keep = alive[rows]
        rows = rows[keep]
        return self.chunk_ids[rows], counts[keep], self.lengths[rows]


_EMPTY: Postings = (np.empty(0, np.int64), np.empty(0, np.float32), np.empty(0, np.float32))


def count_terms(chunk_ids: Sequence[int] | np.ndarray, texts: Sequence[str]) -> TermCounts:
    """Tokenize `texts` and count each term per chunk."""
    from scipy.sparse import csc_matrix

    ids, vocab = tokenize(texts) if len(texts) else ([], {})
    lengths = np.array([len(row) for row in ids], dtype=np.float32)
    cols = np.fromiter((t for row in ids for t in row), dtype=np.int32, count=int(lengths.sum()))
    rows = np.repeat(np.arange(len(ids), dtype=np.int32), lengths.astype(np.int64))
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
        self._parts = [(s, np.isin(s.chunk_ids, live)) for s in self.segments.values()]
        self.live_count = sum(int(alive.sum()) for _, alive in self._parts)
        length = sum(float(s.lengths[alive].sum()) for s, alive in self._parts)
        self._mean_length = length / self.live_count if self.live_count else 1.0

    def covers(self, live: np.ndarray) -> bool:
        """Whether every live chunk is in exactly one segment."""
        ids = np.concatenate([s.chunk_ids[alive] for s, alive in self._parts] or [_EMPTY[0]])
        return len(ids) == len(live) == len(np.unique(ids))

    def search(
        self, text: str, k: int, max_terms: int = MAX_QUERY_TERMS, among: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, BM25 scores) of the best `k` live chunks sharing a term with `text`;
        with `among` (sorted chunk ids), only those chunks (statistics stay the collection's)."""
        ids, scores = self.scores(query_terms(text, max_terms))
        if among is not None:
            keep = np.isin(ids, among, assume_unique=True)
            ids, scores = ids[keep], scores[keep]
        if len(ids) == 0 or k <= 0:
            return ids[:0], scores[:0]
        top = np.argpartition(-scores, min(k, len(ids)) - 1)[:k]
        top = top[np.lexsort((ids[top], -scores[top]))]  # ties: the older chunk first
        return ids[top], scores[top]

    def scores(self, terms: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
        """BM25 of every live chunk holding at least one of `terms` (term -> query count)."""
        ids, parts = [], []
        for term, weight in terms.items() if self.live_count else ():
            found = [segment.postings(term, alive) for segment, alive in self._parts]
            chunk_ids = np.concatenate([f[0] for f in found])
            if len(chunk_ids):
                ids.append(chunk_ids)
                parts.append(weight * self._term_score(found))
        if not ids:
            return _EMPTY[0], _EMPTY[1]
        unique, where = np.unique(np.concatenate(ids), return_inverse=True)
        totals = np.zeros(len(unique), dtype=np.float64)
        np.add.at(totals, where, np.concatenate(parts))
        return unique, totals.astype(np.float32)

    def _term_score(self, found: list[Postings]) -> np.ndarray:
        counts = np.concatenate([f[1] for f in found]).astype(np.float64)
        lengths = np.concatenate([f[2] for f in found])
        return term_scores(idf(self.live_count, len(counts)), counts, lengths, self._mean_length)


def to_bytes(segment: TermCounts) -> bytes:
    buffer = io.BytesIO()
    header = {"format": KEYWORD_FORMAT, "terms": segment.terms}
    np.savez(
        buffer,
        header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
        chunk_ids=segment.chunk_ids,
        lengths=segment.lengths,
        indptr=segment.indptr,
        rows=segment.rows,
        counts=segment.counts,
    )
    return buffer.getvalue()


def from_bytes(data: bytes) -> TermCounts:
    arrays = np.load(io.BytesIO(data), allow_pickle=False)
    header = json.loads(arrays["header"].tobytes())
    if header.get("format") != KEYWORD_FORMAT:
        raise ValueError(f"format {header.get('format')!r}, this ragd reads {KEYWORD_FORMAT!r}")
    names = ("chunk_ids", "lengths", "indptr", "rows", "counts")
    return TermCounts(terms=header["terms"], **{name: arrays[name] for name in names})


def write_keyword(folder: Path, name: str, segment: TermCounts) -> Segment:
    """Write one term-count segment durably and return its manifest entry."""
    data = to_bytes(segment)
    atomic_write(folder / name, data)
    return Segment(file=name, sha256=sha256(data), count=len(segment.chunk_ids))


def read_keyword(folder: Path, segment: Segment) -> TermCounts:
    """A term-count segment, after checking its checksum and size."""
    path = folder / segment.file
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IndexCorrupt(f"keyword segment {segment.file} cannot be read: {exc}") from exc
    if sha256(data) != segment.sha256:
        raise IndexCorrupt(f"keyword segment {segment.file} fails its checksum (truncated?)")
    try:
        counts = from_bytes(data)
    except (ValueError, KeyError, OSError) as exc:
        raise IndexCorrupt(f"keyword segment {segment.file} is unreadable: {exc}") from exc
    if len(counts.chunk_ids) != segment.count:
        raise IndexCorrupt(f"keyword segment {segment.file} holds {len(counts.chunk_ids)} chunks")
    return counts


def load_keyword(
    folder: Path, segments: Sequence[Segment], live: np.ndarray, loaded: KeywordIndex | None
) -> KeywordIndex:
    """The generation's keyword index, reusing segments `loaded` already holds."""
    known = loaded.segments if loaded else {}
    return KeywordIndex({s: known.get(s) or read_keyword(folder, s) for s in segments}, live)


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
