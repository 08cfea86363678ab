"""The audit log: one JSON line per admin action, appended and fsync'd, rotated by size.

Lines hold time, action, key name, client address, collection, outcome and details. Each line
is written with one write() on an O_APPEND descriptor and fsync'd before the call returns, so
a killed writer leaves whole lines; an exclusive flock keeps the server and the CLI's lines
whole and in order, and makes rotation safe between them.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

AUDIT_FILE = "audit.log"


@dataclass(frozen=True)
class AuditLog:
    path: Path
    max_bytes: int = 10 * 1024 * 1024
    keep: int = 5

    @classmethod
    def in_dir(cls, data_dir: Path, max_mb: float = 10, keep: int = 5) -> AuditLog:
        return cls(data_dir / AUDIT_FILE, int(max_mb * 1024 * 1024), keep)

    def write(
        self,
        action: str,
        *,
        key: str,
        client: str,
        outcome: str = "ok",
        collection: str | None = None,
        **details: Any,
    ) -> dict[str, Any]:
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "action": action,
            "key": key,
            "client": client,
            "collection": collection,
            "outcome": outcome,
            **details,
        }
        self._append((json.dumps(entry, ensure_ascii=False, default=str) + "\n").encode())
        return entry

    def _append(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(self.path.with_suffix(".lock"), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._rotate_if_full(len(line))
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)  # the line is on disk before the action is reported done
            finally:
                os.close(fd)
        finally:
            os.close(lock)  # closing releases the flock

    def _rotate_if_full(self, incoming: int) -> None:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        if size + incoming <= self.max_bytes:
            return
        for n in range(self.keep - 1, 0, -1):
            older = self.rotated(n)
            if older.exists():
                older.replace(self.rotated(n + 1))
        self.path.replace(self.rotated(1))

    def rotated(self, n: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{n}")

    def files(self) -> list[Path]:
        """Oldest first: audit.log.KEEP ... audit.log.1, audit.log."""
        older = [self.rotated(n) for n in range(self.keep, 0, -1)]
        return [p for p in [*older, self.path] if p.exists()]

    def read(self, since: float | None = None) -> Iterator[dict[str, Any]]:
        """Every entry, oldest first, from `since` (a Unix time) on."""
        for path in self.files():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                entry = _parse(line)
                if entry is not None and (since is None or _stamp(entry) >= since):
                    yield entry


def _parse(line: str) -> dict[str, Any] | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None  # only a line cut by a crash mid-write could be partial
    return entry if isinstance(entry, dict) else None


def _stamp(entry: dict[str, Any]) -> float:
    try:
        return datetime.fromisoformat(str(entry.get("time"))).timestamp()
    except ValueError:
        return 0.0


def parse_since(text: str) -> float:
    """`7d`, `12h`, `30m` ago, or an ISO date/time, as a Unix time; ValueError otherwise."""
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    if text[-1:] in units and text[:-1].replace(".", "", 1).isdigit():
        return time.time() - float(text[:-1]) * units[text[-1]]
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
