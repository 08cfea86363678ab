"""Segment checksums verified once per file version, not on every start.

A segment file whose SHA-256 matched is recorded in verified.json with its size, modification
and change times and inode. Loading skips the hash while all of these are unchanged: a write,
a truncation, a rename over it or a restored modification time all change the change time
(which no user-level call can set back), so a file altered after its check is hashed again
and refused. `ragd index check` hashes every file whatever the record says. The record is a
cache: lost, unreadable or stale, files are simply hashed again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from index.errors import IndexCorrupt
from index.faiss_store.manifest import Segment

RECORD = "verified.json"
# Smaller files are hashed every time: that takes milliseconds, and keeps the record (and its
# writes) to the segments where hashing costs seconds (1.9 GB per million chunks).
MIN_BYTES = 32 << 20


def check_file(folder: Path, segment: Segment, what: str, trust: bool = True) -> None:
    """Raise IndexCorrupt unless `segment`'s file has its manifest checksum; with `trust`,
    a file unchanged since it last passed is not read again."""
    path = folder / segment.file
    before = _stamp(path, segment, what)
    if trust and _record(folder).get(segment.file) == before:
        return
    try:
        with open(path, "rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        raise IndexCorrupt(f"{what} {segment.file} cannot be read: {exc}") from exc
    if digest != segment.sha256:
        raise IndexCorrupt(f"{what} {segment.file} fails its checksum (truncated or altered)")
    if _stamp(path, segment, what) == before:  # unchanged while it was hashed
        remember(folder, segment.file, before)


def remember_written(folder: Path, segment: Segment) -> None:
    """Record a file just written (and fsynced) from bytes whose checksum is the manifest's."""
    remember(folder, segment.file, _stamp(folder / segment.file, segment, "segment"))


def remember(folder: Path, name: str, stamp: list[object]) -> None:
    """Add one file's stamp to the record; a record that cannot be written is only a cache."""
    if int(str(stamp[1])) < MIN_BYTES:
        return
    record = {n: s for n, s in _record(folder).items() if (folder / n).exists()}
    record[name] = stamp
    tmp = folder / f".{RECORD}.{os.getpid()}.tmp"  # readers and the writer may race: own names
    try:
        tmp.write_text(json.dumps(record))
        os.replace(tmp, folder / RECORD)
    except OSError:
        tmp.unlink(missing_ok=True)


def _stamp(path: Path, segment: Segment, what: str) -> list[object]:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise IndexCorrupt(f"{what} {segment.file} cannot be read: {exc}") from exc
    return [segment.sha256, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _record(folder: Path) -> dict[str, list[object]]:
    try:
        record = json.loads((folder / RECORD).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}
