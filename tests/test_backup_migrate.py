"""Backup while serving and writing, restore into a running server, and moving a collection
between FAISS and milvus-lite without re-embedding."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.answering.services import Services
from app.server.main import create_app
from index.faiss_store.backup import backup_collection
from index.faiss_store.store import FaissStore
from index.milvus_store.store import MilvusStore
from index.transfer import compare, copy_collection, same_results
from ingest.pipeline import discover
from tests.fakes import FakeGenerator
from tests.support import write_files

ROOT = Path(__file__).resolve().parent.parent
TOPICS = "rivers mountains forests deserts oceans valleys glaciers canyons meadows islands".split()
_prefixes = itertools.count()


def cli(*args: str, data: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "RAGD_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1", **env}
    command = [sys.executable, "-m", "app.cli", *args]
    return subprocess.run(command, env=full, capture_output=True, text=True, cwd=ROOT, timeout=300)


def documents(n: int, start: int = 0) -> dict[str, str]:
    return {
        f"{i}.md": f"Document {i} is about {TOPICS[i % 10]} and {TOPICS[(i * 3 + 1) % 10]} "
        f"number {i}. It says {TOPICS[(i + 5) % 10]} matter."
        for i in range(start, start + n)
    }


def sources(collection) -> set[str]:
    return {d.source for d in collection.snapshot().documents()}


def test_backups_taken_while_serving_and_committing_each_check_ok(
    ingestor, settings, embedder, library, tmp_path
):
    root = write_files(tmp_path / "docs", documents(5))
    ingestor.ingest(discover([root]))
    stop = threading.Event()

    def keep_committing() -> None:
        for i in itertools.count(100):
            if stop.is_set():
                return
            write_files(root, documents(1, i))
            ingestor.ingest(discover([root]), wait=30)

    writer = threading.Thread(target=keep_committing)
    writer.start()
    services = Services(settings, embedder, FakeGenerator(), library)
    try:
        with TestClient(create_app(services=services)) as client:
            copies = []
            for n in range(4):
                assert client.post("/api/search", json={"query": "rivers"}).status_code == 200
                manifest = backup_collection(ingestor.collection, tmp_path / f"b{n}" / "default")
                copies.append((n, manifest.generation))
    finally:
        stop.set()
        writer.join()
    assert len({g for _, g in copies}) > 1  # the writer really committed meanwhile
    for n, generation in copies:
        copy = FaissStore(tmp_path / f"b{n}").collection("default")
        health = copy.health()
        assert (health.state, health.generation) == ("ok", generation)
        assert len(sources(copy)) == copy.manifest().documents >= 5


def test_backup_then_restore_by_the_cli_swaps_the_collection_under_a_running_server(
    ingestor, settings, embedder, library, tmp_path
):
    root = write_files(tmp_path / "docs", documents(4))
    ingestor.ingest(discover([root]))
    backup = tmp_path / "backup"
    made = cli("index", "backup", str(backup), data=settings.data_dir)
    assert made.returncode == 0, made.stderr
    checked = cli("index", "check", data=backup)
    assert checked.returncode == 0 and json.loads(checked.stdout)["status"] == "ok"
    (root / "0.md").unlink()
    write_files(root, documents(2, 10))
    ingestor.ingest(discover([root]), prune=True)
    services = Services(settings, embedder, FakeGenerator(), library)
    with TestClient(create_app(services=services)) as client:
        listed = client.get("/api/documents").json()["documents"]
        assert "0.md" not in {d["source"] for d in listed}
        restored = cli("index", "restore", str(backup), data=settings.data_dir)
        assert restored.returncode == 0, restored.stderr
        listed = client.get("/api/documents").json()["documents"]
    assert {d["source"] for d in listed} == set(documents(4))
    assert json.loads(restored.stdout)["generation"] == 3  # one more commit, not a rewind
    assert library.collection("default").health().state == "ok"


def test_faiss_to_milvus_lite_to_faiss_gives_identical_search_results(
    ingestor, embedder, milvus_client, tmp_path
):
    root = write_files(tmp_path / "docs", documents(30))
    ingestor.ingest(discover([root]))
    source = ingestor.collection
    milvus = MilvusStore(milvus_client, f"mig{next(_prefixes)}_").collection("default")
    there = copy_collection(source, milvus, probes=10)
    assert (there.documents, there.copied, len(there.probes)) == (30, 30, 10)
    assert compare(source, milvus, there.probes) == []
    back = FaissStore(tmp_path / "back").collection("default")
    copy_collection(milvus, back)
    assert (back.manifest().documents, back.manifest().rows) == (30, source.manifest().rows)
    for topic in TOPICS:
        query = embedder.embed([f"what about {topic}?"])[0]
        before, after = source.snapshot().search(query, 5), back.snapshot().search(query, 5)
        assert same_results(before, after)
        untied = [h for h in before if h.score > before[-1].score + 1e-6]
        assert [(h.chunk.source, h.score) for h in untied] == [
            (h.chunk.source, h.score) for h in after[: len(untied)]
        ]  # the same chunks, the same scores, in the same order


def test_an_interrupted_migration_resumes_without_copying_twice(ingestor, milvus_client, tmp_path):
    root = write_files(tmp_path / "docs", documents(12))
    ingestor.ingest(discover([root]))
    source = ingestor.collection
    target = MilvusStore(milvus_client, f"mig{next(_prefixes)}_").collection("default")
    export = source.export

    def dies_after_seven():
        for n, item in enumerate(export()):
            if n == 7:
                raise KeyboardInterrupt
            yield item

    source.export = dies_after_seven
    with pytest.raises(KeyboardInterrupt):
        copy_collection(source, target, commit_every=1)
    source.export = export
    resumed = copy_collection(source, target, commit_every=1)
    assert (resumed.skipped, resumed.copied) == (7, 5)
    assert compare(source, target, resumed.probes) == [] and target.check() == []


def test_ragd_index_migrate_to_milvus_verifies_counts_and_searches(ingestor, settings, tmp_path):
    root = write_files(tmp_path / "docs", documents(8))
    ingestor.ingest(discover([root]))
    uri = str(tmp_path / "migrated.db")
    result = cli("index", "migrate", "--to", "milvus", data=settings.data_dir, RAGD_MILVUS_URI=uri)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[0])
    assert (report["documents"], report["copied"], report["verified"]) == (8, 8, True)
    assert "RAGD_VECTOR_STORE=milvus" in result.stdout
    again = cli("index", "migrate", "--to", "milvus", data=settings.data_dir, RAGD_MILVUS_URI=uri)
    assert json.loads(again.stdout.splitlines()[0])["skipped"] == 8  # nothing copied twice
