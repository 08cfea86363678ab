"""When each API key was last used: kept in the data dir, written at most once a minute a key."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

USAGE_FILE = "keys-used.json"
EVERY_SECONDS = 60.0


class KeyUsage:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / USAGE_FILE
        self.saved: dict[str, float] = {}

    def read(self) -> dict[str, float]:
        try:
            found = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): float(v) for k, v in found.items()} if isinstance(found, dict) else {}

    def note(self, key_id: str, when: float | None = None) -> None:
        """Record a use; only a use a minute after the last saved one is written."""
        when = time.time() if when is None else when
        if when - self.saved.get(key_id, 0.0) < EVERY_SECONDS:
            return
        self.saved = {**self.read(), **self.saved, key_id: when}
        temporary = self.path.with_name(f".{USAGE_FILE}.{os.getpid()}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps(self.saved), encoding="utf-8")
        temporary.replace(self.path)
