"""The collection's own baseline for answerability: how much evidence off-topic questions find.

A bigger corpus always holds some sentence closer to any question, so a raw evidence score that
separates answerable from unanswerable questions on 15 chunks does not on 11,000. ragd asks a
fixed set of off-topic probe questions of the collection once per committed generation; their
mean raw score is the baseline, and a question's answerability is the share of its own score
above that baseline (1 - baseline / score): corpus-size-free, so one default threshold holds.
The baseline is cached in memory and in RAGD_DATA_DIR/calibration/<collection>.baseline.json.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
from collections.abc import Callable
from pathlib import Path

from app.answering.calibration import calibration_path

# Questions no technical or business collection answers: cooking, geography, music, sport...
PROBES = (
    "What is the recipe for a classic French onion soup?",
    "Which river flows through the city of Vienna?",
    "Who composed the opera The Magic Flute?",
    "How many moons does the planet Jupiter have?",
    "What is the best way to train a puppy to sit?",
    "Which team won the 1998 football World Cup?",
    "How do I grow tomatoes on a balcony?",
    "What causes the northern lights?",
    "Who was the first emperor of Rome?",
    "How much sleep does a teenager need each night?",
    "What is the tallest mountain in Africa?",
    "How do I knit a scarf for beginners?",
)


# How raw evidence is computed: a baseline stored by another method is probed again.
METHOD = "rarity-weighted-coverage+passing-names"


class Baselines:
    """Per (collection, generation): the probes' mean raw score, computed at most once."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._known: dict[tuple[str, int], float] = {}
        self._lock = threading.Lock()

    def get(self, collection: str, generation: int, raw: Callable[[str], float]) -> float:
        """The baseline, from memory, disk, or by scoring the probes with `raw` (blocking)."""
        key = (collection, generation)
        with self._lock:  # one computation per collection at a time; the rest wait for it
            if key not in self._known:
                self._known[key] = self._read(collection, generation) or self._probe(
                    collection, generation, raw
                )
            return self._known[key]

    def _path(self, collection: str) -> Path:
        return calibration_path(self.data_dir, collection).with_suffix(".baseline.json")

    def _read(self, collection: str, generation: int) -> float | None:
        try:
            stored = json.loads(self._path(collection).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(stored, dict) or stored.get("generation") != generation:
            return None  # the collection changed since: probe again
        if stored.get("method") != METHOD:
            return None  # an older ragd's raw evidence: not comparable
        value = stored.get("baseline")
        return float(value) if isinstance(value, int | float) and value > 0 else None

    def _probe(self, collection: str, generation: int, raw: Callable[[str], float]) -> float:
        scores = [raw(q) for q in PROBES]
        baseline = round(max(statistics.fmean(scores), 1e-3), 4)
        self._write(
            collection,
            {"generation": generation, "method": METHOD, "baseline": baseline, "probes": scores},
        )
        return baseline

    def _write(self, collection: str, record: dict[str, object]) -> None:
        path = self._path(collection)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(record, indent=2))
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only data dir: the baseline stays in memory only
