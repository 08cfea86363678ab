"""Ten million chunks on one box (full mode only): build time, memory, latency and recall.

Synthetic chunks (vectors clustered like real embeddings, 384 dimensions) are written through
the real Writer a million at a time: each commit holds only its own million vectors (1.5 GB),
and the compressed codes are updated from the segment files on disk, so the 15 GB of float
vectors are never all in memory. `ragd serve` then answers /api/search over them; recall@10 is
measured against exact search done in one streamed pass over the segment files.
RAGD_SCALE_CHUNKS sets another size (a smaller trial on a small machine).
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from bench.core import Context, figure, rss_mib, timer
from bench.corpus import scifact_queries
from bench.query import _latencies, recall
from bench.synthetic import Server, build_collection, server_spec

CHUNKS = 10_000_000


def run(ctx: Context) -> dict[str, Any]:
    from config.settings import Settings

    n = int(os.environ.get("RAGD_SCALE_CHUNKS", CHUNKS))
    settings = Settings()
    queries = list(scifact_queries()[0].values())
    data = ctx.work / "scale"
    ctx.log(f"   scale: building {n:,} chunks")
    spec = server_spec(settings.embed_backend)
    out: dict[str, Any] = {"build_s": build_collection(data / "index", "default", n, spec, 10**6)}
    out["disk_gib"] = sum(p.stat().st_size for p in data.rglob("*") if p.is_file()) / 2**30
    with Server(data) as server:
        with timer() as first:
            server.search(queries[0])
        out["start_s"], out["first_s"] = server.started_in, first[0]
        out["p50"], out["p95"] = _latencies(ctx, server, queries)
        out["rss"] = rss_mib(server.proc.pid)
    out.update(recall(data, 100, {}, old=False))
    shutil.rmtree(data, ignore_errors=True)
    return _result(n, out)


def _result(n: int, r: dict[str, Any]) -> dict[str, Any]:
    at = f"at {n:,} chunks"
    figures = {
        "build_s": figure([r["build_s"]], "s", f"writing {n:,} chunks (Writer, codes)", 0),
        "disk_gib": figure([r["disk_gib"]], "GiB", f"on disk {at}", 1),
        "start_s": figure([r["start_s"]], "s", f"start -> healthy {at}", 1),
        "first_s": figure([r["first_s"]], "s", f"first search (loads) {at}", 1),
        "p50": figure(r["p50"], "ms", f"/api/search p50 {at}"),
        "p95": figure(r["p95"], "ms", f"/api/search p95 {at}"),
        "rss": figure([r["rss"]], "MiB", f"server RSS {at}", 0),
        "recall": figure([r["recall"]], "recall@10", f"IVF-PQ + re-rank {at}", 3),
        "recall_k10": figure([r["recall_k10"]], "recall@10", f"same, k=10, {at}", 3),
    }
    return {
        "figures": figures,
        "ratios": [],
        "notes": [__doc__.split("\n\n")[1].replace("\n", " ")],
    }
