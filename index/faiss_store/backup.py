"""A consistent copy of a collection while it serves: a committed generation's immutable files,
an online backup of the chunk store, then its manifest; checked before it is given its name."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from index.errors import EmptyCollection, IndexCorrupt, IndexStoreError
from index.faiss_store.check import check_collection
from index.faiss_store.collection import STORE, Collection
from index.faiss_store.manifest import MANIFEST, Manifest, atomic_write

ATTEMPTS = 5  # each retry follows a writer that committed twice while we copied


def backup_collection(collection: Collection, dest: Path) -> Manifest:
    """Copy the newest committed generation into `dest` (which must not exist yet)."""
    if dest.exists():
        raise IndexStoreError(f"{dest} already exists: back up into a new folder")
    partial = dest.with_name(f".{dest.name}.partial")
    for _ in range(ATTEMPTS):
        manifest = collection.manifest()
        if manifest is None:
            raise EmptyCollection(f"collection {collection.name!r} is empty: nothing to back up")
        shutil.rmtree(partial, ignore_errors=True)
        if _copy(collection, manifest, partial):
            _verify(partial, manifest)
            partial.rename(dest)
            return manifest
    shutil.rmtree(partial, ignore_errors=True)
    raise IndexStoreError(f"collection {collection.name!r} kept changing: try again when idle")


def _copy(collection: Collection, manifest: Manifest, partial: Path) -> bool:
    """Copy `manifest`'s generation; False when a writer moved on too far meanwhile."""
    partial.mkdir(parents=True)
    try:
        for segment in (*manifest.segments, *manifest.keyword, *manifest.ann):
            shutil.copyfile(collection.folder / segment.file, partial / segment.file)
    except FileNotFoundError:  # two commits went by and removed them: take the newer one
        return False
    _sqlite_backup(collection.folder / STORE, partial / STORE)
    # Rows visible at generation g are purged only once g+2 is committed: still here?
    current = collection.manifest()
    if current is None or current.generation > manifest.generation + 1:
        return False
    atomic_write(partial / MANIFEST, manifest.to_json().encode())
    return True


def _sqlite_backup(source: Path, dest: Path) -> None:
    """SQLite's online backup: one read transaction, so one consistent state of the rows."""
    src, dst = sqlite3.connect(source), sqlite3.connect(dest)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _verify(partial: Path, manifest: Manifest) -> None:
    copy = Collection(partial)
    try:
        problems = check_collection(copy, manifest)
    finally:
        copy.chunk_store.close()
    if problems:
        raise IndexCorrupt(f"the backup copy does not check out: {'; '.join(problems)}")
