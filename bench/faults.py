"""Fault injection over the commit path: the Nth write, fsync, rename or SQLite commit fails.

`Injector` patches, in this process, the calls a FAISS commit makes (`open(...).write` in
index.faiss_store.manifest, `os.fsync`, `os.replace`, and COMMIT on every SQLite connection
opened while it is installed) and counts them once armed; call N then fails with ENOSPC or EIO,
once (a transient error) or from N on (a full disk stays full). `MilvusFaults` does the same at
the Milvus client's write calls. The scenarios run a real ingest, and an upload and a delete
through the real app, then check what the issue asks of every failure: the index checks ok at
the previous or the new generation, the server keeps answering from it, the user gets a clear
message (507 for a full disk), no temporary file is left, and the retry succeeds.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ERRORS = {"ENOSPC": errno.ENOSPC, "EIO": errno.EIO}
SQLITE = {
    "ENOSPC": ("database or disk is full", "SQLITE_FULL", 13),
    "EIO": ("disk I/O error", "SQLITE_IOERR", 10),
}


class Injector:
    """Counts commit-path I/O calls while armed; makes call `fail_at` (and, sticky, every later
    one) raise the chosen error."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.armed = False
        self.fail_at: int | None = None
        self.error = "ENOSPC"
        self.sticky = False
        self.failed: str = ""  # the first call made to fail, e.g. "fsync#7"
        self._lock = threading.Lock()

    def arm(self, fail_at: int | None = None, error: str = "ENOSPC", sticky: bool = False) -> None:
        with self._lock:
            self.calls, self.failed = [], ""
            self.armed, self.fail_at, self.error, self.sticky = True, fail_at, error, sticky

    def disarm(self) -> None:
        self.armed = False

    def hit(self, kind: str) -> bool:
        """Count one call; True when it must fail."""
        with self._lock:
            if not self.armed:
                return False
            self.calls.append(kind)
            n = len(self.calls)
            due = self.fail_at is not None and (
                n == self.fail_at or (self.sticky and n > self.fail_at)
            )
            if due and not self.failed:
                self.failed = f"{kind}#{n}"
            return due

    def os_error(self) -> OSError:
        code = ERRORS[self.error]
        return OSError(code, os.strerror(code))

    def sqlite_error(self) -> sqlite3.OperationalError:
        message, name, code = SQLITE[self.error]
        exc = sqlite3.OperationalError(message)
        exc.sqlite_errorname, exc.sqlite_errorcode = name, code  # as SQLite itself sets them
        return exc


ACTIVE = Injector()


class _File:
    """A file opened by the commit path: a failing write leaves half its bytes, as a disk
    that fills up mid-write does."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    def write(self, data: bytes) -> int:
        if ACTIVE.hit("write"):
            self._handle.write(data[: len(data) // 2])
            raise ACTIVE.os_error()
        return int(self._handle.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __enter__(self) -> _File:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


class _Cursor(sqlite3.Cursor):
    def execute(self, sql: str, *args: Any) -> _Cursor:  # type: ignore[override]
        _sql_hit(sql)
        super().execute(sql, *args)
        return self


class _Connection(sqlite3.Connection):
    def cursor(self, factory: Any = None) -> Any:  # type: ignore[override]
        return super().cursor(_Cursor)

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        _sql_hit(sql)
        return super().execute(sql, *args)


def _sql_hit(sql: str) -> None:
    """A COMMIT that must fail raises before SQLite commits: the transaction stays open."""
    if sql.strip().upper() == "COMMIT" and ACTIVE.hit("sqlite-commit"):
        raise ACTIVE.sqlite_error()


@contextmanager
def installed() -> Iterator[Injector]:
    """Patch the commit path's calls for the duration (stores opened inside are counted)."""
    import index.faiss_store.manifest as manifest

    real = {"fsync": os.fsync, "replace": os.replace, "connect": sqlite3.connect}

    def fsync(fd: int) -> None:
        if ACTIVE.hit("fsync"):
            raise ACTIVE.os_error()
        real["fsync"](fd)

    def replace(src: Any, dst: Any) -> None:
        if ACTIVE.hit("rename"):
            raise ACTIVE.os_error()
        real["replace"](src, dst)

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        kwargs.setdefault("factory", _Connection)
        return real["connect"](*args, **kwargs)

    os.fsync, os.replace, sqlite3.connect = fsync, replace, connect  # type: ignore[assignment]
    manifest.open = lambda *a, **k: _File(open(*a, **k))  # type: ignore[attr-defined]  # noqa: SIM115
    try:
        yield ACTIVE
    finally:
        ACTIVE.disarm()
        os.fsync, os.replace, sqlite3.connect = real["fsync"], real["replace"], real["connect"]  # type: ignore[assignment]
        del manifest.open  # type: ignore[attr-defined]


@dataclass
class Outcome:
    """One trial: where the fault hit, what the user saw, and every broken promise."""

    scenario: str
    point: int
    error: str
    sticky: bool
    failed: str = ""
    message: str = ""
    problems: list[str] = field(default_factory=list)


Docs = frozenset[tuple[str, str]]  # (source, content hash) of every document


@dataclass
class Scenario:
    """An operation on a prepared data folder, with the documents before and after it."""

    name: str
    prepare: Callable[[Path], None]  # builds the committed starting point
    # Runs it (the flag: as a retry); returns the error shown ("" if none) and any problem seen
    # while the fault was in place (e.g. the server stopped answering).
    attempt: Callable[[Path, bool], tuple[str, list[str]]]
    before: Docs = frozenset()
    after: Docs = frozenset()
    generation: int = 0  # the starting generation
    http: bool = False  # the message is "STATUS detail"


def run_scenario(
    scenario: Scenario,
    work: Path,
    plans: tuple[tuple[str, bool], ...] = (("ENOSPC", True), ("EIO", False)),
) -> list[Outcome]:
    """Every reachable failure point of the operation, once per (error, sticky) plan."""
    template = work / f"{scenario.name}-template"
    shutil.rmtree(template, ignore_errors=True)
    scenario.prepare(template)
    scenario.before, scenario.generation = _state(template)[1:]
    points = _dry_run(scenario, template, work)
    outcomes = []
    for error, sticky in plans:
        for point in range(1, points + 1):
            outcomes.append(
                trial(scenario, template, work, Outcome(scenario.name, point, error, sticky))
            )
    return outcomes


def _dry_run(scenario: Scenario, template: Path, work: Path) -> int:
    """Run it once unharmed: how many I/O calls it makes, and what it leaves."""
    folder = _fresh(template, work / f"{scenario.name}-dry")
    ACTIVE.arm()
    message, seen = scenario.attempt(folder, False)
    points = len(ACTIVE.calls)
    ACTIVE.disarm()
    assert not message and not seen, f"{scenario.name} fails with no fault: {message} {seen}"
    scenario.after = _state(folder)[1]
    shutil.rmtree(folder)
    return points


def trial(scenario: Scenario, template: Path, work: Path, out: Outcome) -> Outcome:
    folder = _fresh(template, work / f"{scenario.name}-trial")
    ACTIVE.arm(out.point, out.error, out.sticky)
    out.message, seen = scenario.attempt(folder, False)
    out.failed = ACTIVE.failed
    ACTIVE.disarm()
    out.problems += seen + _message_problems(scenario, out)
    out.problems += _leftovers(folder, referenced=False)  # even while the disk is still full
    out.problems += _state_problems(scenario, folder, strict=not out.message)
    message, seen = scenario.attempt(folder, True)  # the fault is gone: the retry must succeed
    out.problems += [f"retry: {p}" for p in seen] + (
        [f"retry failed: {message}"] if message else []
    )
    out.problems += _state_problems(scenario, folder, strict=True)
    out.problems += _leftovers(folder, referenced=True)
    shutil.rmtree(folder)
    return out


def _message_problems(scenario: Scenario, out: Outcome) -> list[str]:
    if not out.failed:
        return [f"point {out.point} was never reached"]
    if not out.message:
        return []  # the fault hit clean-up after the commit: it stands, checked below
    want = "the disk is full" if out.error == "ENOSPC" else "I/O error"
    status = "507" if out.error == "ENOSPC" else "500"
    problems = [] if want in out.message else [f"unclear message: {out.message[:200]}"]
    if scenario.http and not out.message.startswith(status):
        problems.append(f"HTTP {out.message[:3]} instead of {status}")
    return problems


def _state_problems(scenario: Scenario, folder: Path, strict: bool) -> list[str]:
    """The index checks ok at the previous generation or the new one, never in between;
    `strict`: the new one (the operation reported success)."""
    health, docs, generation = _state(folder)
    if health.state != "ok":
        return [f"index {health.state}: {health.problems}"]
    if docs == scenario.after and generation > scenario.generation:
        return []
    if docs == scenario.before and generation == scenario.generation and not strict:
        return []
    return [f"generation {generation} holds {sorted(docs)}: neither before nor after"]


def _state(folder: Path) -> tuple[Any, Docs, int]:
    from index.faiss_store.store import FaissStore

    collection = FaissStore(folder / "index").collection("default")
    try:
        health = collection.health()
        if health.state != "ok":
            return health, frozenset(), health.generation
        docs = frozenset((d.source, d.hash) for d in collection.snapshot().documents())
        return health, docs, health.generation
    finally:
        collection.chunk_store.close()


def _leftovers(folder: Path, referenced: bool) -> list[str]:
    """Temporary files; with `referenced`, also data files no kept manifest names."""
    from index.faiss_store.manifest import PREVIOUS, read_manifest

    root = folder / "index" / "default"
    names = {p.name for p in root.iterdir()}
    problems = [f"temporary file left: {n}" for n in names if n.endswith(".tmp")]
    if referenced:
        kept = set()
        for manifest in (read_manifest(root), read_manifest(root, PREVIOUS)):
            if manifest is not None:
                kept |= {s.file for s in (*manifest.segments, *manifest.keyword)}
        data = {n for n in names if n.endswith((".faiss", ".bm25"))}
        problems += [f"unreferenced file left: {n}" for n in sorted(data - kept)]
    return problems


def _fresh(template: Path, folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(template, folder)
    return folder
