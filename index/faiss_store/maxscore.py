"""Exact top-k BM25 without summing every posting (MaxScore, term at a time).

Each keyword segment keeps, per term, its largest count and its shortest chunk; with the
collection's idf and mean length they bound what the term can add to any chunk's score. Terms
are taken in order of that bound: the postings of the high-bound (rare) ones are read whole and
give every chunk that can still reach the top k; once the bounds left sum to less than the
k-th best partial score, no chunk outside those candidates can enter, and the low-bound (common)
terms' postings are only probed for the candidates still in reach. The candidates' scores are
then summed again in the query's term order, so ids, scores and ties match the exhaustive sum.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from index.bm25 import idf, term_scores

# Bounds are made a little larger and thresholds a little smaller than computed: sums taken in
# another order round differently, and float32 scores equal at the k-th place must all stay.
_UP, _DOWN = 1 + 1e-9, 1 - 1e-6
# Chunks (per result asked) whose whole scores are taken early to bound the k-th best score.
_POOL = 8


class Counts(Protocol):
    """What this reads of a keyword segment (keyword.TermCounts)."""

    @property
    def chunk_ids(self) -> np.ndarray: ...
    @property
    def lengths(self) -> np.ndarray: ...
    @property
    def terms(self) -> dict[str, int]: ...
    @property
    def indptr(self) -> np.ndarray: ...
    @property
    def max_tf(self) -> np.ndarray | None: ...
    @property
    def min_len(self) -> np.ndarray | None: ...
    def column(self, column: int) -> tuple[np.ndarray, np.ndarray]: ...
    def counts_at(self, column: int, at: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Part:
    """One keyword segment as a query sees it: where its rows start in the global numbering,
    and which rows are live (None: all)."""

    counts: Counts
    alive: np.ndarray | None
    base: int


@dataclass
class _Term:
    name: str
    weight: int
    spans: list[tuple[Part, int]]  # the parts holding it, and its column there
    df: int = 0
    idf: float = 0.0
    bound: float = 0.0


Scored = tuple[np.ndarray, np.ndarray]  # sorted global positions, their float64 scores


class Sums:
    """Dense partial-sum arrays, one per query in flight, kept between queries and zeroed
    only where a query wrote: a fresh array would cost a page fault and zeroing for every page
    a query touches (at 10M chunks, 80 MB)."""

    def __init__(self, size: int) -> None:
        self.size, self._free, self._lock = size, list[np.ndarray](), threading.Lock()

    @contextmanager
    def taken(self) -> Iterator[tuple[np.ndarray, list[np.ndarray]]]:
        """An all-zero array, and a list to put every position written in."""
        with self._lock:
            acc = self._free.pop() if self._free else np.zeros(self.size)
        written: list[np.ndarray] = []
        try:
            yield acc, written
        finally:
            if sum(len(p) for p in written) > self.size // 8:
                acc.fill(0.0)  # one sequential pass beats scattered writes
            else:
                for positions in written:
                    acc[positions] = 0.0
            with self._lock:
                self._free.append(acc)


class MaxScore:
    """One query's exact top k over `parts`, given the collection's statistics."""

    def __init__(self, parts: Sequence[Part], live_count: int, mean: float, sums: Sums) -> None:
        self.parts, self.live, self.mean, self.sums = parts, live_count, mean, sums
        self._booted = False
        self._rows: dict[tuple[int, int], np.ndarray] = {}  # postings rows read, this query
        self.size = parts[-1].base + len(parts[-1].counts.chunk_ids) if parts else 0

    def top(self, terms: Mapping[str, int], k: int) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, float32 scores) of the best `k`, ties to the smaller id."""
        plan = [t for t in (self._plan(name, w) for name, w in terms.items()) if t.df]
        if not plan:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        with self.sums.taken() as (acc, written):
            read, theta = self._accumulate(sorted(plan, key=lambda t: -t.bound), k, acc, written)
            cand = _unique(np.concatenate([p[acc[p] >= theta * _DOWN] for p, _ in read.values()]))
        per_term = [read.get(t.name) or self._probe(t, cand) for t in plan]
        return self._exact(cand, per_term, k)

    def _accumulate(
        self, order: list[_Term], k: int, acc: np.ndarray, written: list[np.ndarray]
    ) -> tuple[dict[str, Scored], float]:
        """Partial sums in `acc`: terms read whole (returned) while an unseen chunk can reach
        the top k, then only where a chunk still can; and the k-th best score's lower bound."""
        read: dict[str, Scored] = {}
        best, theta = np.empty(0, np.int64), 0.0
        for i, term in enumerate(order):
            rest = _rest(order, i)
            if theta > 0 and rest < theta * _DOWN:  # no unseen chunk can reach the top k
                self._add_within_reach(term, acc, rest, theta)
                continue
            pos, scores = read[term.name] = self._read(term)
            written.append(pos)
            acc[pos] += scores  # a term's positions are unique
            best = _best_k(acc, best, pos, _POOL * k)
            if len(best) >= k:
                whole = self._whole_kth(order[i + 1 :], best, acc[best], k)
                theta = max(theta, _kth(acc[best], k), whole)
        return read, theta

    def _plan(self, name: str, weight: int) -> _Term:
        term = _Term(name, weight, [])
        for part in self.parts:
            column = part.counts.terms.get(name)
            if column is not None:
                term.spans.append((part, column))
                term.df += _live_postings(part, column)
        if term.df:
            term.idf = idf(self.live, term.df)
            term.bound = max(self._bound(term, part, column) for part, column in term.spans)
        return term

    def _bound(self, term: _Term, part: Part, column: int) -> float:
        assert part.counts.max_tf is not None and part.counts.min_len is not None
        tf = np.array([part.counts.max_tf[column]], dtype=np.float64)
        shortest = np.array([part.counts.min_len[column]], dtype=np.float32)
        score = term.weight * term_scores(term.idf, tf, shortest, self.mean)
        return float(score[0]) * _UP

    def _whole_kth(
        self, others: list[_Term], chunks: np.ndarray, partial: np.ndarray, k: int
    ) -> float:
        """Once a query: the k-th best whole score of `chunks` (sorted), `others` probed. These
        chunks lead on the terms read so far, so it is near the final k-th best score and far
        above the k-th best partial sum."""
        if self._booted or not others:
            return 0.0
        self._booted = True
        whole = partial.copy()
        for term in others:
            pos, scores = self._probe(term, chunks)
            whole[np.searchsorted(chunks, pos)] += scores
        return _kth(whole, k)

    def _add_within_reach(self, term: _Term, acc: np.ndarray, rest: float, theta: float) -> None:
        """`term`'s scores added to the chunks that can still reach `theta` with it and the
        terms after it (`rest`); its other postings are read (4 bytes each) but not scored."""
        for part, column in term.spans:
            rows = self._rows_of(part, column)
            keep = acc[rows + part.base] + rest >= theta * _DOWN
            if part.alive is not None:
                keep &= part.alive[rows]
            at = np.flatnonzero(keep)
            counts = part.counts.counts_at(column, at)
            lengths = np.asarray(part.counts.lengths[rows[at]])
            acc[rows[at] + part.base] += self._scores(term, [counts], [lengths])

    def _read(self, term: _Term) -> Scored:
        """Every live posting of `term`, scored."""
        positions, counts, lengths = [], [], []
        for part, column in term.spans:
            rows, tf = part.counts.column(column)
            if part.alive is not None:
                keep = part.alive[rows]
                rows, tf = rows[keep], tf[keep]
            positions.append(rows.astype(np.int64) + part.base)
            counts.append(tf)
            lengths.append(np.asarray(part.counts.lengths[rows]))
        return np.concatenate(positions), self._scores(term, counts, lengths)

    def _probe(self, term: _Term, cand: np.ndarray) -> Scored:
        """`term`'s scores in those candidates that hold it."""
        positions, counts, lengths = [], [], []
        for part, column in term.spans:
            lo, hi = np.searchsorted(cand, [part.base, part.base + len(part.counts.chunk_ids)])
            if hi == lo:
                continue
            wanted = cand[lo:hi] - part.base
            rows = self._rows_of(part, column)
            at = np.minimum(np.searchsorted(rows, wanted), len(rows) - 1)
            hit = rows[at] == wanted
            positions.append(wanted[hit] + part.base)
            counts.append(part.counts.counts_at(column, at[hit]))
            lengths.append(np.asarray(part.counts.lengths[wanted[hit]]))
        if not positions:
            return np.empty(0, np.int64), np.empty(0)
        return np.concatenate(positions), self._scores(term, counts, lengths)

    def _rows_of(self, part: Part, column: int) -> np.ndarray:
        """A term's rows in a part (4 bytes a posting, read once a query, never scored)."""
        key = (part.base, column)
        if key not in self._rows:
            self._rows[key] = part.counts.column(column)[0]
        return self._rows[key]

    def _scores(self, term: _Term, counts: list[np.ndarray], lengths: list[np.ndarray]) -> Any:
        # the exhaustive scorer's expression and dtypes, element by element the same values
        tf = np.concatenate(counts).astype(np.float64)
        return term.weight * term_scores(term.idf, tf, np.concatenate(lengths), self.mean)

    def _exact(self, cand: np.ndarray, per_term: list[Scored], k: int) -> tuple[Any, Any]:
        """The candidates' scores summed in query term order, and the best `k` of them."""
        total = np.zeros(len(cand))
        for pos, scores in per_term:
            at = np.minimum(np.searchsorted(pos, cand), max(len(pos) - 1, 0))
            hit = pos[at] == cand if len(pos) else np.zeros(len(cand), bool)
            total[hit] += scores[at[hit]]  # the same additions, in the same order
        keep = total > 0
        ids, sums = self._ids(cand[keep]), total[keep].astype(np.float32)
        top = np.lexsort((ids, -sums))[:k]
        return ids[top], sums[top]

    def _ids(self, positions: np.ndarray) -> np.ndarray:
        bases = np.array([p.base for p in self.parts], dtype=np.int64)
        which = np.searchsorted(bases, positions, side="right") - 1
        ids = np.empty(len(positions), dtype=np.int64)
        for i, part in enumerate(self.parts):
            mine = which == i
            ids[mine] = part.counts.chunk_ids[positions[mine] - part.base]
        return ids


def _live_postings(part: Part, column: int) -> int:
    if part.alive is None:
        return int(part.counts.indptr[column + 1] - part.counts.indptr[column])
    rows, _ = part.counts.column(column)
    return int(part.alive[rows].sum())


def _rest(order: list[_Term], start: int) -> float:
    """The most the terms from `start` on can add to one chunk."""
    return sum(t.bound for t in order[start:]) * _UP


def _best_k(acc: np.ndarray, best: np.ndarray, pos: np.ndarray, k: int) -> np.ndarray:
    """The best k (sorted) of the chunks kept so far and those at `pos`, by partial sum: no
    chunk outside them has a larger one (a sum changes only where a term is read)."""
    if len(best) >= k:  # sums only grow: a newcomer must beat the old k-th
        pos = pos[acc[pos] >= acc[best].min()]
    if len(pos) and len(best):
        at = np.minimum(np.searchsorted(pos, best), len(pos) - 1)
        best = best[pos[at] != best]  # those not at `pos` already
    chunks = np.concatenate([pos, best])
    if len(chunks) <= k:
        return np.sort(chunks)
    sums = acc[chunks]
    if len(sums) > 16 * k:  # a sample's k-th best bounds the k-th best from below
        sample = sums[::16]
        keep = sums >= np.partition(sample, len(sample) - k)[len(sample) - k]
        chunks, sums = chunks[keep], sums[keep]
    return np.sort(chunks[np.argpartition(sums, len(sums) - k)[len(sums) - k :]])


def _unique(positions: np.ndarray) -> np.ndarray:
    """Sorted, each once (np.unique hashes: several times slower than this sort)."""
    positions = np.sort(positions)
    first: np.ndarray = positions[np.concatenate([[True], positions[1:] != positions[:-1]])]
    return first


def _kth(values: np.ndarray, k: int) -> float:
    return float(np.partition(values, len(values) - k)[len(values) - k])
