"""The real `ingest` CLI over a hostile folder: each bad file skipped or failed with its reason,
nothing read from outside the folder, the good file indexed, the index consistent."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from index.faiss_store.store import FaissStore
from tests import hostile as h
from tests.support import INGEST, RAGD, env_for, run

pytestmark = pytest.mark.e2e

# file -> (status, a phrase of the reason)
EXPECTED = {
    "good.md": ("added", ""),
    "empty.txt": ("skipped", "empty file"),
    "scan.pdf": ("skipped", "no text found in the file, not even by OCR"),
    "photo.png": ("skipped", "no text found in the file, not even by OCR"),
    "cut.pdf": ("failed", "could not read PDF"),
    "locked.pdf": ("failed", "needs a password"),
    "bomb.pdf": ("failed", "likely a decompression bomb"),
    "bomb.docx": ("failed", "likely a zip bomb"),
    "lol.docx": ("failed", "amplification"),
    "xxe.docx": ("skipped", "no text found"),
    "photo.txt": ("failed", "binary content (image/png)"),
    "one-line.txt": ("failed", "RAGD_MAX_DOCUMENT_CHARS"),
    "escape.txt": ("skipped", "a link to outside the folder given"),
}


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(h.SECRET + " is the password.")
    docs = root / "docs"
    docs.mkdir()
    files = {
        "good.md": b"# Holidays\n\nThe holiday rota starts on Monday.",
        "empty.txt": b"",
        "scan.pdf": h.image_only_pdf(),
        "photo.png": h.png(),
        "cut.pdf": h.truncated_pdf(),
        "locked.pdf": h.encrypted_pdf(),
        "bomb.pdf": h.pdf_flate_bomb(),
        "bomb.docx": h.zip_bomb_docx(),
        "lol.docx": h.billion_laughs_docx(),
        "xxe.docx": h.xxe_docx(outside / "secret.txt"),
        "photo.txt": h.png(),
        "one-line.txt": b"word " * (10 * 1024 * 1024),  # a 50 MB single line
        ".env": f"API_KEY={h.SECRET}".encode(),
    }
    for name, data in files.items():
        (docs / name).write_bytes(data)
    (docs / "escape.txt").symlink_to(outside / "secret.txt")
    (docs / "linked-dir").symlink_to(outside, target_is_directory=True)
    os.mkfifo(docs / "pipe.txt")  # reading it would block forever
    return docs


def test_ingest_skips_or_fails_each_hostile_file_with_its_reason(
    hostile_folder: Path, tmp_path: Path
):
    data = tmp_path / "data"
    env = env_for(data, RAGD_PARSE_WORKERS="2")
    result = run([*INGEST, str(hostile_folder), "--json"], env, timeout=600)
    assert result.returncode == 1, result.stderr  # some files failed
    outcomes = {f["source"]: f for f in json.loads(result.stdout)["files"]}
    assert set(outcomes) == set(EXPECTED)  # no .env, nothing under linked-dir, no pipe
    for source, (status, reason) in EXPECTED.items():
        assert outcomes[source]["status"] == status, outcomes[source]
        assert reason in outcomes[source]["reason"], outcomes[source]
    snap = FaissStore(data / "index").collection("default").snapshot()
    assert [d.source for d in snap.documents()] == ["good.md"]
    rows = snap.chunk_store.chunks(
        snap.generation, snap.chunk_store.live_ids(snap.generation).tolist()
    )
    assert h.SECRET not in " ".join(c.text for c in rows.values())
    assert run([*RAGD, "index", "check"], env).returncode == 0
