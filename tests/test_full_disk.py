"""A real full disk: an 8 MB tmpfs as the data folder, filled during an ingest and an upload
(served by a real uvicorn), then freed; and the free-space floor that refuses to start."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from app.answering.services import Services
from app.server.main import create_app
from config.settings import Settings
from index.errors import DiskFull
from index.faiss_store.store import FaissStore
from ingest.chunker import Chunker
from ingest.pipeline import Ingestor, build_ingestor, discover
from tests.fakes import FakeEmbedder, FakeGenerator
from tests.support import write_files

WORDS = "river mountain forest desert ocean valley glacier canyon meadow island".split()


def words(n: int, seed: int) -> str:
    return " ".join(WORDS[(i * seed + i // 7) % len(WORDS)] + str(i % 97) for i in range(n)) + "."


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """A ballast file that leaves `leave` bytes free."""
    ballast = disk / "ballast"
    with open(ballast, "wb") as handle:
        handle.write(b"\0" * max(0, shutil.disk_usage(disk).free - leave))
    return ballast


def settings_on(disk: Path, min_free_mb: float = 0) -> Settings:
    return Settings(data_dir=disk / "data", min_free_mb=min_free_mb, _env_file=None)  # type: ignore[call-arg]


def test_an_ingest_that_fills_the_disk_keeps_the_last_generation_and_resumes_once_freed(
    disk, tmp_path
):
    embedder = FakeEmbedder()
    collection = FaissStore(disk / "data" / "index").collection("default")
    ingestor = Ingestor(embedder, Chunker(embedder, size=30, overlap=6), collection)
    root = write_files(tmp_path / "docs", {"a.md": words(50, 1), "b.md": words(50, 2)})
    ingestor.ingest(discover([root]))
    write_files(root, {f"new{i}.md": words(3000, i + 3) for i in range(8)})
    ballast = fill(disk, 96 * 1024)
    with pytest.raises(DiskFull, match=r"the disk is full.*serves generation 1"):
        ingestor.ingest(discover([root]))
    assert collection.health().state == "ok" and collection.manifest().generation == 1
    assert [d.source for d in collection.snapshot().documents()] == ["a.md", "b.md"]
    assert not [p for p in collection.folder.iterdir() if p.name.endswith(".tmp")]
    ballast.unlink()
    assert ingestor.ingest(discover([root])).count("added") == 8
    assert collection.health().state == "ok" and len(collection.snapshot().documents()) == 10


@contextmanager
def served(settings: Settings) -> Iterator[httpx.Client]:
    """The app on a real uvicorn, in this process (FakeEmbedder: no model to load)."""
    import uvicorn

    store = FaissStore(settings.index_dir)
    services = Services(settings, FakeEmbedder(), FakeGenerator(), store)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(services=services), port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_an_upload_that_fills_the_disk_is_507_and_the_server_keeps_answering(disk):
    with served(settings_on(disk)) as client:
        first = client.post("/api/documents", files=[("file", ("a.md", words(80, 1).encode()))])
        assert first.status_code == 200
        ballast = fill(disk, 64 * 1024)
        big = words(20000, 5).encode()
        response = client.post("/api/documents", files=[("file", ("big.md", big))])
        assert response.status_code == 507
        assert "the disk is full" in response.json()["detail"]
        found = client.post("/api/search", json={"query": "river", "k": 3}).json()["results"]
        assert found and {h["source"] for h in found} == {"a.md"}
        assert client.get("/health").json()["index"]["default"]["state"] == "ok"
        ballast.unlink()
        again = client.post("/api/documents", files=[("file", ("big.md", big))])
        assert again.status_code == 200 and again.json()["added"] == 1


def test_below_the_free_space_floor_uploads_and_ingests_refuse_to_start(disk, tmp_path):
    settings = settings_on(disk, min_free_mb=1)
    fill(disk, 512 * 1024)
    with served(settings) as client:
        response = client.post("/api/documents", files=[("file", ("a.md", b"Alpha text."))])
        storage = client.get("/health").json()["storage"]
    assert response.status_code == 507
    assert "refusing to start an upload" in response.json()["detail"]
    assert storage["low"] is True and storage["free_mb"] < 1
    store = FaissStore(settings.index_dir)
    ingestor = build_ingestor(settings, FakeEmbedder(), store)
    root = write_files(tmp_path / "docs", {"a.md": "Alpha text."})
    with pytest.raises(DiskFull, match=r"refusing to start an ingest.*RAGD_MIN_FREE_MB"):
        ingestor.ingest(discover([root]))
    assert not store.collection("default").exists()
