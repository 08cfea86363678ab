"""Surviving the disk: ENOSPC / EIO at every I/O point of a commit, a real full tmpfs, the
free-space floor, empty / ok / degraded / broken, and timed commits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.answering.services import Services
from app.server.main import create_app
from bench.crash import make_corpus
from bench.fault_scenarios import milvus_trials, scenarios
from bench.faults import installed, run_scenario
from index.faiss_store.store import FaissStore
from ingest.pipeline import discover
from tests.fakes import FakeGenerator
from tests.support import write_files

ROOT = Path(__file__).resolve().parent.parent
PLANS = (("ENOSPC", True), ("EIO", False))  # a full disk stays full; an I/O error passes


def cli(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RAGD_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "app.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ingest", "upload", "delete"])
def test_enospc_and_eio_at_every_io_point_of_a_faiss_commit_leave_a_whole_generation(
    name, tmp_path
):
    with installed():
        scenario = next(s for s in scenarios(tmp_path) if s.name == name)
        outcomes = run_scenario(scenario, tmp_path, PLANS)
    kinds = {o.failed.split("#")[0] for o in outcomes}
    assert kinds == {"write", "fsync", "rename", "sqlite-commit"}
    assert len(outcomes) >= 20  # every point, both errors
    assert [(o.error, o.failed, o.problems) for o in outcomes if o.problems] == []
    reported = [o for o in outcomes if o.message]
    assert len(reported) >= len(outcomes) - 4  # only post-commit clean-up may fail silently


@pytest.mark.slow
def test_enospc_and_eio_at_every_milvus_write_call_are_reported_and_a_rerun_heals(
    tmp_path, milvus_client
):
    with installed():
        outcomes = milvus_trials(tmp_path, milvus_client, PLANS)
    assert {o.failed.split("#")[0] for o in outcomes} >= {"milvus-upsert", "milvus-delete"}
    assert [(o.error, o.failed, o.problems) for o in outcomes if o.problems] == []
    # A commit seals its rows (flush): milvus-lite's own files then fsync in this process, and
    # it retries a failed one itself ("Flush failed", rows kept: no problems above).
    assert all(o.message for o in outcomes if not o.failed.startswith("fsync"))


def test_a_never_committed_collection_checks_as_empty_with_exit_0(settings):
    FaissStore(settings.index_dir).collection("default").chunk_store.close()  # as a killed ingest
    result = cli("index", "check", data=settings.data_dir)
    report = json.loads(result.stdout)
    assert (result.returncode, report["status"]) == (0, "empty")
    assert "ingest PATH" in report["advice"]


def test_a_corrupt_newest_generation_is_degraded_exit_3_and_served_from_the_previous(
    ingestor, settings, embedder, library, tmp_path
):
    root = write_files(tmp_path / "docs", {"a.md": "Alpha rivers."})
    ingestor.ingest(discover([root]))
    write_files(root, {"b.md": "Beta mountains."})
    ingestor.ingest(discover([root]))
    newest = max(ingestor.collection.folder.glob("seg-*.faiss"))
    newest.write_bytes(newest.read_bytes()[:-10])  # truncated
    result = cli("index", "check", data=settings.data_dir)
    report = json.loads(result.stdout)
    assert (result.returncode, report["status"], report["serving"]) == (3, "degraded", 1)
    assert "restore" in report["advice"] and "checksum" in report["problems"][0]
    services = Services(settings, embedder, FakeGenerator(), library)
    with TestClient(create_app(services=services)) as client:
        health = client.get("/health").json()
    assert health["index"]["default"] == {"state": "degraded", "generation": 2, "serving": 1}


def test_health_reports_free_space_and_an_empty_collection(settings, embedder, library):
    services = Services(settings, embedder, FakeGenerator(), library)
    with TestClient(create_app(services=services)) as client:
        health = client.get("/health").json()
    assert health["index"]["default"]["state"] == "empty"
    assert health["storage"]["free_mb"] > 0 and health["storage"]["min_free_mb"] == 100
    assert health["storage"]["low"] is False


def test_an_ingest_killed_after_its_first_timed_commit_keeps_the_files_committed_before(
    tmp_path,
):
    corpus, data = make_corpus(tmp_path / "corpus", 60), tmp_path / "data"
    worker = [sys.executable, "-m", "bench.crash", "--timed-worker", str(corpus), str(data)]
    proc = subprocess.Popen([*worker, "1.0", "0.2"], cwd=ROOT, stderr=subprocess.DEVNULL)
    collection = FaissStore(data / "index").collection("default")
    try:
        deadline = time.monotonic() + 120
        while collection.manifest() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # no size-based commit: this one is the timer's
        committed = collection.manifest()
        kept = {d.source for d in collection.chunk_store.documents(committed.generation)}
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert 0 < len(kept) < 60  # it was stopped part-way, with files committed
    after = FaissStore(data / "index").collection("default")
    assert after.health().state == "ok"
    assert kept <= {d.source for d in after.snapshot().documents()}


def test_an_interrupted_ingest_says_which_files_it_kept(ingestor, tmp_path, monkeypatch):
    root = write_files(tmp_path / "docs", {f"{i}.md": f"Text number {i}." for i in range(6)})
    ingestor.commit_seconds, ingestor.batch_chunks, ingestor.lookahead = 1e-9, 1, 0
    embed, calls = ingestor.embedder.embed, []

    def interrupted(texts):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return embed(texts)

    monkeypatch.setattr(ingestor.embedder, "embed", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ingestor.ingest(discover([root]))
    line = ingestor.summary.kept_line()
    assert line.startswith("3 new or updated files (3 chunks) were committed")
    assert len(ingestor.collection.snapshot().documents()) == 3
