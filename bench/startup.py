"""Start-up A/B of two checkouts on the defaults: `ragd ingest samples/`, `ragd serve` to a
healthy /health, idle server RSS, the first /api/search, and whether torch got loaded.

    python -m bench.startup --before /tmp/main-tree [--after .] [--rounds 5] [--out r.json]

Arms alternate, the first arm swapping every round, so neither gains from going second.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.core import machine, rss_mib

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
QUERY = "How do I rotate the API keys?"
FIGURES = ("ingest_s", "start_s", "rss_idle_mib", "first_search_ms")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__)
    parser.add_argument("--before", type=Path, required=True, help="checkout measured as before")
    parser.add_argument("--after", type=Path, default=ROOT, help="checkout measured as after")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    result = compare({"before": args.before, "after": args.after}, args.rounds)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


def compare(arms: dict[str, Path], rounds: int) -> dict[str, Any]:
    """Every figure of each arm per round, their medians, and after/before ratios."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in arms}
    names = list(arms)
    for i in range(rounds):
        for name in names if i % 2 == 0 else names[::-1]:
            runs[name].append(one_round(arms[name].resolve()))
            print(name, runs[name][-1], file=sys.stderr, flush=True)
    medians = {name: _medians(rows) for name, rows in runs.items()}
    ratios = {f: round(medians["after"][f] / medians["before"][f], 3) for f in FIGURES}
    return {"machine": machine(), "runs": runs, "medians": medians, "after_over_before": ratios}


def _medians(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {f: round(statistics.median(r[f] for r in rows), 3) for f in FIGURES}
    out["torch_loaded"] = sorted({r["torch_loaded"] for r in rows})
    return out


def one_round(root: Path) -> dict[str, Any]:
    """Ingest samples/ into a fresh data dir, then serve it: each figure once."""
    data = Path(tempfile.mkdtemp(prefix="ragd-startup-"))
    try:
        env = {**os.environ, "RAGD_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"}
        env.pop("PYTHONPATH", None)  # the arm's own checkout: `python -m` runs from its root
        started = time.perf_counter()
        cmd = [sys.executable, "-m", "app.cli.ingest", str(SAMPLES), "--collection", "docs"]
        subprocess.run(cmd, cwd=root, env=env, check=True, capture_output=True, timeout=600)
        ingest_s = time.perf_counter() - started
        return {"ingest_s": round(ingest_s, 3), **serve_figures(root, env)}
    finally:
        shutil.rmtree(data, ignore_errors=True)


def serve_figures(root: Path, env: dict[str, str]) -> dict[str, Any]:
    """Seconds to a healthy /health, RSS after 2 s idle, the first search, torch mapped."""
    port = _free_port()
    cmd = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, proc)
        start_s = time.perf_counter() - started
        time.sleep(2)
        rss = rss_mib(proc.pid)
        before = time.perf_counter()
        body = {"query": QUERY, "collection": "docs"}
        httpx.post(f"{url}/api/search", json=body, timeout=120).raise_for_status()
        first_ms = (time.perf_counter() - before) * 1000
        return {
            "start_s": round(start_s, 3),
            "rss_idle_mib": rss,
            "first_search_ms": round(first_ms, 1),
            "torch_loaded": _maps_torch(proc.pid),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ragd serve exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)  # polled often: start-up is what is measured
    raise RuntimeError("server did not start")


def _maps_torch(pid: int) -> bool:
    """Whether libtorch is mapped into the process (torch imported, by anyone)."""
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


if __name__ == "__main__":
    main()
