"""`ingest --watch`: keep a collection in step with folders until Ctrl-C."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.cli.errors import console
from config.factories import load_embedder, open_store
from config.settings import Settings
from ingest.pipeline import Summary, build_ingestor
from ingest.watch import FolderWatch


def watch_command(
    paths: list[Path],
    collection: str | None,
    settings: Settings,
    report: Callable[[Summary, str], None],
    tags: dict[str, str] | None = None,
) -> int:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        console.print(f"error: cannot watch {', '.join(missing)}: no such file or folder")
        return 2
    with console.status("loading the embedding model"):
        store = open_store(settings)
        ingestor = build_ingestor(settings, load_embedder(settings), store, collection)
        ingestor.tags = dict(tags or {})  # `ingest --watch --tag K=V`: every file it syncs
    watch = FolderWatch(ingestor, paths)
    name = ingestor.collection.name
    console.print(f"watching {', '.join(map(str, paths))} for collection {name}; Ctrl-C stops")
    try:
        watch.run(on_sync=lambda summary: report(summary, name))
    except KeyboardInterrupt:
        console.print("stopped watching; the collection keeps its last sync")
    finally:
        store.close()
    return 0
