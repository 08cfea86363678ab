"""Copying a collection between stores with its stored vectors (no re-embedding), and checking
that the copy answers searches as the original does."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from index.errors import EmptyCollection
from index.protocol import Reader, StoreCollection
from index.types import Hit

MIGRATE_COMMIT = 8192  # chunks per commit while migrating: a rerun resumes from the last one


@dataclass
class Copied:
    """What a copy did, and search probes (stored vectors) to compare both sides with."""

    documents: int = 0
    chunks: int = 0
    copied: int = 0  # documents written
    skipped: int = 0  # documents the target already held (a resumed copy)
    removed: int = 0
    generation: int = 0
    seconds: float = 0.0
    probes: list[np.ndarray] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if k != "probes"}


def copy_collection(
    source: StoreCollection,
    target: StoreCollection,
    *,
    replace: bool = False,
    commit_every: int = MIGRATE_COMMIT,
    probes: int = 20,
) -> Copied:
    """Write every document of `source` into `target` with its vectors.

    `replace` (a restore) swaps the whole collection in one commit: readers see the old one or
    the restored one. Otherwise (a migration) it commits as it goes, and a rerun skips the
    documents already there with the same content hash.
    """
    state = source.state()
    if state is None:
        raise EmptyCollection(f"collection {source.name!r} is empty: nothing to copy")
    started, done = time.perf_counter(), Copied()
    every = max(1, state.documents // max(1, probes))
    with target.writer(state.spec, rebuild=replace) as writer:
        have = {d.id: d for d in writer.documents()}
        for doc, chunks, vectors in source.export():
            done.documents, done.chunks = done.documents + 1, done.chunks + len(chunks)
            if done.documents % every == 0 and len(vectors) and len(done.probes) < probes:
                done.probes.append(vectors[0])
            old = have.pop(doc.id, None)
            if old is not None and (old.hash, old.chunks) == (doc.hash, doc.chunks):
                done.skipped += 1
                continue
            writer.put(doc, chunks, vectors)
            done.copied += 1
            if not replace and writer.staged_chunks >= commit_every:
                writer.commit()
        for doc_id in have:  # in the target, no longer in the source
            writer.delete(doc_id)
        done.removed = len(have)
        done.generation = writer.commit().generation
    done.seconds = time.perf_counter() - started
    return done


def compare(
    source: StoreCollection, target: StoreCollection, probes: list[np.ndarray]
) -> list[str]:
    """Differences in counts, and in the top 5 of searching each probe vector on both sides."""
    a, b = source.state(), target.state()
    sizes = [(s.documents, s.rows) if s else (0, 0) for s in (a, b)]
    problems = [] if sizes[0] == sizes[1] else [f"(documents, chunks) {sizes[0]} != {sizes[1]}"]
    left, right = _exact(source.snapshot()), _exact(target.snapshot())
    for n, probe in enumerate(probes):
        if not same_results(left(probe, 5), right(probe, 5)):
            problems.append(f"probe {n}: the top 5 differ")
    return problems


def _exact(reader: Reader) -> Callable[[np.ndarray, int], list[Hit]]:
    """Exhaustive search where the store has an approximate one (FAISS IVF from 50k chunks);
    Milvus collections here are FLAT, exact already."""
    return getattr(reader, "exact_search", reader.search)  # type: ignore[no-any-return]


def same_results(a: Sequence[Hit], b: Sequence[Hit], tolerance: float = 1e-4) -> bool:
    """The same scores (to float32 rounding: engines sum in different orders), and the same
    chunks above the last score (chunks tied at the cut-off may differ: which of equals makes
    the top k is the engine's choice)."""
    left, right = _results(a), _results(b)
    if len(left) != len(right):
        return False
    if any(abs(x[0] - y[0]) > tolerance for x, y in zip(left, right, strict=True)):
        return False
    last = left[0][0] if left else 0.0
    above = [{r[1:] for r in side if r[0] > last + tolerance} for side in (left, right)]
    return above[0] == above[1]


def _results(hits: Sequence[Hit]) -> list[tuple[float, str, str, int]]:
    """Comparable whatever the chunk ids: score, text, source and order, worst first."""
    return sorted((h.score, h.chunk.text, h.chunk.source, h.chunk.ord) for h in hits)
