"""Ten million chunks on one box (full mode only): build time, memory, latency and recall.

Synthetic chunks (vectors clustered like real embeddings, 384 dimensions) are written through
the real Writer a million at a time: each commit holds only its own million vectors (1.5 GB),
and the compressed codes are updated from the segment files on disk, so the 15 GB of float
vectors are never all in memory. `ragd serve` then answers /api/search over them; recall@10 is
measured against exact search done in one streamed pass over the segment files.
RAGD_SCALE_CHUNKS sets another size (a smaller trial on a small machine). RAGD_SCALE_DIR keeps
the built data dir there: built when absent, reused when a complete build of the same size and
vocabulary is there (build.json, written last), and never deleted.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from bench.core import ROOT, Context, figure, percentile, rss_mib, timer
from bench.corpus import scifact_queries
from bench.query import _latencies, recall
from bench.synthetic import Server, build_collection, server_spec, vocabulary

CHUNKS = 10_000_000
# A 1M commit peaked at 8 GiB RSS; 700k makes 15 segments, under the writer's MAX_SEGMENTS (16,
# beyond which a commit compacts every vector in memory). RAGD_SCALE_COMMIT sets another.
COMMIT_EVERY = 700_000


def run(ctx: Context) -> dict[str, Any]:
    from config.settings import Settings

    n = int(os.environ.get("RAGD_SCALE_CHUNKS", CHUNKS))
    queries = list(scifact_queries()[0].values())
    kept = os.environ.get("RAGD_SCALE_DIR")
    data = Path(kept) if kept else ctx.work / "scale"
    out = built(ctx, data, n, Settings().embed_backend)
    with Server(data) as server:
        with timer() as first:
            server.search(queries[0])
        out["start_s"], out["first_s"] = server.started_in, first[0]
        out["p50"], out["p95"] = _latencies(ctx, server, queries)
        out["rss"] = rss_mib(server.proc.pid)
    out.update(recall(data, 100, {}, old=False))
    if not kept:
        shutil.rmtree(data, ignore_errors=True)
    return _result(n, out)


def built(ctx: Context, data: Path, n: int, backend: str) -> dict[str, Any]:
    """Build time and disk of `n` chunks in `data`: read from its build.json when a complete
    build of the same size and vocabulary is there, else built now (into an empty folder)."""
    marker, want = data / "build.json", {"chunks": n, "vocab": vocabulary()}
    if marker.is_file():
        record = json.loads(marker.read_text())
        if {key: record.get(key) for key in want} == want:
            ctx.log(f"   scale: reusing the {n:,}-chunk build in {data}")
            return {"build_s": record["build_s"], "disk_gib": record["disk_gib"]}
    if data.exists() and any(data.iterdir()):
        raise RuntimeError(f"{data} holds something other than a complete {want} build")
    ctx.log(f"   scale: building {n:,} chunks ({want['vocab']} vocabulary) in {data}")
    every = int(os.environ.get("RAGD_SCALE_COMMIT", COMMIT_EVERY))
    out = {"build_s": build_collection(data / "index", "default", n, server_spec(backend), every)}
    out["disk_gib"] = sum(p.stat().st_size for p in data.rglob("*") if p.is_file()) / 2**30
    marker.write_text(json.dumps({**want, **out}))
    return out


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


def compare(ctx: Context, data: Path, before: Path, repeats: int = 3) -> dict[str, Any]:
    """The collection in `data` served by the checkout in `before` (an earlier ragd) and by
    this one: start-up (each alone, alternating), then both up at once, every query asked of
    both, which goes first alternating; p50/p95 per batch, their ratio, memory."""
    queries = list(scifact_queries()[0].values())
    roots, out = {"before": before, "after": ROOT}, {"load_start": os.getloadavg()[0]}
    for tag in roots:
        out[f"{tag}_start"] = []
    for _ in range(2):
        for tag, root in roots.items():
            with Server(data, root=root) as server:
                out[f"{tag}_start"].append(server.started_in)
    with Server(data, root=before) as old, Server(data) as new:
        servers = {"before": old, "after": new}
        for tag, server in servers.items():
            with timer() as first:
                server.search(queries[0])
            out[f"{tag}_first"] = first[0]
        out.update(_alternate(servers, queries, repeats))
        for tag, server in servers.items():
            out[f"{tag}_rss"] = rss_mib(server.proc.pid)
    out["load_end"] = os.getloadavg()[0]
    return out


def _alternate(servers: dict[str, Server], queries: list[str], repeats: int) -> dict[str, Any]:
    out: dict[str, Any] = {f"{t}_{p}": [] for t in servers for p in ("p50", "p95")}
    out["speedup"] = []
    for repeat in range(repeats):
        batch = queries[repeat * 40 : (repeat + 1) * 40]
        times: dict[str, list[float]] = {tag: [] for tag in servers}
        for i, query in enumerate(batch):
            pair = list(servers.items())
            for tag, server in pair if i % 2 == 0 else pair[::-1]:
                times[tag].append(server.search(query) * 1000)
        for tag, values in times.items():
            out[f"{tag}_p50"].append(percentile(values, 0.5))
            out[f"{tag}_p95"].append(percentile(values, 0.95))
        out["speedup"].append(out["before_p50"][-1] / out["after_p50"][-1])
    return out


def _main() -> None:
    """Build only (RAGD_SCALE_DIR, RAGD_SCALE_CHUNKS); with `serve`, serve it and print the
    figures; with `ab BEFORE_CHECKOUT`, the side-by-side comparison (JSON)."""
    import sys

    from config.settings import Settings

    folder = Path(os.environ["RAGD_SCALE_DIR"])
    scale = int(os.environ.get("RAGD_SCALE_CHUNKS", CHUNKS))
    ctx = Context(quick=False, work=folder)
    built_now = built(ctx, folder, scale, Settings().embed_backend)
    if sys.argv[1:2] == ["ab"]:
        result = {"chunks": scale, "vocab": vocabulary(), **built_now}
        result.update(compare(ctx, folder, Path(sys.argv[2])))
        result.update(recall(folder, 100, {}, old=False))
        print(json.dumps(result))
    elif sys.argv[1:2] == ["serve"]:
        print(json.dumps(run(ctx)))
    else:
        print(built_now)


if __name__ == "__main__":
    _main()
