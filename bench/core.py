"""What benchmark modules share: the run context, medians with min/max, ratios with targets."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Context:
    """One run of the suite: quick or full, where scratch files go, how often to repeat."""

    quick: bool
    work: Path  # scratch folder, removed after the run
    repeats: int = 3
    log: Callable[[str], None] = print
    notes: list[str] = field(default_factory=list)

    def pick(self, quick: Any, full: Any) -> Any:
        return quick if self.quick else full


def stat(values: Sequence[float], digits: int = 2) -> dict[str, float]:
    """Median, min and max of repeated measurements (the only way a figure is reported)."""
    if not values:
        raise ValueError("no measurements")
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "runs": len(values),
    }


def figure(values: Sequence[float], unit: str, label: str, digits: int = 2) -> dict[str, Any]:
    return {**stat(values, digits), "unit": unit, "label": label}


def ratio(
    name: str,
    values: Sequence[float],
    target: float,
    higher_is_better: bool = True,
    limit: str = "",
) -> dict[str, Any]:
    """A ratio measured side by side in each repeat; its median is judged against `target`."""
    summary = stat(values, 3)
    met = summary["median"] >= target if higher_is_better else summary["median"] <= target
    sign = ">=" if higher_is_better else "<="
    return {"name": name, **summary, "target": f"{sign} {target:g}", "met": met, "limit": limit}


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))
    return ordered[rank]


@contextmanager
def timer() -> Iterator[list[float]]:
    """`with timer() as t: ...` then t[0] holds the seconds taken."""
    box: list[float] = []
    started = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - started)


def machine() -> dict[str, Any]:
    """What the numbers were measured on, including how busy the machine was."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(_mem_total_kib() / 2**20, 1),
        "gpu": "none",
        "load_average": load_average(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "commit": git_commit(),
    }


def run_facts() -> dict[str, Any]:
    """When, on which commit and at what load a benchmark starts (each entry carries its own)."""
    return {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "load_average": load_average(),
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_kib() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


RESULTS_ASIDE = ":!bench/results"  # results written by a run do not make its commit dirty


def git_commit() -> str:
    """The newest commit of the code (commits of results alone do not count), with "-dirty"
    when tracked files (results aside) differ from it."""
    try:
        head = _git("log", "-1", "--format=%h", "--", ".", RESULTS_ASIDE).strip()
        changed = _git("status", "--porcelain", "--untracked-files=no", "--", ".", RESULTS_ASIDE)
    except OSError:
        return ""
    return f"{head}-dirty" if head and changed.strip() else head


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout


def rss_mib(pid: int) -> float:
    """Resident memory of a process, in MiB."""
    import psutil

    return round(psutil.Process(pid).memory_info().rss / 2**20, 1)
