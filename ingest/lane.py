"""Embedding on a thread of its own, overlapped with reading, parsing, chunking and writing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np

from ingest.chunker import Chunk
from models.embedder import Embedder


@dataclass
class Stages:
    """Seconds an ingest spent per stage: on the ingesting thread, except `embed` (the
    embedding thread's busy time) and `embed_wait` (the ingesting thread waiting for it)."""

    read: float = 0.0  # reading files, hashing, looking the document up
    parse: float = 0.0  # waiting for the parser pool's result
    normalize: float = 0.0  # invisible-character runs capped, heading paths bounded
    chunk: float = 0.0  # sentence splitting and packing (tokenizing not included)
    tokenize: float = 0.0  # the chunker's tokenizer calls
    embed: float = 0.0
    embed_wait: float = 0.0
    write: float = 0.0  # staging rows and vectors in the writer (SQLite)
    commit: float = 0.0  # commits: FAISS segment, BM25, SQLite, manifest, fsyncs
    total: float = 0.0

    @contextmanager
    def timing(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            setattr(self, stage, getattr(self, stage) + time.perf_counter() - started)

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in asdict(self).items()}


class EmbedLane:
    """Embeds batches of chunks in submission order on one thread, so the ingesting thread
    reads, parses, chunks and writes the next batch meanwhile; `overlap=False` embeds on the
    caller's thread instead (the path before, kept for the benchmark's A/B)."""

    def __init__(
        self, embedder: Embedder, stages: Stages, overlap: bool = True, use_ids: bool = True
    ) -> None:
        self.embedder, self.stages, self.use_ids = embedder, stages, use_ids
        self.overlap = overlap
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="ragd-embed") if overlap else None
        self._last: Future[np.ndarray] | None = None

    def submit(self, chunks: Sequence[Chunk]) -> Future[np.ndarray]:
        work = _timed(self.stages, lambda: vectors(self.embedder, chunks, self.use_ids))
        if self._pool is None or not chunks:
            done: Future[np.ndarray] = Future()
            done.set_result(work())
            return done
        self._last = self._pool.submit(work)
        return self._last

    def idle(self) -> bool:
        """Nothing submitted is still embedding (or waiting to)."""
        return self._last is None or self._last.done()

    def result(self, future: Future[np.ndarray]) -> np.ndarray:
        with self.stages.timing("embed_wait"):
            return future.result()

    def close(self) -> None:
        """Stop: batches not started are dropped; the one embedding finishes on its own."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


def vectors(embedder: Embedder, chunks: Sequence[Chunk], use_ids: bool = True) -> np.ndarray:
    """The chunks' vectors: from the ids the chunker counted (with the embedder's own
    tokenizer: `use_ids`) when the embedder takes ids and every chunk has them, else from
    their indexed text."""
    embed_ids: Callable[[list[tuple[int, ...]]], np.ndarray] | None = getattr(
        embedder, "embed_ids", None
    )
    if not chunks:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    ids = [c.ids for c in chunks]
    if use_ids and embed_ids is not None and all(i is not None for i in ids):
        return embed_ids([i for i in ids if i is not None])
    return embedder.embed([c.indexed_text for c in chunks])


def _timed(stages: Stages, work: Callable[[], np.ndarray]) -> Callable[[], np.ndarray]:
    def run() -> np.ndarray:
        with stages.timing("embed"):
            return work()

    return run
