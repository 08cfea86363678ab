"""The ingestion benchmark's A/B of the embedder's batch: rows only when the batch-64 side ran."""

from __future__ import annotations

from pathlib import Path

from bench.ingestion import STAGES, Corpus, _result


def _stage_runs() -> list[dict[str, float]]:
    return [{stage: 1.0 for stage in STAGES} for _ in range(2)]


def test_batch_rows_appear_only_when_the_batch_64_side_ran() -> None:
    corpus = Corpus("demo", Path("."), 10)
    counts = {"chunks": 20, "langchain": 30}
    rows = {"now": [2.0, 2.0], "limit": [1.9, 2.0], "langchain": [4.0, 4.4], "torch": []}
    without = _result("onnx-int8", corpus, counts, rows, {"now": _stage_runs()})
    assert not any("batches of 64" in r["name"] for r in without["ratios"])
    timed = {**rows, "batch64": [2.5, 3.0], "limit64": [2.4, 2.6]}
    found = _result("onnx-int8", corpus, counts, timed, {"now": _stage_runs()})
    ratios = {r["name"]: r for r in found["ratios"]}
    # seconds per repeat: now 2.0 vs 2.5 and 3.0 with batches of 64 -> 1.25, 1.5
    assert ratios["ingest docs/s now / with batches of 64 (demo, same run)"]["median"] == 1.375
    assert ratios["embedder alone, batches of 16 / of 64 (demo, same chunks)"]["min"] == 1.263
    assert "demo_limit64_chunks_per_s" in found["figures"]
