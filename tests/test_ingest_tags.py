"""`ingest --tag` on unchanged files retags without re-embedding; `ingest --watch --tag` tags
what it syncs (real FAISS on disk; the CLI runs with the real packaged embedder)."""

from __future__ import annotations

import json
import signal
import tempfile

import pytest

from index.faiss_store.store import FaissStore
from index.filters import parse
from ingest.pipeline import Ingestor, discover
from tests.fakes import FakeEmbedder
from tests.support import INGEST, env_for, run, start_interruptible, write_files
from tests.test_watch import eventually

NOTES = {"a.md": "Alpha is the first letter.", "b.txt": "Beta follows alpha."}


def tags(collection) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    return {d.source: d.tags for d in collection.snapshot().documents()}


def test_new_tags_on_unchanged_files_are_stored_without_re_embedding(
    ingestor: Ingestor, embedder: FakeEmbedder, tmp_path
):
    folder = write_files(tmp_path / "notes", NOTES)
    ingestor.tags = {"year": "2024"}
    ingestor.ingest(discover([folder]))
    generation, calls = ingestor.collection.manifest().generation, embedder.calls  # type: ignore[union-attr]
    ingestor.tags = {"year": "2025", "team": "blue"}
    summary = ingestor.ingest(discover([folder]))
    assert embedder.calls == calls and summary.chunks == 0
    assert {o.status for o in summary.outcomes} == {"unchanged"}
    assert {o.reason for o in summary.outcomes} == {"tags updated; nothing re-embedded"}
    assert tags(ingestor.collection) == {key: {"year": "2025", "team": "blue"} for key in NOTES}
    vector = embedder.embed(["alpha"])[0]
    hits = ingestor.collection.snapshot().search(
        vector, 5, parse({"field": "tags.year", "eq": "2025"})
    )
    assert hits, "a filter on the new tag finds the retagged chunks"
    assert ingestor.collection.manifest().generation == generation  # type: ignore[union-attr]


def test_unchanged_files_with_unchanged_tags_are_left_alone(ingestor: Ingestor, tmp_path):
    folder = write_files(tmp_path / "notes", NOTES)
    ingestor.tags = {"year": "2024"}
    ingestor.ingest(discover([folder]))
    summary = ingestor.ingest(discover([folder]))
    assert [(o.status, o.reason) for o in summary.outcomes] == [("unchanged", "")] * 2


@pytest.mark.e2e
def test_ingest_cli_rerun_with_another_tag_retags_and_embeds_nothing(tmp_path):
    folder = write_files(tmp_path / "notes", NOTES)
    data = tmp_path / "data"
    first = run([*INGEST, str(folder), "--tag", "team=red"], env_for(data))
    assert first.returncode == 0, first.stderr
    second = run([*INGEST, str(folder), "--tag", "team=blue", "--json"], env_for(data))
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout)
    assert (summary["unchanged"], summary["updated"], summary["chunks"]) == (2, 0, 0), summary
    collection = FaissStore(data / "index").collection("default")
    assert tags(collection) == {key: {"team": "blue"} for key in NOTES}


@pytest.mark.e2e
def test_ingest_watch_passes_its_tags_to_every_file_it_syncs(tmp_path):
    folder = write_files(tmp_path / "notes", {"a.md": NOTES["a.md"]})
    data = tmp_path / "data"
    collection = FaissStore(data / "index").collection("default")
    command = [*INGEST, str(folder), "--watch", "--tag", "team=blue", "--tag", "year=2025"]
    expected = {"team": "blue", "year": "2025"}
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = start_interruptible(command, data, log)
        try:
            eventually(lambda: collection.exists() and tags(collection) == {"a.md": expected}, 120)
            write_files(folder, {"b.txt": NOTES["b.txt"]})
            eventually(lambda: tags(collection) == dict.fromkeys(NOTES, expected))
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 0
