"""Synthetic collections of any size, built through the real Writer, and a real server over them.

Vectors are drawn around random topic centres (cosine about 0.7 to their centre), so that an
approximate index faces clusters as it does with real embeddings. Texts are words drawn from
SciFact's own word frequencies (RAGD_SYNTH_VOCAB=zipf, the default), or the earlier 38 domain
words (RAGD_SYNTH_VOCAB=38, where every term is in ~80% of chunks: kept to compare with).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.core import ROOT
from bench.corpus import ZipfTexts, synthetic_texts

DIMENSION = 384
PER_DOC = 100


def clustered_vectors(count: int, seed: int, topics: int) -> Iterator[np.ndarray]:
    """Unit vectors in batches of up to 100k, each near one of `topics` shared centres."""
    centres = np.random.default_rng(12345).standard_normal((topics, DIMENSION))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    for start in range(0, count, 100_000):
        n = min(100_000, count - start)
        v = centres[rng.integers(0, topics, n)] + 0.05 * rng.standard_normal((n, DIMENSION))
        yield (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def topics_for(count: int) -> int:
    return max(10, count // 100)


def server_spec(backend: str) -> Any:
    """The IndexSpec the server expects from the default embedder on `backend`."""
    from index.types import IndexSpec
    from ingest.chunker import CHUNKER_VERSION
    from models.resolve import DEFAULT_EMBED_MODEL

    return IndexSpec(DEFAULT_EMBED_MODEL, DIMENSION, True, CHUNKER_VERSION, backend)


def vocabulary() -> str:
    """Which words synthetic texts use: "zipf" (SciFact's frequencies) or "38"."""
    vocab = os.environ.get("RAGD_SYNTH_VOCAB", "zipf")
    if vocab not in ("zipf", "38"):
        raise ValueError(f"RAGD_SYNTH_VOCAB={vocab!r}: use zipf or 38")
    return vocab


def build_collection(
    index_dir: Path, name: str, chunks: int, spec: Any, commit_every: int = 200_000
) -> float:
    """`chunks` synthetic chunks in documents of 100, committed every `commit_every`; returns
    seconds. Vectors are made a batch at a time, so no more than a commit's are ever held."""
    from index.faiss_store.store import FaissStore
    from index.faiss_store.writer import Writer

    started = time.perf_counter()
    texts = _texts(vocabulary())
    with Writer(FaissStore(index_dir).collection(name), spec) as writer:
        doc = 0
        for batch in clustered_vectors(chunks, seed=1, topics=topics_for(chunks)):
            doc = _put_batch(writer, batch, texts(doc, len(batch)), doc)
            if writer.staged_chunks >= commit_every:
                writer.commit()
        writer.commit()
    return time.perf_counter() - started


def _texts(vocab: str) -> Any:
    """texts(first document, count) -> `count` chunk texts."""
    if vocab == "38":
        pool = synthetic_texts(PER_DOC * 50)  # 50 documents' texts, repeated
        return lambda doc, n: [
            pool[((doc + i // PER_DOC) % 50) * PER_DOC + i % PER_DOC] for i in range(n)
        ]
    zipf = ZipfTexts()
    return lambda doc, n: zipf.take(n)


def _put_batch(writer: Any, batch: np.ndarray, texts: list[str], doc: int) -> int:
    """The batch as documents of 100 chunks from number `doc` on; returns the next number."""
    from index.types import DocumentRow, NewChunk

    for offset in range(0, len(batch), PER_DOC):
        row = DocumentRow(f"doc{doc}", f"doc{doc}.txt", f"h{doc}", None, PER_DOC, "2026")
        chunk_rows = [NewChunk(t) for t in texts[offset : offset + PER_DOC]]
        writer.put(row, chunk_rows, batch[offset : offset + PER_DOC])
        doc += 1
    return doc


class Server:
    """`ragd serve` on a free port over `data_dir`; times how long it takes to be healthy."""

    def __init__(
        self, data_dir: Path, env: dict[str, str] | None = None, root: Path = ROOT
    ) -> None:
        """`root`: the checkout whose code serves (another one: an earlier ragd, side by side)."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "RAGD_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
        self.env.update(env or {})
        self.root = root
        if root != ROOT:
            self.env["PYTHONPATH"] = str(root)
        self.started_in = 0.0

    def __enter__(self) -> Server:
        cmd = [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)]
        started = time.perf_counter()
        self.log = tempfile.TemporaryFile()  # a pipe left unread could block the server
        self.proc = subprocess.Popen(
            cmd, env=self.env, cwd=self.root, stdout=subprocess.DEVNULL, stderr=self.log
        )
        self._wait_healthy(started)
        self.started_in = time.perf_counter() - started
        self.client = httpx.Client(base_url=self.url, timeout=600)  # one keep-alive connection
        return self

    def _wait_healthy(self, started: float) -> None:
        while time.perf_counter() - started < 300:
            if self.proc.poll() is not None:
                self.log.seek(0)
                err = self.log.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"ragd serve exited with {self.proc.returncode}: {err}")
            try:
                if httpx.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("ragd serve was not healthy within 300 s")

    def search(self, query: str, k: int = 5) -> float:
        """Seconds for one POST /api/search, measured at the client."""
        started = time.perf_counter()
        r = self.client.post("/api/search", json={"query": query, "k": k})
        r.raise_for_status()
        return time.perf_counter() - started

    def __exit__(self, *exc: object) -> None:
        if hasattr(self, "client"):
            self.client.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
