"""The live chunk ids of a large collection's current generation, in one file beside it.

Reading them from SQLite takes seconds at a million chunks (the start-up's largest part); the
file takes milliseconds. It is stamped with the SHA-256 of the manifest it belongs to and of its
own ids, so a file left from another generation, or from a generation that a crashed commit
rolled back and a later commit numbered again, or a damaged one, is ignored and SQLite answers.
It is a cache: written after the commit is in (by the writer, or by the first reader that had
to ask SQLite), never needed for correctness.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from index.faiss_store.manifest import Manifest

LIVE = "live.ids"
_MAGIC = b"RAGDLIVE1\n"
_HEADER = len(_MAGIC) + 64  # the manifest's digest, then the ids'


def write_live(folder: Path, manifest: Manifest, live: np.ndarray) -> None:
    """Keep `live` for `manifest`'s generation; a failure leaves SQLite to answer."""
    data = np.ascontiguousarray(live, dtype="<i8").tobytes()
    blob = _MAGIC + _digest(manifest) + hashlib.sha256(data).digest() + data
    tmp = folder / f".{LIVE}.{os.getpid()}.tmp"  # a reader and the writer may both write it
    try:
        tmp.write_bytes(blob)
        os.replace(tmp, folder / LIVE)
    except OSError:
        tmp.unlink(missing_ok=True)


def read_live(folder: Path, manifest: Manifest) -> np.ndarray | None:
    """The ids kept for exactly this manifest, or None (absent, stale or damaged)."""
    try:
        blob = (folder / LIVE).read_bytes()
    except OSError:
        return None
    head, data = blob[:_HEADER], blob[_HEADER:]
    if head[: len(_MAGIC)] != _MAGIC or head[len(_MAGIC) : -32] != _digest(manifest):
        return None
    if hashlib.sha256(data).digest() != head[-32:] or len(data) != 8 * manifest.rows:
        return None
    return np.frombuffer(data, dtype="<i8").astype(np.int64, copy=False)


def _digest(manifest: Manifest) -> bytes:
    return hashlib.sha256(manifest.to_json().encode()).digest()
