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
    chunks, queries = ctx.pick(1_000, 10_000), ctx.pick(20, 200)
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
    calls_limit = "milvus-lite's round trips to its own server process (collection row, term "
    calls_limit += "counts, searches: about 4 calls a hybrid query) against FAISS in process"
    ratios = [
        ratio(
            "milvus-lite / FAISS hybrid search time (per query)", hybrid, 2.0, False, calls_limit
        ),
        ratio(
            "keyword top-10 overlap, Milvus with FAISS",
            overlap["keyword"],
            0.95,
            limit="ties: both score BM25 with ragd's terms and statistics; equal scores are "
            "ordered each engine its own way",
        ),
    ]
    return {"figures": figures, "ratios": ratios, "plots": [], "notes": []}


class Cached:
    """The embedder with each query embedded once: both stores get the same vectors, and the
    time measured is the stores' (the Retriever's whole path otherwise)."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder
        self.vectors: dict[str, np.ndarray] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.embedder, name)

    def embed(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in texts if t not in self.vectors]
        if missing:
            self.vectors.update(zip(missing, self.embedder.embed(missing), strict=True))
        return np.stack([self.vectors[t] for t in texts])


def real_data(data_dir: Path, collection: str, limit: int) -> dict[str, Any]:
    """Both stores of one data folder (FAISS, and the milvus-lite `ragd index migrate --to
    milvus` filled), SciFact's queries through the real Retriever on each in turn."""
    from app.answering.retrieval import Retriever
    from config.factories import load_embedder, open_store
    from config.settings import Settings

    settings = Settings(data_dir=data_dir)
    embedder = Cached(load_embedder(settings))
    stores = {s: open_store(settings.model_copy(update={"vector_store": s})) for s in STORES}
    retrievers = {s: Retriever(settings, embedder, stores[s]) for s in STORES}  # type: ignore[arg-type]
    texts = list(scifact_queries()[0].values())[:limit]
    embedder.embed(texts)
    times: dict[str, dict[str, list[float]]] = {m: {s: [] for s in STORES} for m in MODES}
    overlap: dict[str, list[float]] = {m: [] for m in MODES}
    for mode in MODES:
        for text in texts:
            top = {}
            for store, retriever in retrievers.items():
                started = time.perf_counter()
                passages = retriever.retrieve(text, collection, 10, mode).passages  # type: ignore[arg-type]
                times[mode][store].append((time.perf_counter() - started) * 1000)
                top[store] = {(p.chunk.source, p.chunk.ord) for p in passages}
            overlap[mode].append(len(top["faiss"] & top["milvus"]) / max(1, len(top["faiss"])))
    return summary(times, overlap, len(texts))


STORES = ("faiss", "milvus")


def summary(times: dict[str, Any], overlap: dict[str, list[float]], queries: int) -> dict[str, Any]:
    out: dict[str, Any] = {"queries": queries}
    for mode in MODES:
        for store in STORES:
            ms = times[mode][store]
            out[f"{mode}_{store}_ms"] = [round(percentile(ms, q), 1) for q in (0.5, 0.95)]
        out[f"{mode}_top10_overlap"] = round(float(np.mean(overlap[mode])), 4)
        out[f"{mode}_p50_ratio"] = round(
            percentile(times[mode]["milvus"], 0.5) / percentile(times[mode]["faiss"], 0.5), 2
        )
    return out


def main(argv: list[str]) -> int:
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m bench milvus", description=real_data.__doc__)
    parser.add_argument("data_dir", type=Path, help="a data folder holding both stores")
    parser.add_argument("--collection", required=True)
    parser.add_argument("--limit", type=int, default=809, help="queries (SciFact train: 809)")
    args = parser.parse_args(argv)
    print(json.dumps(real_data(args.data_dir, args.collection, args.limit), indent=1))
    return 0
