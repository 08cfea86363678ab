"""Start-up of a large collection without re-hashing unchanged segments or asking SQLite for
its live chunk ids, and without missing a segment altered since, or a stale ids file.

Real FAISS and BM25 files through the real Writer (tests/test_compressed.py's helpers, with
the size thresholds lowered so a few thousand chunks count as large).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import index.faiss_store.verified as verified
from index.errors import IndexCorrupt
from index.faiss_store.check import check_collection
from index.faiss_store.collection import Collection
from index.faiss_store.liveids import LIVE, read_live, write_live
from index.faiss_store.manifest import read_manifest
from index.faiss_store.store import FaissStore
from index.faiss_store.vectors import AnnPolicy, current_policy, set_ann_policy
from index.faiss_store.writer import Writer
from tests.test_compressed import SPEC, build, put


@pytest.fixture(autouse=True)
def large() -> Iterator[None]:
    """Codes (and so live.ids) from 2,000 chunks."""
    before = current_policy()
    set_ann_policy(AnnPolicy(min_vectors=2000, nprobe=1, rerank=20, probe_share=1.0))
    yield
    set_ann_policy(before)


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the files whose SHA-256 is streamed, every size of file recorded."""
    monkeypatch.setattr(verified, "MIN_BYTES", 0)
    names: list[str] = []
    real = hashlib.file_digest

    def counting(handle, digest):  # type: ignore[no-untyped-def]
        names.append(Path(handle.name).name)
        return real(handle, digest)

    monkeypatch.setattr(verified.hashlib, "file_digest", counting)
    yield names


def fresh(root: Path) -> Collection:
    """The collection as a newly started server opens it."""
    return FaissStore(root).collection("c")


def flip_a_byte_keeping_mtime(path: Path) -> None:
    stat = path.stat()
    with open(path, "r+b") as handle:
        handle.seek(stat.st_size // 2)
        byte = handle.read(1)
        handle.seek(stat.st_size // 2)
        handle.write(bytes([byte[0] ^ 0xFF]))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as a backup restore would


def test_segments_written_or_verified_once_are_not_hashed_again_at_start(tmp_path, hashed):
    build(tmp_path)
    fresh(tmp_path).snapshot()
    assert not [n for n in hashed if n.startswith(("seg-", "kw-"))]  # hashed as written
    (tmp_path / "c" / verified.RECORD).unlink()
    fresh(tmp_path).snapshot()
    assert any(n.startswith("seg-") for n in hashed) and any(n.startswith("kw-") for n in hashed)
    hashed.clear()
    fresh(tmp_path).snapshot()
    assert not [n for n in hashed if n.startswith(("seg-", "kw-"))]


@pytest.mark.parametrize("prefix", ["seg-", "kw-"])
def test_a_segment_altered_after_its_check_is_hashed_again_and_refused(tmp_path, hashed, prefix):
    collection = build(tmp_path, batches=1)
    fresh(tmp_path).snapshot()
    target = next(p for p in collection.folder.iterdir() if p.name.startswith(prefix))
    flip_a_byte_keeping_mtime(target)
    with pytest.raises(IndexCorrupt, match="checksum"):
        fresh(tmp_path).snapshot()
    assert target.name in hashed


def test_index_check_hashes_every_segment_whatever_the_record_says(tmp_path, hashed):
    collection = build(tmp_path, batches=1)
    entry = read_manifest(collection.folder).segments[0]
    path = collection.folder / entry.file
    flip_a_byte_keeping_mtime(path)
    verified.remember(collection.folder, entry.file, verified._stamp(path, entry, "segment"))
    fresh(tmp_path).snapshot()  # a record that lies is believed at start-up...
    problems = check_collection(fresh(tmp_path))  # ...but not by `ragd index check`
    assert any("checksum" in p and entry.file in p for p in problems)


def test_live_ids_file_is_written_at_commit_and_equals_sqlite(tmp_path):
    collection = build(tmp_path)
    manifest = read_manifest(collection.folder)
    kept = read_live(collection.folder, manifest)
    from_sqlite = collection.chunk_store.live_ids(manifest.generation)
    assert kept is not None and np.array_equal(kept, from_sqlite)


def test_stale_live_ids_file_falls_back_to_sqlite(tmp_path):
    collection = build(tmp_path)
    old_manifest = read_manifest(collection.folder)
    old_file = (collection.folder / LIVE).read_bytes()
    with Writer(fresh(tmp_path), SPEC) as writer:
        writer.delete("d3")
        put(writer, 100, 2, seed=5)
        writer.commit()
    (collection.folder / LIVE).write_bytes(old_file)  # as if the new one was never written
    manifest = read_manifest(collection.folder)
    assert read_live(collection.folder, manifest) is None
    snapshot = fresh(tmp_path).snapshot()
    want = collection.chunk_store.live_ids(manifest.generation)
    assert snapshot.generation == manifest.generation and len(snapshot.vectors) == len(want)
    assert np.array_equal(read_live(collection.folder, manifest), want)  # re-kept by the reader
    assert read_live(collection.folder, old_manifest) is None


def test_damaged_or_miscounted_live_ids_file_is_ignored(tmp_path):
    collection = build(tmp_path)
    manifest = read_manifest(collection.folder)
    path = collection.folder / LIVE
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    assert read_live(collection.folder, manifest) is None
    write_live(collection.folder, manifest, np.arange(5))  # right stamp, wrong count
    assert read_live(collection.folder, manifest) is None
    assert len(fresh(tmp_path).snapshot().vectors) == manifest.rows
