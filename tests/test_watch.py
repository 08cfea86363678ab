"""Watched folders: a collection follows files added, edited, renamed and deleted, shares the
write lock with uploads, and catches up after a restart (real watchfiles, real FAISS on disk)."""

from __future__ import annotations

import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from index.faiss_store.store import FaissStore
from ingest.pipeline import Ingestor
from ingest.watch import Background, FolderWatch
from tests.support import (
    RAGD,
    ROOT,
    env_for,
    free_port,
    start_interruptible,
    wait_healthy,
    write_files,
)

FOLLOW_SECONDS = 10  # "within a few seconds", with room for a loaded machine


def sources(ingestor: Ingestor) -> dict[str, str]:
    """source -> content hash of the collection's committed documents."""
    collection = ingestor.collection
    docs = collection.snapshot().documents() if collection.exists() else []
    return {d.source: d.hash for d in docs}


def eventually(check: Callable[[], bool], seconds: float = FOLLOW_SECONDS) -> float:
    """Seconds until `check()` holds; fails the test after `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if check():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s")


@contextmanager
def watching(ingestor: Ingestor, root: Path) -> Iterator[FolderWatch]:
    background = Background(FolderWatch(ingestor, [root], debounce_ms=300)).start()
    try:
        eventually(lambda: background.watch.syncs >= 1)  # the catch-up pass is done
        yield background.watch
    finally:
        background.stop()
        assert not background.thread.is_alive()


def test_collection_follows_files_added_edited_renamed_and_deleted(ingestor, tmp_path):
    root = write_files(tmp_path / "docs", {"a.md": "Alpha is the first letter."})
    with watching(ingestor, root):
        assert set(sources(ingestor)) == {"a.md"}
        write_files(root, {"sub/b.txt": "Beta follows alpha."})
        eventually(lambda: set(sources(ingestor)) == {"a.md", "sub/b.txt"})
        before = sources(ingestor)["a.md"]
        write_files(root, {"a.md": "Alpha was edited."})
        eventually(lambda: sources(ingestor).get("a.md") not in (None, before))
        (root / "sub" / "b.txt").rename(root / "sub" / "c.txt")
        eventually(lambda: set(sources(ingestor)) == {"a.md", "sub/c.txt"})
        (root / "sub").rename(root / "moved")
        eventually(lambda: set(sources(ingestor)) == {"a.md", "moved/c.txt"})
        (root / "a.md").unlink()
        eventually(lambda: set(sources(ingestor)) == {"moved/c.txt"})
    assert ingestor.collection.check() == []


def test_hidden_and_editor_temp_files_are_not_ingested(ingestor, tmp_path):
    root = write_files(tmp_path / "docs", {"a.md": "Alpha."})
    with watching(ingestor, root) as watch:
        write_files(root, {".a.md.swp": "swap", ".cache/x.txt": "hidden", "b.md": "Beta."})
        eventually(lambda: "b.md" in sources(ingestor))
        assert set(sources(ingestor)) == {"a.md", "b.md"}
        assert watch.status()["error"] is None


def test_restart_catches_up_with_changes_made_while_down(ingestor, tmp_path):
    root = write_files(
        tmp_path / "docs", {"keep.md": "Kept.", "edit.md": "Old.", "gone.md": "Bye."}
    )
    with watching(ingestor, root):
        assert set(sources(ingestor)) == {"keep.md", "edit.md", "gone.md"}
    before = sources(ingestor)
    write_files(root, {"edit.md": "New text.", "new.md": "Added while down."})
    (root / "gone.md").unlink()
    with watching(ingestor, root) as watch:
        after = sources(ingestor)
        assert set(after) == {"keep.md", "edit.md", "new.md"}
        assert after["keep.md"] == before["keep.md"] and after["edit.md"] != before["edit.md"]
        assert watch.last["removed"] == 1 and watch.last["unchanged"] == 1


def test_watcher_waits_for_the_write_lock_an_upload_holds(ingestor, tmp_path):
    root = write_files(tmp_path / "docs", {"a.md": "Alpha."})
    with watching(ingestor, root) as watch:
        with ingestor.writer() as upload:  # as POST /api/documents holds it
            write_files(root, {"b.md": "Beta, written during an upload."})
            time.sleep(2)
            assert "b.md" not in sources(ingestor)
            upload.commit()
        eventually(lambda: "b.md" in sources(ingestor))
        assert watch.error == ""


def test_status_says_what_is_watched_and_when_it_last_synced(ingestor, tmp_path):
    root = write_files(tmp_path / "docs", {"a.md": "Alpha."})
    with watching(ingestor, root) as watch:
        status = watch.status()
    assert status["paths"] == [str(root.resolve())] and status["collection"] == "default"
    assert status["watching"] and status["syncs"] >= 1 and status["last_sync"]
    assert status["last_changes"]["added"] == 1


@contextmanager
def serving_with_watch(data: Path, folder: Path) -> Iterator[str]:
    port = free_port()
    with tempfile.TemporaryFile(mode="w+") as log:
        command = [*RAGD, "serve", "--port", str(port), "--watch", str(folder)]
        proc = subprocess.Popen(
            command, env=env_for(data), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True
        )
        try:
            wait_healthy(f"http://127.0.0.1:{port}", proc, log)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def top_source(url: str, query: str) -> str | None:
    results = httpx.post(f"{url}/api/search", json={"query": query, "k": 1}, timeout=30).json()
    return results["results"][0]["source"] if results.get("results") else None


@pytest.mark.e2e
def test_served_collection_answers_from_new_content_of_a_watched_folder(tmp_path):
    folder = write_files(tmp_path / "notes", {"boats.md": "The harbour keeps twelve red boats."})
    with serving_with_watch(tmp_path / "data", folder) as url:
        eventually(lambda: top_source(url, "red boats in the harbour") == "boats.md", 60)
        write_files(folder, {"owls.md": "Snowy owls nest on the northern tundra in spring."})
        seconds = eventually(lambda: top_source(url, "where do snowy owls nest") == "owls.md")
        (folder / "owls.md").rename(folder / "birds.md")
        eventually(lambda: top_source(url, "where do snowy owls nest") == "birds.md")
        (folder / "birds.md").unlink()
        eventually(lambda: top_source(url, "where do snowy owls nest") == "boats.md")
        watch = httpx.get(f"{url}/health").json()["watch"]
    print(f"new file searchable after {seconds:.1f} s")
    assert watch[0]["paths"] == [str(folder.resolve())] and watch[0]["last_sync"]
    assert watch[0]["watching"] and watch[0]["error"] is None


@pytest.mark.e2e
def test_ingest_watch_command_follows_a_folder_and_stops_cleanly_on_ctrl_c(tmp_path):
    folder = write_files(tmp_path / "notes", {"a.md": "Alpha is the first letter."})
    data = tmp_path / "data"
    collection = FaissStore(data / "index").collection("notes")
    command = [*RAGD[:-1], "app.cli.ingest", str(folder), "--watch", "--collection", "notes"]
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = start_interruptible(command, data, log)
        try:
            names = lambda: {d.source for d in collection.snapshot().documents()}  # noqa: E731
            eventually(lambda: collection.exists() and names() == {"a.md"}, 120)
            write_files(folder, {"b.md": "Beta follows alpha."})
            eventually(lambda: names() == {"a.md", "b.md"})
        finally:
            proc.send_signal(signal.SIGINT)
            code = proc.wait(timeout=30)
        log.seek(0)
        output = log.read()
    assert code == 0 and "stopped watching" in output, output
    assert "1 added" in " ".join(output.split())
