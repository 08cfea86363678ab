"""Per-collection abstention thresholds written by `ragd eval --write-threshold`, read per question.

They live in RAGD_DATA_DIR/calibration/<collection>.json, for either vector store (with Milvus,
each replica reads its own data dir's file: copy it to every replica).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

# What the stored threshold cuts: answerability relative to the collection's off-topic baseline.
# Files written for the older, absolute score lack it and are ignored.
SCALE = "baseline-v1"


def calibration_path(data_dir: Path, collection: str) -> Path:
    return data_dir / "calibration" / f"{collection}.json"


def collection_threshold(data_dir: Path, collection: str) -> float | None:
    """The collection's calibrated abstention threshold, or None (use RAGD_ABSTAIN_BELOW)."""
    path = calibration_path(data_dir, collection)
    try:
        stored = json.loads(path.read_text())
        value = stored.get("abstain_below") if stored.get("scale") == SCALE else None
    except (OSError, ValueError, AttributeError):
        return None  # absent, unreadable or on the old scale: the global default holds
    return float(value) if isinstance(value, int | float) else None


def write_threshold(
    data_dir: Path, collection: str, threshold: float, report: dict[str, Any]
) -> Path:
    """Store `threshold` (and the curve it came from) atomically for the collection."""
    path = calibration_path(data_dir, collection)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"abstain_below": threshold, "scale": SCALE, **report}, indent=2))
    os.replace(tmp, path)
    return path
