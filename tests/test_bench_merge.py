"""`python -m bench --only a,b --merge` replaces only the benchmarks it ran; every entry keeps the
run it came from, and the report says when, on which commit and at what load each ran."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.__main__ import main
from bench.core import figure, ratio
from bench.report import write_report
from bench.suite import merge_results


def entry(title: str, value: float, **facts: Any) -> dict[str, Any]:
    return {
        "title": title,
        "seconds": 5.0,
        "figures": {"speed": figure([value], "docs/s", f"{title} speed")},
        "ratios": [ratio(f"{title} / theirs", [value], 2.0)],
        **facts,
    }


def old_results() -> dict[str, Any]:
    """A whole-suite run written before entries carried their own run facts."""
    return {
        "mode": "full",
        "started_at": "2026-11-21T10:00:53+00:00",
        "seconds": 586.8,
        "machine": {
            "cpu": "cpu",
            "cores": 2,
            "memory_gib": 23.5,
            "load_average": [1.0, 0.85, 1.54],
            "commit": "3c7df26",
        },
        "load_average_at_end": [1.68, 1.48, 1.56],
        "benchmarks": {"ingestion": entry("old ingest", 1.5), "query": entry("old query", 3.0)},
    }


def new_results() -> dict[str, Any]:
    facts = {
        "mode": "full",
        "started_at": "2026-12-01T01:00:00+00:00",
        "commit": "abc1234",
        "load_average": [2.1, 2.0, 1.9],
        "load_average_at_end": [2.4, 2.2, 2.0],
    }
    results = old_results()
    results["machine"] = {**results["machine"], "commit": "abc1234"}
    results["benchmarks"] = {"ingestion": entry("new ingest", 2.5, **facts)}
    return results


def test_merge_replaces_the_benchmarks_run_and_keeps_the_others_with_their_run() -> None:
    merged = merge_results(old_results(), new_results())
    assert list(merged["benchmarks"]) == ["ingestion", "query"]  # the suite's order
    assert merged["benchmarks"]["ingestion"]["title"] == "new ingest"
    query = merged["benchmarks"]["query"]
    assert query["title"] == "old query"
    assert query["started_at"] == "2026-11-21T10:00:53+00:00" and query["commit"] == "3c7df26"
    assert query["load_average"] == [1.0, 0.85, 1.54]
    assert query["load_average_at_end"] == [1.68, 1.48, 1.56]


def test_merging_twice_keeps_each_entry_from_the_run_that_measured_it() -> None:
    once = merge_results(old_results(), new_results())
    later = new_results()
    later["benchmarks"] = {}
    twice = merge_results(once, later)
    assert twice["benchmarks"] == once["benchmarks"]


def test_merge_refuses_to_mix_quick_and_full_results() -> None:
    quick = {**new_results(), "mode": "quick"}
    with pytest.raises(ValueError, match="quick"):
        merge_results(old_results(), quick)


def test_report_of_merged_results_lists_each_run_and_marks_the_older_commit(
    tmp_path: Path,
) -> None:
    report = write_report(merge_results(old_results(), new_results()), tmp_path).read_text()
    assert "newest commit abc1234" in report
    assert (
        "| ingestion | 2026-12-01T01:00:00+00:00 | abc1234 | 5 | 2.1, 2, 1.9 | 2.4, 2.2, 2 | ok |"
    ) in report
    assert (
        "| query | 2026-11-21T10:00:53+00:00 | 3c7df26 | 5 | 1, 0.85, 1.54 | 1.68, 1.48, 1.56 "
        "| ok; **older commit** than abc1234 |"
    ) in report
    assert "| new ingest / theirs | 2.5 |" in report and "| old ingest / theirs |" not in report
    assert "| old query / theirs | 3 | 3 | 3 | >= 2 | yes |  | query (3c7df26, older) |" in report


def test_merge_into_results_of_the_other_mode_stops_before_running(tmp_path: Path) -> None:
    (tmp_path / "latest.json").write_text(json.dumps({**old_results(), "mode": "quick"}))
    assert main(["--only", "delete", "--merge", "--out", str(tmp_path)]) == 2
    assert json.loads((tmp_path / "latest.json").read_text())["mode"] == "quick"


def test_a_rerun_that_failed_without_figures_keeps_the_measured_entry_and_says_so(
    tmp_path: Path,
) -> None:
    failed = new_results()
    attempt = {**failed["benchmarks"]["ingestion"], "figures": {}, "ratios": []}
    failed["benchmarks"] = {"ingestion": {**attempt, "error": "timed out after 600 s"}}
    merged = merge_results(old_results(), failed)
    kept = merged["benchmarks"]["ingestion"]
    assert kept["title"] == "old ingest" and kept["figures"]
    assert kept["failed_rerun"]["error"] == "timed out after 600 s"
    report = write_report(merged, tmp_path).read_text()
    assert "ok; a re-run at 2026-12-01T01:00:00+00:00 (abc1234) failed: timed out" in report
