"""The suite: a registry of benchmark modules, each run in its own process, results in one JSON.

A module plugs in by exposing `run(ctx: bench.core.Context) -> dict` returning
`{"figures": {key: figure(...)}, "ratios": [ratio(...)], "plots": [...], "notes": [...]}`.
Each runs in a fresh interpreter so that memory, threads and imports never leak between them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.core import ROOT, Context, load_average, machine, run_facts


@dataclass(frozen=True)
class Bench:
    name: str
    module: str
    title: str
    quick_timeout_s: int = 150
    full_timeout_s: int = 600
    full_only: bool = False  # too long for the quick suite (no tiny version makes sense)


SUITE = [
    Bench(
        "ingestion",
        "bench.ingestion",
        "Ingestion: ragd against bare encode and LangChain",
        full_timeout_s=1800,  # two corpora, three ingest variants, LangChain: 17 min at load 8
    ),
    Bench("embedding", "bench.embedding", "Embedding backends: speed and SciFact nDCG@10"),
    Bench(
        "query",
        "bench.query",
        "Search latency, ANN recall, memory and start-up by corpus size",
        full_timeout_s=3000,  # 1M chunks built (codes trained), served two ways, recall
    ),
    Bench(
        "scale",
        "bench.scale",
        "Ten million synthetic chunks on one box: build, memory, latency, recall",
        full_timeout_s=3 * 3600,
        full_only=True,
    ),
    Bench(
        "concurrency",
        "bench.concurrency",
        "Search under 1/4/16 concurrent clients while answers generate; queue wait",
        full_timeout_s=1200,
        full_only=True,  # answers take 15-30 s on 2 busy cores: `bench concurrency --quick`
    ),
    Bench(
        "generation",
        "bench.generation",
        "Generation: decode roofline, server against direct",
        full_timeout_s=900,
    ),
    Bench("delete", "bench.delete", "Delete and re-ingest cost against index size"),
    Bench(
        "parsing",
        "bench.parsing",
        "Parsing: PDF pages/s, HTML MB/s against pypdf, BeautifulSoup, LangChain loaders",
        full_timeout_s=1200,  # 400 real PDF pages through pure-Python pypdf twice, 3 repeats
    ),
    Bench("filtered", "bench.filtered", "Filtered search latency against selectivity"),
    Bench("milvus", "bench.milvus", "milvus-lite against FAISS: latency per mode, top-10 overlap"),
]
BY_NAME = {b.name: b for b in SUITE}


def run_suite(quick: bool, only: list[str], out: Path) -> dict[str, Any]:
    """Run the chosen modules one after another, each in a subprocess, and collect results."""
    chosen = [b for b in SUITE if (not only or b.name in only) and not (quick and b.full_only)]
    started = time.perf_counter()
    results: dict[str, Any] = {
        "mode": "quick" if quick else "full",
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "benchmarks": {},
    }
    out.mkdir(parents=True, exist_ok=True)
    for bench in chosen:
        print(f"== {bench.name}: {bench.title}", flush=True)
        results["benchmarks"][bench.name] = _run_one_process(bench, quick, out)
        _print_ratios(results["benchmarks"][bench.name])
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["load_average_at_end"] = load_average()
    return results


# What each benchmark entry records about its own run (`merge_results` keeps them per entry).
RUN_FACTS = ("mode", "started_at", "commit", "seconds", "load_average", "load_average_at_end")


def merge_results(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`new`'s benchmarks replace `old`'s of the same name; the others stay, each with the facts
    of the run that measured it (taken from `old`'s header where an entry predates them)."""
    if old.get("mode") != new["mode"]:
        raise ValueError(f"cannot merge a {new['mode']} run into {old.get('mode')} results")
    entries = {name: _with_run_facts(entry, old) for name, entry in old["benchmarks"].items()}
    for name, entry in new["benchmarks"].items():
        entries[name] = _kept_if_rerun_failed(entries.get(name), entry)
    order = {name: i for i, name in enumerate(BY_NAME)}
    ranked = sorted(entries, key=lambda name: order.get(name, len(order)))
    merged = {k: v for k, v in new.items() if k not in ("started_at", "seconds")}
    return {**merged, "merged": True, "benchmarks": {name: entries[name] for name in ranked}}


def _kept_if_rerun_failed(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """A re-run that failed without a figure leaves the measured entry, noting the failure."""
    if old is None or old.get("error") or not new.get("error") or new.get("figures"):
        return new
    attempt = {k: new.get(k) for k in ("started_at", "commit", "seconds", "error")}
    return {**old, "failed_rerun": attempt}


def _with_run_facts(entry: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    """An entry written before entries carried their own run facts gets its run's."""
    inherited = {
        "mode": run.get("mode"),
        "started_at": run.get("started_at"),
        "commit": run.get("machine", {}).get("commit", ""),
        "load_average": run.get("machine", {}).get("load_average", []),
        "load_average_at_end": run.get("load_average_at_end", []),
    }
    return {**inherited, **entry}


def _run_one_process(bench: Bench, quick: bool, out: Path) -> dict[str, Any]:
    timeout = bench.quick_timeout_s if quick else bench.full_timeout_s
    facts = {"mode": "quick" if quick else "full", **run_facts()}
    with tempfile.TemporaryDirectory(prefix=f"ragd-bench-{bench.name}-") as tmp:
        result_file = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "bench.suite", bench.name, "--json", str(result_file)]
        started = time.perf_counter()
        failure = _run_in_group([*cmd, *(["--quick"] if quick else [])], timeout)
        seconds = round(time.perf_counter() - started, 1)
        if result_file.exists():
            result: dict[str, Any] = json.loads(result_file.read_text())
        else:
            result = {"figures": {}, "ratios": [], "plots": [], "notes": []}
    if failure:
        result["error"] = failure
    ended = {"seconds": seconds, "load_average_at_end": load_average()}
    return {"title": bench.title, **result, **facts, **ended}


def _run_in_group(cmd: list[str], timeout: int) -> str:
    """Run `cmd` in its own process group; on timeout end the group (servers it started too)."""
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return f"timed out after {timeout} s"
    return "" if code == 0 else f"exited with code {code}"


def _print_ratios(result: dict[str, Any]) -> None:
    if result.get("error"):
        print(f"   FAILED: {result['error']}", flush=True)
    for r in result.get("ratios", []):
        verdict = "ok" if r["met"] else "MISSED"
        print(
            f"   {r['name']}: {r['median']:g} (min {r['min']:g}, max {r['max']:g}) "
            f"target {r['target']} -> {verdict}",
            flush=True,
        )


def run_module(name: str, quick: bool) -> dict[str, Any]:
    """Run one module in this process (the child side of `_run_one_process`)."""
    bench = BY_NAME[name]
    module = importlib.import_module(bench.module)
    with tempfile.TemporaryDirectory(prefix=f"ragd-bench-{name}-work-") as work:
        ctx = Context(quick=quick, work=Path(work), repeats=2 if quick else 3)
        result: dict[str, Any] = module.run(ctx)
    result.setdefault("notes", []).extend(ctx.notes)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suite")
    parser.add_argument("name", choices=sorted(BY_NAME))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args(argv)
    result = run_module(args.name, args.quick)
    args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
