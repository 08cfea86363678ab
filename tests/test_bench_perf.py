"""The performance benchmarks' plumbing (timings unchecked): the GPU script says whether CUDA
is here, and why not; the report prints free-form tables (the ingest stage table)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.ingestion import _stage_table
from bench.report import _table

ROOT = Path(__file__).resolve().parent.parent


def test_gpu_script_reports_cuda_or_says_no_cuda_and_why() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bench", "gpu", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    state = json.loads(run.stdout)["cuda"]
    if state["cuda"]:
        assert state["gpu"]
    else:
        assert state["reason"].startswith("no CUDA: ") and "no CUDA" in run.stderr


def test_stage_table_gives_each_stage_its_median_seconds_and_share() -> None:
    stages = {
        variant: [
            {"read": 1.0 * k, "embed": 6.0 * k, "total": 10.0 * k, "parse": 0.0}
            | {s: 0.0 for s in ("normalize", "chunk", "tokenize", "embed_wait", "write")}
            | {"commit": 0.5 * k}
            for k in (1, 2, 3)
        ]
        for variant in ("now", "before")
    }
    table = _stage_table("demo", stages)
    rows = {row[0]: row for row in table["rows"]}
    assert rows["embed"] == ["embed", 12.0, "60%", 12.0, "60%"]
    assert rows["total"][1:3] == [20.0, "100%"]
    lines = _table(table)
    assert lines[2] == "| stage | now (s) | share | as before (s) | share |"
    assert "| read | 2 | 10% | 2 | 10% |" in lines
