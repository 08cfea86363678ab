"""`bench crash --faults` and friends: fault-injection trials over every I/O point of the commit
path, the most work an interrupted ingest can lose, and backup / restore / migrate times."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.crash import make_corpus
from tests.fakes import FakeEmbedder

PLANS = (("ENOSPC", True), ("ENOSPC", False), ("EIO", False), ("EIO", True))


def fault_trials(workdir: Path, milvus: bool = True) -> dict[str, Any]:
    """Every scenario, every reachable failure point, every plan; counts what broke."""
    from bench.fault_scenarios import milvus_trials, scenarios
    from bench.faults import installed, run_scenario

    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    started, outcomes = time.perf_counter(), []
    with installed():
        for scenario in scenarios(workdir):
            outcomes += run_scenario(scenario, workdir, PLANS)
        if milvus:
            from index.milvus_store.store import connect

            outcomes += milvus_trials(workdir, connect(str(workdir / "milvus.db")), PLANS)
    bad = [o for o in outcomes if o.problems]
    points = {(o.scenario, o.point) for o in outcomes}
    return {
        "trials": len(outcomes),
        "failure_points": len(points),
        "calls_failed": dict(Counter(o.failed.split("#")[0] for o in outcomes)),
        "inconsistent_or_unreported": len(bad),
        "problems": [f"{o.scenario} {o.error} at {o.failed}: {o.problems[:2]}" for o in bad[:10]],
        "seconds": round(time.perf_counter() - started, 1),
    }


class SlowEmbedder(FakeEmbedder):
    """Embedding that takes `delay` seconds a batch, as a slow machine's does."""

    def __init__(self, delay: float) -> None:
        super().__init__("hash-64", max_tokens=128)
        self.delay = delay

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        time.sleep(self.delay)
        return super().embed(texts)


def slow_ingestor(data: Path, commit_seconds: float, delay: float) -> Any:
    """Commits by time only (never by size), embedding slowly in small batches."""
    from index.faiss_store.store import FaissStore
    from ingest.chunker import Chunker
    from ingest.pipeline import Ingestor

    embedder = SlowEmbedder(delay)
    collection = FaissStore(data / "index").collection("default")
    chunker = Chunker(embedder, size=64, overlap=8)
    return Ingestor(
        embedder, chunker, collection, 10**9, batch_chunks=8, commit_seconds=commit_seconds
    )


def work_at_risk(workdir: Path, commit_seconds: float, delay: float, files: int) -> dict[str, Any]:
    """The longest stretch of work an interruption could lose: the widest gap between commits
    (from the start to the first, and between each), measured on a slow ingest."""
    from ingest.pipeline import discover

    shutil.rmtree(workdir, ignore_errors=True)
    corpus = make_corpus(workdir / "corpus", files)
    ingestor = slow_ingestor(workdir / "data", commit_seconds, delay)
    marks = [time.monotonic()]
    commit = type(ingestor)._commit

    def timed(self: Any, writer: Any, summary: Any) -> None:
        commit(self, writer, summary)
        marks.append(time.monotonic())

    ingestor._commit = timed.__get__(ingestor)
    ingestor.ingest(discover([corpus]))
    gaps = np.diff(marks)
    return {
        "commit_seconds": commit_seconds,
        "commits": len(gaps),
        "max_seconds_at_risk": round(float(gaps.max()), 2),
        "ingest_seconds": round(marks[-1] - marks[0], 1),
    }


def copy_times(workdir: Path, chunks: int) -> dict[str, Any]:
    """Backup, restore and a FAISS -> milvus-lite -> FAISS migration of a synthetic collection."""
    from bench.synthetic import build_collection, server_spec
    from index.faiss_store.backup import backup_collection
    from index.faiss_store.store import FaissStore
    from index.milvus_store.store import MilvusStore, connect
    from index.transfer import compare, copy_collection

    shutil.rmtree(workdir, ignore_errors=True)
    build = build_collection(workdir / "data" / "index", "default", chunks, server_spec("torch"))
    source = FaissStore(workdir / "data" / "index").collection("default")
    times: dict[str, Any] = {"chunks": chunks, "build_seconds": round(build, 1)}
    times["backup_seconds"] = _timed(lambda: backup_collection(source, workdir / "backup"))
    backup = FaissStore(workdir).collection("backup")
    times["restore_seconds"] = _timed(lambda: copy_collection(backup, source, replace=True))
    _note(times)
    milvus = MilvusStore(connect(str(workdir / "milvus.db"))).collection("default")
    started = time.perf_counter()
    there = copy_collection(source, milvus)
    times["migrate_to_milvus_seconds"] = round(time.perf_counter() - started, 1)
    times["verify_problems"] = compare(source, milvus, there.probes)
    _note(times)
    back = FaissStore(workdir / "back").collection("default")
    started = time.perf_counter()
    copy_collection(milvus, back)
    times["migrate_back_seconds"] = round(time.perf_counter() - started, 1)
    times["round_trip_problems"] = compare(source, back, there.probes)
    return times


def _timed(work: Any) -> float:
    started = time.perf_counter()
    work()
    return round(time.perf_counter() - started, 1)


def _note(times: dict[str, Any]) -> None:
    """Each figure as soon as it is measured (a long run cut short keeps what it had)."""
    print(json.dumps(times), file=sys.stderr, flush=True)
