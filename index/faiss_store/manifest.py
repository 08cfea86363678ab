"""The on-disk manifest: what built a collection, its segments with checksums, and its counts."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from index.errors import IndexCorrupt
from index.types import IndexSpec

MANIFEST = "manifest.json"
PREVIOUS = "manifest.prev.json"


@dataclass(frozen=True)
class Segment:
    """One immutable FAISS file of vectors keyed by chunk id."""

    file: str
    sha256: str
    count: int


@dataclass(frozen=True)
class Manifest:
    generation: int
    spec: IndexSpec
    segments: tuple[Segment, ...] = ()
    vectors: int = 0  # live vectors, after removing deleted chunk ids
    rows: int = 0  # live chunk rows in the chunk store
    documents: int = 0
    created_at: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    keyword: tuple[Segment, ...] = ()  # BM25 term-count segments (index/keyword.py)
    ann: tuple[Segment, ...] = ()  # compressed IVF-PQ codes of large collections (compressed.py)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        raw = json.loads(text)
        raw["spec"] = IndexSpec(**raw["spec"])
        raw["segments"] = tuple(Segment(**s) for s in raw["segments"])
        raw["keyword"] = tuple(Segment(**s) for s in raw.get("keyword", ()))
        raw["ann"] = tuple(Segment(**s) for s in raw.get("ann", ()))  # older manifests have none
        return cls(**raw)


def read_manifest(folder: Path, name: str = MANIFEST) -> Manifest | None:
    """The manifest in `folder`, or None when the collection was never committed."""
    path = folder / name
    if not path.exists():
        return None
    try:
        return Manifest.from_json(path.read_text())
    except (ValueError, KeyError, TypeError) as exc:
        raise IndexCorrupt(f"{path} is unreadable ({exc})") from exc


def write_manifest(folder: Path, manifest: Manifest) -> None:
    """Swap in a new manifest atomically, keeping the current one as the fallback."""
    current = folder / MANIFEST
    if current.exists():
        atomic_write(folder / PREVIOUS, current.read_bytes())
    atomic_write(current, manifest.to_json().encode())


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary name, fsync it, rename over `path`, fsync the folder."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk must not fill up further with half-files
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
