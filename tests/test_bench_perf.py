"""The performance benchmarks' plumbing (timings unchecked): the GPU script says whether CUDA
is here, and why not; the report prints free-form tables (the ingest stage table)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.ingestion import STAGES, Corpus, _result, _stage_table
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


def _stage_runs() -> list[dict[str, float]]:
    return [{stage: 1.0 for stage in STAGES} for _ in range(2)]


def test_ingestion_result_has_the_ab_rows_only_when_the_old_path_ran() -> None:
    corpus = Corpus("demo", Path("."), 10)
    counts = {"chunks": 20, "langchain": 30}
    base = {"now": [2.0, 2.2], "limit": [1.9, 2.0], "langchain": [4.0, 4.4], "torch": []}
    quick = _result("onnx-int8", corpus, counts, base, {"now": _stage_runs()})
    assert len(quick["ratios"]) == 2 and len(quick["tables"][0]["header"]) == 3
    full_rows = {**base, "before": [2.4, 2.5]}
    stages = {"now": _stage_runs(), "before": _stage_runs()}
    full = _result("onnx-int8", corpus, counts, full_rows, stages)
    names = [r["name"] for r in full["ratios"]]
    assert len(names) == 4 and "ingest docs/s now / as before (demo, same run)" in names
    assert len(full["tables"][0]["header"]) == 5 and "as before" in full["plots"][0]["bars"]
