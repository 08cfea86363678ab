"""Milvus (milvus-lite) against FAISS on the same chunks and vectors: search latency per mode
(p50 / p95), Milvus calls per query, and how far the two stores' top 10 agree.

SciFact abstracts, split in two chunks each, with clustered synthetic vectors (dense speed does
not depend on meaning; ranking parity on real embeddings is `ragd eval` on both stores, in the
README). The FAISS collection is built by its writer, then copied into milvus-lite with its
vectors (index.transfer), so only the store differs. Each query runs on both stores in turn;
the time is the store's whole search path (reader, dense and/or keyword search, fusion), the
query embedding left out (the same on both).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.core import Context, figure, percentile, ratio
from bench.corpus import scifact_docs, scifact_queries
from bench.synthetic import clustered_vectors, server_spec, topics_for

MODES = ("dense", "keyword", "hybrid")
DEPTH = 100  # candidates per side, as RAGD_RETRIEVAL_CANDIDATES


class Counting:
    """A Milvus client that counts the calls made through it."""

    def __init__(self, client: Any) -> None:
        self.client, self.calls = client, 0

    def __getattr__(self, name: str) -> Any:
        self.calls += 1
        return getattr(self.client, name)


def run(ctx: Context) -> dict[str, Any]:
    chunks, queries = ctx.pick(2_000, 10_000), ctx.pick(40, 200)
    faiss, milvus, counting, copy_s = build(ctx.work, chunks)
    texts = list(scifact_queries()[0].values())[:queries]
    vectors = next(clustered_vectors(queries, seed=2, topics=topics_for(chunks)))
    times, overlap, calls = measure(faiss, milvus, counting, texts, vectors)
    return result(chunks, copy_s, times, overlap, calls)


def build(work: Path, chunks: int) -> tuple[Any, Any, Counting, float]:
    from index.faiss_store.store import FaissStore
    from index.milvus_store.store import MilvusStore, connect
    from index.transfer import copy_collection

    faiss = FaissStore(work / "faiss").collection("default")
    write_faiss(faiss, chunks)
    counting = Counting(connect(str(work / "milvus.db")))
    milvus = MilvusStore(counting, "bench_").collection("default")
    started = time.perf_counter()
    copy_collection(faiss, milvus, probes=0)
    return faiss, milvus, counting, time.perf_counter() - started


def write_faiss(collection: Any, chunks: int) -> None:
    """Abstracts as documents of two chunks (first and second half of the text)."""
    from index.types import DocumentRow, NewChunk

    docs = scifact_docs((chunks + 1) // 2)
    vectors = next(clustered_vectors(2 * len(docs), seed=1, topics=topics_for(chunks)))
    with collection.writer(server_spec("onnx-int8")) as writer:
        for n, doc in enumerate(docs):
            words = f"{doc['title']}. {doc['text']}".split()
            half = max(1, len(words) // 2)
            parts = [NewChunk(" ".join(words[:half])), NewChunk(" ".join(words[half:]) or "-")]
            row = DocumentRow(doc["_id"], f"{doc['_id']}.txt", doc["_id"], None, 2, "2026")
            writer.put(row, parts, vectors[2 * n : 2 * n + 2])
        writer.commit()


def search(collection: Any, mode: str, text: str, vector: np.ndarray) -> list[tuple[str, int]]:
    """What the retriever does with a query: a reader, one or both searches, fusion."""
    from index.fusion import weighted

    reader = collection.snapshot()
    dense = reader.search(vector, DEPTH) if mode != "keyword" else []
    keyword = reader.keyword_search(text, DEPTH) if mode != "dense" else []
    hits = {"dense": dense, "keyword": keyword}.get(mode) or weighted(dense, keyword, 0.5)
    return [(h.chunk.source, h.chunk.ord) for h in hits[:10]]


def measure(
    faiss: Any, milvus: Any, counting: Counting, texts: list[str], vectors: np.ndarray
) -> tuple[dict[str, dict[str, list[float]]], dict[str, list[float]], dict[str, float]]:
    times: dict[str, dict[str, list[float]]] = {m: {"faiss": [], "milvus": []} for m in MODES}
    overlap: dict[str, list[float]] = {m: [] for m in MODES}
    calls: dict[str, float] = {}
    for mode in MODES:
        search(faiss, mode, texts[0], vectors[0])  # warm both
        search(milvus, mode, texts[0], vectors[0])
        counting.calls = 0
        for text, vector in zip(texts, vectors, strict=False):
            found = {}
            for name, store in (("faiss", faiss), ("milvus", milvus)):
                started = time.perf_counter()
                found[name] = search(store, mode, text, vector)
                times[mode][name].append((time.perf_counter() - started) * 1000)
            same = set(found["faiss"]) & set(found["milvus"])
            overlap[mode].append(len(same) / max(1, len(found["faiss"])))
        calls[mode] = counting.calls / len(texts)
    return times, overlap, calls


def result(
    chunks: int,
    copy_s: float,
    times: dict[str, dict[str, list[float]]],
    overlap: dict[str, list[float]],
    calls: dict[str, float],
) -> dict[str, Any]:
    figures: dict[str, Any] = {"copy_to_milvus_s": figure([copy_s], "s", f"copy {chunks:,} chunks")}
    for mode in MODES:
        for store in ("faiss", "milvus"):
            ms = times[mode][store]
            label = f"{mode} {store} ({chunks:,} chunks)"
            figures[f"{mode}_{store}_p50_ms"] = figure([percentile(ms, 0.5)], "ms", f"{label} p50")
            figures[f"{mode}_{store}_p95_ms"] = figure([percentile(ms, 0.95)], "ms", f"{label} p95")
        figures[f"{mode}_top10_overlap"] = figure([float(np.mean(overlap[mode]))], "", mode)
        figures[f"{mode}_milvus_calls"] = figure([calls[mode]], "calls", f"{mode} Milvus calls")
    hybrid = [
        m / f for m, f in zip(times["hybrid"]["milvus"], times["hybrid"]["faiss"], strict=True)
    ]
    ratios = [
        ratio("milvus-lite / FAISS hybrid search time (per query)", hybrid, 2.0, False),
        ratio("keyword top-10 overlap, Milvus with FAISS", overlap["keyword"], 0.95),
    ]
    return {"figures": figures, "ratios": ratios, "plots": [], "notes": []}
