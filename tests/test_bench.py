"""The benchmark suite runs and writes its JSON, Markdown report and plots (timings unchecked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.core import figure, ratio
from bench.report import write_report

ROOT = Path(__file__).resolve().parent.parent


def fake_results() -> dict[str, object]:
    speed = figure([10.0, 12.0, 11.0], "docs/s", "ours")
    return {
        "mode": "quick",
        "started_at": "2026-01-01T00:00:00+00:00",
        "seconds": 1.0,
        "machine": {"cpu": "cpu", "cores": 2, "memory_gib": 1.0, "load_average": [1, 1, 1]},
        "load_average_at_end": [1, 1, 1],
        "benchmarks": {
            "demo": {
                "title": "Demo",
                "seconds": 1.0,
                "figures": {"speed": speed},
                "ratios": [ratio("ours / theirs", [2.1, 1.9, 2.5], 2.0)],
                "notes": ["a note"],
                "plots": [
                    {
                        "kind": "bars",
                        "file": "bars.png",
                        "title": "t",
                        "unit": "u",
                        "bars": {"ours": speed, "theirs": speed},
                    },
                    {
                        "kind": "lines",
                        "file": "lines.png",
                        "title": "t",
                        "xlabel": "x",
                        "ylabel": "y",
                        "logx": True,
                        "target": 20,
                        "series": {"p50": [[10, speed], [100, speed]]},
                    },
                ],
            }
        },
    }


def test_report_has_ratio_table_figures_and_plots(tmp_path: Path) -> None:
    report = write_report(fake_results(), tmp_path).read_text()
    assert "| ours / theirs | 2.1 | 1.9 | 2.5 | >= 2 | yes |" in report
    assert "| ours | 11 | 10 | 12 | docs/s | 3 |" in report
    assert "![t](bars.png)" in report
    assert (tmp_path / "bars.png").stat().st_size > 1000
    assert (tmp_path / "lines.png").stat().st_size > 1000


def test_missed_target_is_marked() -> None:
    assert not ratio("p50 ms", [25.0, 30.0], 20, higher_is_better=False)["met"]
    assert ratio("p50 ms", [15.0, 30.0, 12.0], 20, higher_is_better=False)["met"]


@pytest.mark.e2e
def test_quick_suite_writes_json_report_and_plots(tmp_path: Path) -> None:
    """`python -m bench --quick` on a subset: real server, real Writer, real index."""
    out = tmp_path / "results"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "delete,query", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads((out / "latest.json").read_text())
    assert set(results["benchmarks"]) == {"delete", "query"}
    query = results["benchmarks"]["query"]
    assert "p50_10000" in query["figures"] and query["ratios"]
    assert all({"median", "min", "max"} <= set(f) for f in query["figures"].values())
    report = (out / "REPORT.md").read_text()
    assert "## Ratios against targets" in report and "search-latency.png" in report
    assert (out / "search-latency.png").is_file()
    assert "target" in run.stdout
