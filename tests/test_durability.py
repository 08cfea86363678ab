"""Durability: kill -9 during ingest, disk full, concurrent writers, live reload."""

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.answering.services import Services
from app.server.main import create_app
from bench.crash import run_trial
from index.errors import DiskFull
from index.faiss_store.check import check_collection
from index.faiss_store.writer import Writer
from ingest.pipeline import discover, index_spec
from tests.fakes import FakeGenerator
from tests.support import write_files

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_sigkill_during_ingest_never_leaves_a_broken_index(tmp_path):
    trial = run_trial(kills=12, files=80, workdir=tmp_path, real=False, seed=3)
    assert trial.kills == 12
    assert trial.inconsistent == []


@pytest.mark.e2e
@pytest.mark.slow
def test_sigkill_of_the_real_ingest_cli(tmp_path):
    trial = run_trial(kills=2, files=40, workdir=tmp_path, real=True, seed=5)
    assert (trial.kills, trial.inconsistent) == (2, [])


def test_disk_full_keeps_the_old_generation_serving(ingestor, tmp_path, monkeypatch):
    root = write_files(tmp_path / "docs", {"a.md": "Alpha text."})
    ingestor.ingest(discover([root]))
    before = ingestor.collection.manifest()
    write_files(root, {"b.md": "Beta text."})

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("index.faiss_store.vectors.atomic_write", full)
    with pytest.raises(DiskFull, match=r"the disk is full.*serves generation 1"):
        ingestor.ingest(discover([root]))
    assert ingestor.collection.manifest() == before
    assert check_collection(ingestor.collection) == []
    assert [d.source for d in ingestor.collection.snapshot().documents()] == ["a.md"]
    monkeypatch.undo()
    assert ingestor.ingest(discover([root])).count("added") == 1  # space is back: it resumes


@pytest.mark.e2e  # the `ingest` CLI loads the real embedder before it asks for the lock
def test_a_second_writer_process_is_told_ingest_is_running(ingestor, settings, tmp_path):
    root = write_files(tmp_path / "docs", {"a.md": "Alpha text."})
    env = {**os.environ, "RAGD_DATA_DIR": str(settings.data_dir)}
    with Writer(ingestor.collection, ingestor.spec):
        result = subprocess.run(
            [sys.executable, "-m", "app.cli.ingest", str(root)],
            env=env,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
    assert result.returncode == 2
    assert "ingest already running" in result.stderr


def test_upload_during_an_ingest_is_409_and_the_server_sees_new_generations(
    settings, embedder, library, ingestor, tmp_path
):
    services = Services(settings, embedder, FakeGenerator(), library)
    root = write_files(tmp_path / "docs", {"a.md": "Alpha text about rivers."})
    ingestor.ingest(discover([root]))
    with TestClient(create_app(services=services)) as client:
        with Writer(library.collection("default"), index_spec(embedder)):
            response = client.post("/api/documents", files=[("file", ("b.md", b"Beta."))])
        assert response.status_code == 409
        assert "ingest already running" in response.json()["detail"]
        write_files(root, {"b.md": "Beta text about mountains."})
        ingestor.ingest(discover([root]))  # another process's ingest, no restart
        hits = client.post("/api/search", json={"query": "mountains", "k": 1}).json()["results"]
        assert hits[0]["source"] == "b.md"
        doc_id = hits[0]["doc_id"]
        assert client.delete(f"/api/documents/{doc_id}").status_code == 200
        hits = client.post("/api/search", json={"query": "mountains", "k": 5}).json()["results"]
        assert "b.md" not in {h["source"] for h in hits}
    assert check_collection(library.collection("default")) == []


def test_ragd_index_check_reports_a_bit_flip(ingestor, settings, tmp_path):
    root = write_files(tmp_path / "docs", {"a.md": "Alpha text."})
    ingestor.ingest(discover([root]))
    segment = next(ingestor.collection.folder.glob("*.faiss"))
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0x01
    segment.write_bytes(bytes(data))
    env = {**os.environ, "RAGD_DATA_DIR": str(settings.data_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "index", "check"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 1  # broken: one generation, and it fails its checksum
    report = json.loads(result.stdout)
    assert report["status"] == "broken" and "checksum" in report["problems"][0]


def test_delete_rewrites_no_vectors_and_embeds_nothing(ingestor, embedder, tmp_path):
    root = write_files(tmp_path / "docs", {f"{i}.md": f"Text number {i}." for i in range(5)})
    ingestor.ingest(discover([root]))
    before, calls = ingestor.collection.manifest(), embedder.calls
    with ingestor.writer() as writer:
        writer.delete(writer.documents()[0].id)
        after = writer.commit()
    assert after.segments == before.segments  # no FAISS file written or rewritten
    assert embedder.calls == calls
    assert (after.rows, after.documents) == (before.rows - 1, 4)
