"""Free space on the data folder's disk, and the refusal to start a write below a floor."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from index.errors import DiskFull

MB = 1024 * 1024


@dataclass(frozen=True)
class Space:
    """The disk holding `path`: bytes free (to this user) and in all."""

    path: str
    free: int
    total: int

    def as_dict(self, min_free_mb: float) -> dict[str, object]:
        low = self.free < min_free_mb * MB
        return {
            "path": self.path,
            "free_mb": round(self.free / MB, 1),
            "total_mb": round(self.total / MB, 1),
            "min_free_mb": min_free_mb,
            "low": low,
        }


def disk_space(path: Path) -> Space:
    """Space on the disk of `path`, or of its nearest existing parent (before the first ingest)."""
    probe = path.absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    usage = shutil.disk_usage(probe)
    return Space(str(path), usage.free, usage.total)


def require_free(path: Path, min_free_mb: float, what: str) -> None:
    """Raise DiskFull before `what` starts when less than `min_free_mb` is free."""
    space = disk_space(path)
    if space.free < min_free_mb * MB:
        raise DiskFull(
            f"refusing to start {what}: only {space.free / MB:.1f} MB free on the disk of "
            f"{path} (RAGD_MIN_FREE_MB={min_free_mb:g}). Free some space there, or lower "
            "RAGD_MIN_FREE_MB, then run it again"
        )
