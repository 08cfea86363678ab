"""Watched folders: a collection kept in step with folders through the incremental ingest path."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.pipeline import Ingestor, SourceFile, Summary, discover

log = logging.getLogger("ragd.watch")
# A watcher never gives up on a change: it waits for an upload or another ingest to commit.
LOCK_WAIT = 24 * 3600.0
DEBOUNCE_MS = 800  # changes are grouped until the folder is quiet, for at most this long
TICK_MS = 500  # how often the watch loop wakes with nothing to do (to see `stop`)


@dataclass(frozen=True)
class Root:
    """A watched file or folder, resolved; source names are relative to it, as `ingest` names
    them."""

    path: Path
    folder: bool

    @classmethod
    def of(cls, path: Path) -> Root:
        resolved = Path(path).expanduser().resolve()
        return cls(resolved, not resolved.is_file())

    def source(self, changed: Path) -> str | None:
        """The source name of a path under this root; None when outside it or hidden."""
        if not self.folder or not changed.is_relative_to(self.path):
            return self.path.name if changed == self.path else None
        parts = changed.relative_to(self.path).parts
        if not parts or any(part.startswith(".") for part in parts):
            return None
        return "/".join(parts)

    def files_under(self, folder: Path) -> Iterator[SourceFile]:
        """Every file inside a folder that appeared (created, or renamed into the root)."""
        for path in sorted(folder.rglob("*")):
            source = self.source(path)
            if source and path.is_file() and path.resolve().is_relative_to(self.path):
                yield SourceFile(path, source)


@dataclass
class Batch:
    """One group of changes: files to (re)ingest, and names whose files or folders are gone."""

    files: dict[str, SourceFile] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)

    def add(self, root: Root, path: Path) -> None:
        source = root.source(path)
        if source is None:
            return
        if path.is_file():
            self.files[source] = SourceFile(path, source)
        elif path.is_dir():
            self.files.update((f.source, f) for f in root.files_under(path))
        else:
            self.gone.add(source)

    def forgets(self, source: str) -> bool:
        """Whether a document's source was deleted or renamed away (itself or a folder above)."""
        return source in self.gone or any(source.startswith(g + "/") for g in self.gone)


class FolderWatch:
    """Keeps one collection in step with files and folders: a full incremental pass (with
    prune) at start, catching up with what changed while nothing watched, then each group of
    changes as it settles, in one commit per group."""

    def __init__(self, ingestor: Ingestor, paths: Iterable[Path], debounce_ms: int = DEBOUNCE_MS):
        self.ingestor = ingestor
        self.roots = [Root.of(p) for p in paths]
        self.debounce_ms = debounce_ms
        self.syncs = 0
        self.last_sync: str | None = None
        self.last: dict[str, object] = {}
        self.error = ""
        self.watching = False

    @property
    def collection(self) -> str:
        return self.ingestor.collection.name

    def catch_up(self) -> Summary:
        """Ingest everything under the roots incrementally and prune what is gone."""
        items = discover(r.path for r in self.roots)
        return self._sync(lambda: self.ingestor.ingest(items, prune=True, wait=LOCK_WAIT))

    def apply(self, paths: Iterable[str]) -> Summary:
        """Ingest the changed files and forget the deleted ones, in one commit."""
        batch = Batch()
        for raw in paths:
            for root in self.roots:
                batch.add(root, Path(raw))
        return self._sync(
            lambda: self.ingestor.ingest(batch.files.values(), forget=batch.forgets, wait=LOCK_WAIT)
        )

    def _sync(self, run: Callable[[], Summary]) -> Summary:
        try:
            summary = run()
        except Exception as exc:  # a bad pass must not end the watch; /health shows it
            self.error = f"{type(exc).__name__}: {exc}"
            log.warning("watch %s: sync failed: %s", self.collection, self.error)
            return Summary()
        self.syncs += 1
        self.last_sync = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.last = {k: v for k, v in summary.as_dict().items() if k != "files"}
        self.error = ""
        return summary

    def run(
        self, stop: threading.Event | None = None, on_sync: Callable[[Summary], None] = print
    ) -> None:
        """Catch up, then follow changes until `stop` is set (or Ctrl-C in the main thread)."""
        from watchfiles import watch

        started = False
        changes_seen = watch(
            *(r.path for r in self.roots),
            watch_filter=None,  # the same files as `ingest` sees: hidden ones are skipped here
            debounce=self.debounce_ms,
            rust_timeout=TICK_MS,
            yield_on_timeout=True,
            stop_event=stop,
        )
        for changes in changes_seen:
            if not started:  # the watcher is live now: nothing changed from here on is missed
                started = self.watching = True
                on_sync(self.catch_up())
            elif changes:
                on_sync(self.apply(path for _, path in changes))
        self.watching = False

    def status(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "paths": [str(r.path) for r in self.roots],
            "watching": self.watching,
            "syncs": self.syncs,
            "last_sync": self.last_sync,
            "last_changes": self.last,
            "error": self.error or None,
        }


class Background:
    """A FolderWatch on a daemon thread, for the server: started and stopped by its lifespan."""

    def __init__(self, watch: FolderWatch) -> None:
        self.watch = watch
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="ragd-watch", daemon=True)

    def start(self) -> Background:
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            self.watch.run(self.stop_event, on_sync=self._log)
        except Exception as exc:  # e.g. the folder itself was removed
            self.watch.error = f"stopped: {type(exc).__name__}: {exc}"
            log.error("watch %s %s", self.watch.collection, self.watch.error)

    def _log(self, summary: Summary) -> None:
        counts = {k: v for k, v in summary.as_dict().items() if k != "files" and v}
        log.info("watch %s synced: %s", self.watch.collection, counts or "no changes")

    def stop(self, timeout: float = 30) -> None:
        self.stop_event.set()
        self.thread.join(timeout)
