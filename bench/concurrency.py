"""Search under load: /api/search throughput and p95 at 1, 4 and 16 concurrent clients, with the
model idle and while answers are generating, and how long answers wait for the model.

A real `ragd serve` (uvicorn, the GGUF model, the default embedder) over a synthetic collection
(100k chunks; 10k quick). "Generating" means two clients asking /api/ask back to back the whole
time: one answer is always generating and the other waits its turn in the model queue, whose
wait each answer reports (timings.queue_ms). Abstention is off so every question generates.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from bench.core import Context, figure, percentile
from bench.corpus import scifact_queries
from bench.synthetic import Server, build_collection, server_spec

ENV = {
    "RAGD_ABSTAIN_BELOW": "-1",  # every question reaches the model
    "RAGD_ANSWER_MODE": "generative",
    "RAGD_MAX_ANSWER_TOKENS": "64",
    "RAGD_LLM_TEMPERATURE": "0",
    "RAGD_QUEUE_DEPTH": "32",
}


def run(ctx: Context) -> dict[str, Any]:
    from config.settings import Settings

    n = ctx.pick(10_000, 100_000)
    clients = ctx.pick((1, 4), (1, 4, 16))
    seconds = ctx.pick(2.0, 8.0)
    queries = list(scifact_queries()[0].values())
    data = ctx.work / "concurrency"
    ctx.log(f"   concurrency: building {n:,} chunks")
    build_collection(data / "index", "default", n, server_spec(Settings().embed_backend))
    results: dict[Any, Any] = {}
    with Server(data, ENV) as server:
        server.search(queries[0])  # loads the collection
        for generating in (False, True):
            with answering(server.url, queries, generating) as waits:
                for c in clients:
                    results[(c, generating)] = load(server.url, queries, c, seconds)
            if generating:
                results["queue_ms"], results["answers"] = waits, len(waits)
    shutil.rmtree(data, ignore_errors=True)
    return _result(n, clients, results)


def load(url: str, queries: list[str], clients: int, seconds: float) -> dict[str, Any]:
    """`clients` threads searching back to back for `seconds`: searches/s and latencies."""
    times: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(i: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            j = i
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                r = http.post("/api/search", json={"query": queries[j % len(queries)], "k": 5})
                r.raise_for_status()
                with lock:
                    times.append((time.perf_counter() - started) * 1000)
                j += clients

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - started
    return {
        "per_s": len(times) / took,
        "p50": percentile(times, 0.5),
        "p95": percentile(times, 0.95),
    }


@contextmanager
def answering(url: str, queries: list[str], on: bool) -> Iterator[list[float]]:
    """While on: two clients asking back to back; yields the queue waits (ms) answers report."""
    waits: list[float] = []
    stop = threading.Event()

    def asker(i: int) -> None:
        with httpx.Client(base_url=url, timeout=600) as http:
            while not stop.is_set():
                r = http.post("/api/ask", json={"question": queries[i], "stream": False})
                r.raise_for_status()
                waits.append(float(r.json()["timings"]["queue_ms"]))
                i += 2

    threads = [threading.Thread(target=asker, args=(i,)) for i in range(2 if on else 0)]
    for t in threads:
        t.start()
    time.sleep(2.0 if on else 0)  # both asking: one generating, one queued
    try:
        yield waits
    finally:
        stop.set()
        for t in threads:
            t.join()


def _result(n: int, clients: tuple[int, ...], results: dict[Any, Any]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for c in clients:
        for generating, tag in ((False, "idle"), (True, "generating")):
            r = results[(c, generating)]
            what = f"{c} client(s), model {tag}, {n:,} chunks"
            figures[f"search_per_s_{c}_{tag}"] = figure([r["per_s"]], "searches/s", what, 1)
            figures[f"search_p95_{c}_{tag}"] = figure([r["p95"]], "ms", f"p95, {what}", 1)
            figures[f"search_p50_{c}_{tag}"] = figure([r["p50"]], "ms", f"p50, {what}", 1)
    waits = results["queue_ms"] or [0.0]
    figures["queue_wait_p50"] = figure([percentile(waits, 0.5)], "ms", "answer queue wait p50", 0)
    figures["queue_wait_p95"] = figure([percentile(waits, 0.95)], "ms", "answer queue wait p95", 0)
    figures["answers"] = figure([results["answers"]], "answers", "answers during the runs", 0)
    return {
        "figures": figures,
        "ratios": [],  # the issue sets no target here: the figures are the report
        "notes": [
            "Generating: two clients ask /api/ask back to back (abstention off, 64 tokens), so "
            "one answer generates while the other waits in the model queue; queue wait is the "
            "timings.queue_ms each answer reports."
        ],
    }


def main(argv: list[str]) -> int:
    """`python -m bench concurrency [--quick]`: this benchmark alone, figures printed."""
    import json
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as work:
        ctx = Context(quick="--quick" in argv, work=Path(work))
        print(json.dumps(run(ctx), indent=2))
    return 0
