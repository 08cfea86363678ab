"""`ragd index check|backup|restore|migrate`: verify, copy and move collections.

Exit codes of `index check`: 0 every collection ok or empty (never committed), 1 one is broken
(nothing good to serve), 3 one is degraded (readers get the previous generation), 2 the
command could not run (one error line)."""

from __future__ import annotations

import argparse
import json
import shutil
from contextlib import closing
from pathlib import Path
from typing import Any

from config.errors import SettingsError
from config.factories import open_store
from config.settings import Settings
from index.faiss_store.backup import backup_collection
from index.faiss_store.store import FaissCollection, FaissStore
from index.protocol import VectorStore
from index.transfer import compare, copy_collection

EXIT = {"ok": 0, "empty": 0, "broken": 1, "degraded": 3}
SEVERITY = ("ok", "empty", "degraded", "broken")


def add_index_parser(commands: Any) -> None:
    index = commands.add_parser("index", help="index maintenance")
    sub = index.add_subparsers(dest="index_command", required=True)
    check = sub.add_parser(
        "check", help="verify the index on disk (exit 0 ok/empty, 1 broken, 3 degraded)"
    )
    check.add_argument("--collection", default=None)
    backup = sub.add_parser("backup", help="copy the committed index into DEST, while serving")
    backup.add_argument("dest", type=Path)
    backup.add_argument("--collection", default=None, help="one collection (default: all)")
    restore = sub.add_parser(
        "restore", help="replace collections with those of a backup (one commit, while serving)"
    )
    restore.add_argument("src", type=Path)
    restore.add_argument("--collection", default=None, help="one collection (default: all)")
    migrate = sub.add_parser(
        "migrate",
        help="move collections to the other store, vectors and all; or, with --layout, Milvus "
        "collections of the earlier layout (two Milvus collections each) into the shared one",
    )
    how = migrate.add_mutually_exclusive_group(required=True)
    how.add_argument("--to", choices=("faiss", "milvus"))
    how.add_argument("--layout", action="store_true", help="Milvus: the shared layout")
    migrate.add_argument("--collection", default=None, help="one collection (default: all)")
    migrate.add_argument("--probes", type=int, default=20, help="searches compared afterwards")


def index_command(args: argparse.Namespace, settings: Settings) -> int:
    commands = {"check": check, "backup": backup, "restore": restore, "migrate": migrate}
    return commands[args.index_command](args, settings)


def check(args: argparse.Namespace, settings: Settings) -> int:
    with closing(open_store(settings)) as store:
        return _check(store, args.collection)


def _check(store: VectorStore, collection: str | None) -> int:
    names = [collection] if collection else store.names()
    worst = "ok"
    for name in names:
        health = store.collection(name).health()
        worst = max(worst, health.state, key=SEVERITY.index)
        print(json.dumps({"collection": name, "status": health.state, **_details(health)}))
    return EXIT[worst]


def _details(health: Any) -> dict[str, object]:
    return {k: v for k, v in health.as_dict().items() if k != "state"}


def backup(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    for name in _names(store, args.collection):
        dest = args.dest / "index" / name  # DEST is a data folder: RAGD_DATA_DIR=DEST reads it
        dest.parent.mkdir(parents=True, exist_ok=True)
        collection = store.collection(name, must_exist=True)
        if isinstance(collection, FaissCollection):
            manifest = backup_collection(collection, dest)
            done: dict[str, object] = {
                "generation": manifest.generation,
                "documents": manifest.documents,
            }
        else:  # Milvus: read it back out into the FAISS layout a backup always has
            done = _copy_out(collection, dest)
        print(json.dumps({"collection": name, "backup": str(dest), **done}))
    return 0


def _copy_out(collection: Any, dest: Path) -> dict[str, object]:
    partial = dest.with_name(f".{dest.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    copied = copy_collection(collection, FaissStore(partial.parent).collection(partial.name))
    partial.rename(dest)
    return {"generation": copied.generation, "documents": copied.documents}


def restore(args: argparse.Namespace, settings: Settings) -> int:
    source, target = FaissStore(args.src / "index"), open_store(settings)
    for name in _names(source, args.collection):
        backup_copy = source.collection(name, must_exist=True)
        health = backup_copy.health()
        if health.state != "ok":
            problems = "; ".join(health.problems)
            state = f"the backup of {name!r} in {args.src} is {health.state}"
            raise SettingsError(f"{state}: {problems}")
        done = copy_collection(backup_copy, target.collection(name), replace=True)
        print(json.dumps({"collection": name, "restored_from": str(args.src), **done.as_dict()}))
    return 0


def migrate(args: argparse.Namespace, settings: Settings) -> int:
    if args.layout:
        return migrate_layout(settings)
    if args.to == settings.vector_store:
        raise SettingsError(f"the index is already in {args.to} (RAGD_VECTOR_STORE)")
    source = open_store(settings)
    target = open_store(settings.model_copy(update={"vector_store": args.to}))
    failed = False
    for name in _names(source, args.collection):
        src, dst = source.collection(name, must_exist=True), target.collection(name)
        done = copy_collection(src, dst, probes=args.probes)
        problems = compare(src, dst, done.probes)
        failed |= bool(problems)
        report = {"collection": name, "to": args.to, **done.as_dict(), "probes": len(done.probes)}
        print(json.dumps({**report, "verified": not problems, "problems": problems}))
    if not failed:
        print(f"done: set RAGD_VECTOR_STORE={args.to} to serve from it")
    return 1 if failed else 0


def migrate_layout(settings: Settings) -> int:
    """Move Milvus collections of the earlier layout into the shared one (a ragd opening the
    store does the same on its own, with a log line): one JSON line per collection."""
    if settings.vector_store != "milvus":
        raise SettingsError("--layout moves Milvus collections: set RAGD_VECTOR_STORE=milvus")
    with closing(open_store(settings)) as store:
        reports = store.upgrade_layout()  # type: ignore[attr-defined]
    for report in reports:
        print(json.dumps(report))
    if not reports:
        print("nothing to move: every collection is in the shared layout")
    return 0 if all(r["moved"] for r in reports) else 1


def _names(store: VectorStore, only: str | None) -> list[str]:
    names = [only] if only else store.names()
    if not names:
        raise SettingsError("no collections to work on")
    return names
