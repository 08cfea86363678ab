"""Search latency against corpus size through a real server, ANN recall, memory and start-up.

For each size a synthetic collection is built with the real Writer (large ones get compressed
IVF-PQ codes at commit); `ragd serve` starts on it; POST /api/search (query embedding + dense and
BM25 search + chunk rows) is timed at the client. From the IVF threshold up, the same files are
also served the pre-issue-19 way (RAGD_ANN_CODES=false: every float vector in memory, an IVF with
8-bit codes built at the first search), both servers up at once and their batches alternated, so
latency and memory are compared side by side. Recall@10 is measured in process against exact
search over the same vectors, at the server's candidate depth.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.core import Context, figure, percentile, ratio, rss_mib, timer
from bench.corpus import scifact_queries
from bench.synthetic import (
    Server,
    build_collection,
    clustered_vectors,
    server_spec,
    topics_for,
)

MEMORY = {"RAGD_ANN_CODES": "false"}  # the pre-issue-19 path, for the side-by-side


def run(ctx: Context) -> dict[str, Any]:
    from config.settings import Settings

    settings = Settings()
    sizes = ctx.pick([10_000], [10_000, 100_000, 1_000_000])
    queries = list(scifact_queries()[0].values())
    startup = _startup(ctx)
    quick_env = {"RAGD_ANN_MIN_VECTORS": "5000"}  # quick: the compressed path, tiny
    env = ctx.pick(quick_env, {})
    per_size = {n: _size(ctx, n, settings, queries, env) for n in sizes}
    return _result(startup, per_size, settings)


def _startup(ctx: Context) -> dict[str, list[float]]:
    """Time from `ragd serve` to a healthy /health on the defaults, and idle memory."""
    seconds, rss = [], []
    for repeat in range(ctx.pick(1, 3)):
        data = ctx.work / f"empty-{repeat}"
        with Server(data) as server:
            seconds.append(server.started_in)
            rss.append(rss_mib(server.proc.pid))
        shutil.rmtree(data, ignore_errors=True)
    return {"seconds": seconds, "rss": rss}


def _size(
    ctx: Context, n: int, settings: Any, queries: list[str], env: dict[str, str]
) -> dict[str, Any]:
    ctx.log(f"   query: building {n:,} chunks")
    data = ctx.work / f"data-{n}"
    minimum = int(env.get("RAGD_ANN_MIN_VECTORS", settings.ann_min_vectors))
    out: dict[str, Any] = {"ann": n >= minimum, "build_s": _build(data, n, settings, minimum)}
    with Server(data, env) as server:
        _serve(out, "", server, queries)
        if out["ann"] and not ctx.quick:
            with Server(data, {**env, **MEMORY}) as memory:
                _serve(out, "mem_", memory, queries)
                out["mem_ann_ready_s"] = _wait_for_ann(memory, queries)
                _alternate(ctx, out, server, memory, queries)
        else:
            out["p50"], out["p95"] = _latencies(ctx, server, queries)
        out["rss_loaded"] = rss_mib(server.proc.pid)
    if out["ann"]:
        out.update(recall(data, ctx.pick(50, 200), env, old=not ctx.quick))
    shutil.rmtree(data, ignore_errors=True)
    return out


def _build(data: Path, n: int, settings: Any, minimum: int) -> float:
    """Seconds to write `n` chunks, codes included, under the server's search policy."""
    from index.faiss_store.vectors import AnnPolicy, set_ann_policy

    s = settings
    set_ann_policy(AnnPolicy(minimum, s.ann_nprobe, s.ann_rerank, s.ann_probe_share))
    return build_collection(data / "index", "default", n, server_spec(settings.embed_backend))


def _serve(out: dict[str, Any], tag: str, server: Server, queries: list[str]) -> None:
    """Start-up, idle memory, and the first search (which loads the collection)."""
    out[f"{tag}start_s"] = server.started_in
    out[f"{tag}rss_idle"] = rss_mib(server.proc.pid)
    with timer() as first:
        server.search(queries[0])
    out[f"{tag}first_search_s"] = first[0]


def _alternate(
    ctx: Context, out: dict[str, Any], codes: Server, memory: Server, queries: list[str]
) -> None:
    """Each query on both servers, which one goes first alternating query by query (so
    neither gains from going second): p50/p95 of each per repeat, their ratio, and memory."""
    per_batch = 40
    for key in ("p50", "p95", "mem_p50", "mem_p95", "speedup"):
        out[key] = []
    for repeat in range(ctx.repeats):
        batch = queries[repeat * per_batch : (repeat + 1) * per_batch]
        times: dict[str, list[float]] = {"": [], "mem_": []}
        for i, query in enumerate(batch):
            pair = [("", codes), ("mem_", memory)]
            for tag, server in pair if i % 2 == 0 else pair[::-1]:
                times[tag].append(server.search(query) * 1000)
        for tag in times:
            out[f"{tag}p50"].append(percentile(times[tag], 0.5))
            out[f"{tag}p95"].append(percentile(times[tag], 0.95))
        out["speedup"].append(out["mem_p50"][-1] / out["p50"][-1])
    out["rss_mem"] = rss_mib(memory.proc.pid)


def _wait_for_ann(server: Server, queries: list[str], limit_s: float = 300) -> float:
    """Seconds until searches speed up: the in-memory IVF is built in the background."""
    started = time.perf_counter()
    exact = [server.search(q) for q in queries[1:6]]
    recent: list[float] = []
    i = 6
    while time.perf_counter() - started < limit_s:
        recent = [*recent[-4:], server.search(queries[i % len(queries)])]
        i += 1
        if len(recent) == 5 and np.median(recent) < 0.4 * np.median(exact):
            break
        time.sleep(0.2)
    return time.perf_counter() - started


def _latencies(ctx: Context, server: Server, queries: list[str]) -> tuple[list[float], list[float]]:
    """p50 and p95 (ms) of each repeat's batch of sequential searches."""
    per_batch = ctx.pick(20, 40)
    p50, p95 = [], []
    for repeat in range(ctx.repeats):
        batch = queries[repeat * per_batch : (repeat + 1) * per_batch]
        times = [server.search(q) * 1000 for q in batch]
        p50.append(percentile(times, 0.5))
        p95.append(percentile(times, 0.95))
    return p50, p95


def recall(data: Path, queries: int, env: dict[str, str], old: bool = True) -> dict[str, float]:
    """Recall@10 against exact search, on held-out vectors of the same mix: the compressed
    index at the server's depth (100 candidates asked) and at k=10; with `old`, the in-memory
    IVF with 8-bit codes as well, over the same vectors."""
    from index.faiss_store.compressed import CompressedIndex
    from index.faiss_store.store import FaissStore

    collection = FaissStore(data / "index").collection("default")
    snapshot = collection.snapshot()
    index = snapshot.vectors
    assert isinstance(index, CompressedIndex)
    probe = next(clustered_vectors(queries, seed=99, topics=topics_for(len(index))))
    truth = exact_top(index, probe, 10)
    out = {
        "recall": _recall(index, probe, truth, 100),
        "recall_k10": _recall(index, probe, truth, 10),
    }
    if old:
        out["mem_recall"], out["mem_ann_build_s"] = _old_recall(collection, probe, truth)
    return out


def _recall(index: Any, probe: np.ndarray, truth: list[set[int]], depth: int) -> float:
    found = [set(index.search(v, depth)[0][:10].tolist()) for v in probe]
    hits = sum(len(f & t) for f, t in zip(found, truth, strict=True))
    return hits / (10 * len(probe))


def exact_top(index: Any, probe: np.ndarray, k: int) -> list[set[int]]:
    """The exact top `k` ids of each probe, in one pass over the segment files (a 10M
    collection is 15 GB of vectors: read once, a block at a time, never held)."""
    best = [(np.empty(0, np.int64), np.empty(0, np.float32)) for _ in probe]
    live = index.ids()
    for part in index.parts:
        for start in range(0, len(part), 65536):
            count = min(65536, len(part) - start)
            keys = part.ids[start : start + count]
            keep = np.isin(keys, live)
            scores = part.span(start, count)[keep] @ probe.T
            best = [_merge(b, keys[keep], scores[:, i], k) for i, b in enumerate(best)]
    return [set(ids.tolist()) for ids, _ in best]


def _merge(best: tuple[np.ndarray, np.ndarray], ids: np.ndarray, scores: np.ndarray, k: int) -> Any:
    ids, scores = np.concatenate([best[0], ids]), np.concatenate([best[1], scores])
    top = np.argsort(-scores, kind="stable")[:k]
    return ids[top], scores[top]


def _old_recall(collection: Any, probe: np.ndarray, truth: list[set[int]]) -> tuple[float, float]:
    """The pre-issue-19 index (every vector in memory, IVF with 8-bit codes) on the same data."""
    from index.faiss_store.vectors import load_segments

    manifest = collection.manifest()
    index = load_segments(collection.folder, manifest.segments, manifest.spec.dimension)
    with timer() as took:
        index.build_ann(wait=True)
    return _recall(index, probe, truth, 100), took[0]


def _result(
    startup: dict[str, list[float]], per_size: dict[int, Any], settings: Any
) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "startup_s": figure(startup["seconds"], "s", "ragd serve -> healthy /health (defaults)"),
        "rss_idle_mib": figure(startup["rss"], "MiB", "server RSS, idle, empty data dir", 0),
    }
    series: dict[str, list[Any]] = {"p50": [], "p95": []}
    ratios = [
        ratio(
            "start-up to healthy /health (s), defaults",
            startup["seconds"],
            10,
            higher_is_better=False,
            limit="importing onnxruntime and llama.cpp, loading the embedder and the GGUF model "
            "(torch is not loaded on the default backend)",
        )
    ]
    for n, r in per_size.items():
        figures.update(_size_figures(n, r))
        series["p50"].append([n, figures[f"p50_{n}"]])
        series["p95"].append([n, figures[f"p95_{n}"]])
        ratios += _size_ratios(n, r)
    return {
        "figures": figures,
        "ratios": ratios,
        "plots": [_plot(series)],
        "notes": _notes(settings),
    }


def _size_figures(n: int, r: dict[str, Any]) -> dict[str, Any]:
    mode = "IVF-PQ + exact re-rank" if r["ann"] else "exact"
    f = {
        f"p50_{n}": figure(r["p50"], "ms", f"/api/search p50 at {n:,} chunks ({mode})"),
        f"p95_{n}": figure(r["p95"], "ms", f"/api/search p95 at {n:,} chunks ({mode})"),
        f"rss_{n}": figure([r["rss_loaded"]], "MiB", f"server RSS at {n:,} chunks", 0),
        f"start_{n}": figure([r["start_s"]], "s", f"start -> healthy at {n:,} chunks"),
        f"first_{n}": figure([r["first_search_s"]], "s", f"first search (loads) {n:,}"),
        f"build_{n}": figure([r["build_s"]], "s", f"writing {n:,} chunks (Writer, with codes)", 1),
    }
    if r["ann"]:
        f[f"recall_{n}"] = figure([r["recall"]], "recall@10", f"IVF-PQ + re-rank at {n:,}", 3)
        f[f"recall_k10_{n}"] = figure([r["recall_k10"]], "recall@10", f"same, k=10 at {n:,}", 3)
    if "mem_p50" in r:
        f.update(_memory_figures(n, r))
    return f


def _memory_figures(n: int, r: dict[str, Any]) -> dict[str, Any]:
    """The same files served the pre-issue-19 way (all vectors in memory, IVF-SQ8)."""
    return {
        f"mem_p50_{n}": figure(r["mem_p50"], "ms", f"before: /api/search p50 at {n:,} (in memory)"),
        f"mem_p95_{n}": figure(r["mem_p95"], "ms", f"before: /api/search p95 at {n:,} (in memory)"),
        f"mem_rss_{n}": figure([r["rss_mem"]], "MiB", f"before: server RSS at {n:,}", 0),
        f"mem_first_{n}": figure([r["mem_first_search_s"]], "s", f"before: first search {n:,}"),
        f"mem_ann_{n}": figure([r["mem_ann_ready_s"]], "s", f"before: IVF ready after {n:,}", 1),
        f"mem_recall_{n}": figure([r["mem_recall"]], "recall@10", f"before: IVF-SQ8 at {n:,}", 3),
    }


def _size_ratios(n: int, r: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    if n == 100_000:
        limit = "query embedding (one forward pass) and BM25 on 2 busy cores"
        out.append(ratio("/api/search p50 at 100k chunks (ms)", r["p50"], 20, False, limit))
    if n >= 1_000_000:
        limit = "BM25 (MaxScore: rare terms' postings scored whole, common ones scanned), then "
        limit += "the dense side (codes scan, exact re-rank read from disk)"
        out.append(ratio(f"/api/search p50 at {n:,} chunks (ms)", r["p50"], 30, False, limit))
        limit = "PQ codes (4-bit, 24 B a chunk) and the share of lists probed; the exact re-rank "
        limit += "of the candidates recovers the rest"
        out.append(ratio(f"recall@10 at {n:,} chunks", [r["recall"]], 0.95, limit=limit))
        rss = "embedder, GGUF model and BM25 postings pages"
        out.append(ratio(f"server RSS at {n:,} chunks (MiB)", [r["rss_loaded"]], 1536, False, rss))
        out += _load_ratios(n, r)
    if "speedup" in r:
        limit = "after re-ranks candidates by exact vectors read from disk where before holds "
        limit += "them all in memory (IVF-SQ8): at 100k codes trade latency for recall and memory"
        name = f"/api/search p50 before / after at {n:,} chunks"
        out.append(ratio(name, r["speedup"], 1.0, limit=limit))
    return out


def _load_ratios(n: int, r: dict[str, Any]) -> list[dict[str, Any]]:
    """Start-up and first search with a large collection (the issue's <= 10 s)."""
    start = (
        "loading the collection at start-up: segments opened, codes and live ids read "
        "(each file hashed once per version, verified.json), keyword segments mapped"
    )
    first = "the first query's embedding and page-ins of codes, rows and postings"
    return [
        ratio(f"start-up to healthy /health at {n:,} chunks (s)", [r["start_s"]], 10, False, start),
        ratio(f"first search at {n:,} chunks (s)", [r["first_search_s"]], 10, False, first),
    ]


def _plot(series: dict[str, list[Any]]) -> dict[str, Any]:
    return {
        "kind": "lines",
        "file": "search-latency.png",
        "title": "POST /api/search latency against corpus size",
        "xlabel": "chunks in the collection",
        "ylabel": "ms (median of repeats; bars min-max)",
        "logx": True,
        "target": 20,
        "series": series,
    }


def _notes(settings: Any) -> list[str]:
    return [
        f"From {settings.ann_min_vectors:,} chunks the writer keeps IVF-PQ codes (sqrt(n) lists, "
        f"4-bit fast-scan PQ, 24 bytes a chunk); a query scans {settings.ann_probe_share:.0%} of "
        f"the lists and re-ranks max(128, {settings.ann_rerank} x k) candidates by their exact "
        "vectors, read from the segment files with pread (never held in memory).",
        "Recall@10 against exact search on held-out vectors drawn around the same topic "
        "centres; /api/search asks 100 candidates of each side (RAGD_RETRIEVAL_CANDIDATES), "
        "recall_k10 asks 10.",
        "before: the same files served with RAGD_ANN_CODES=false (every vector in memory, "
        "IVF-SQ8 built in the background at the first search), batches alternated with after.",
        "BM25 postings are read with pread from the kw-*.bm25 files, pruned exactly "
        "(MaxScore over per-term bounds). Synthetic texts draw their words from SciFact's own "
        "word frequencies (RAGD_SYNTH_VOCAB=zipf, the default; =38 for the earlier 38 words, "
        "where every term is in ~80% of chunks).",
    ]
