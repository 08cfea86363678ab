"""`ragd keys create|list|revoke` and `ragd audit`: the keys file and the audit log."""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.answering.audit import AuditLog, parse_since
from app.server.auth import (
    ROLES,
    KeyEntry,
    format_scopes,
    key_file_line,
    key_line,
    keys_file_path,
    new_key,
    parse_scopes,
    read_keys_file,
)
from app.server.usage import KeyUsage
from config.errors import SettingsError
from config.settings import Settings


def add_team_parsers(commands: Any) -> None:
    keys = commands.add_parser("keys", help="API keys: create, list, revoke (no restart)")
    sub = keys.add_subparsers(dest="keys_command", required=True)
    create = sub.add_parser("create", help="make a key, print it once, store its digest")
    create.add_argument("name", help="who holds it, e.g. alice (unique)")
    create.add_argument("--role", choices=ROLES, default="read")
    create.add_argument(
        "--collections", default=None, help="scope: NAME[:read|admin],... (default: all)"
    )
    listing = sub.add_parser("list", help="names, roles, scopes, last use (never the secret)")
    listing.add_argument("--json", action="store_true")
    revoke = sub.add_parser("revoke", help="remove a key by name or id")
    revoke.add_argument("name")
    audit = commands.add_parser("audit", help="read the audit log of admin actions")
    audit.add_argument("--since", default=None, help="e.g. 7d, 12h, or 2026-11-30T09:00")
    audit.add_argument("--json", action="store_true", help="one JSON object a line")


def keys_command(args: argparse.Namespace, settings: Settings) -> int:
    commands = {"create": keys_create, "list": keys_list, "revoke": keys_revoke}
    return commands[args.keys_command](args, settings)


def _audit(settings: Settings) -> AuditLog:
    return AuditLog.in_dir(settings.data_dir, settings.audit_max_mb, settings.audit_keep)


def keys_create(args: argparse.Namespace, settings: Settings) -> int:
    path = keys_file_path(settings)
    if not args.name.strip() or any(e.name == args.name for e in _entries(path)):
        raise SettingsError(f"a key named {args.name!r} exists already (or the name is empty)")
    try:
        scopes = None if args.collections is None else parse_scopes(args.collections, args.role)
    except ValueError as exc:
        raise SettingsError(str(exc)) from exc
    key = new_key()
    _append_line(path, key_file_line(key, args.role, args.name, scopes))
    _audit(settings).write(
        "key.create", key=args.name, client="cli", scopes=format_scopes(scopes), role=args.role
    )
    print(f"key:  {key}")
    print(f"Give it to {args.name} once: only its digest is kept, in {path}.")
    return 0


def keys_list(args: argparse.Namespace, settings: Settings) -> int:
    used = KeyUsage(settings.data_dir).read()
    rows = [_row(e, used.get(e.id)) for e in _entries(keys_file_path(settings))]
    for row in rows:
        print(json.dumps(row) if args.json else _line(row))
    if not rows and not args.json:
        print("no keys in the keys file (`ragd keys create NAME` makes one)")
    return 0


def keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    path = keys_file_path(settings)
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    kept = [line for line in lines if not _names(line, args.name)]
    outcome = "ok" if len(kept) < len(lines) else "not_found"
    if outcome == "ok":
        _replace(path, kept)
    _audit(settings).write("key.revoke", key=args.name, client="cli", outcome=outcome)
    if outcome != "ok":
        raise SettingsError(f"no key named {args.name!r} in {path}")
    print(f"revoked {args.name}: the server refuses it from its next request on")
    return 0


def audit_command(args: argparse.Namespace, settings: Settings) -> int:
    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as exc:
        raise SettingsError(f"--since {args.since!r}: use 7d, 12h, 30m or an ISO time") from exc
    for entry in _audit(settings).read(since):
        print(json.dumps(entry, ensure_ascii=False) if args.json else _audit_line(entry))
    return 0


def _entries(path: Path) -> list[KeyEntry]:
    return read_keys_file(path) if path.exists() else []


def _names(line: str, name: str) -> bool:
    fields = line.split("#", 1)[0].split()
    if not fields:
        return False
    entry = key_line(fields, "keys file")
    return entry.name == name or entry.id == name


def _row(entry: KeyEntry, used: float | None) -> dict[str, Any]:
    when = datetime.fromtimestamp(used, UTC).isoformat(timespec="seconds") if used else None
    scopes = format_scopes(entry.scopes)
    return {
        "name": entry.name,
        "id": entry.id,
        "role": entry.role,
        "collections": scopes,
        "last_used": when,
    }


def _line(row: dict[str, Any]) -> str:
    return (
        f"{row['name']:<16} {row['id']}  {row['role']:<5}  collections={row['collections']}"
        f"  last used: {row['last_used'] or 'never'}"
    )


def _audit_line(entry: dict[str, Any]) -> str:
    where = f" [{entry['collection']}]" if entry.get("collection") else ""
    return (
        f"{entry.get('time')}  {entry.get('action'):<13} {entry.get('outcome'):<10} "
        f"key={entry.get('key')} from {entry.get('client')}{where}"
    )


def _append_line(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    _replace(path, [*lines, line])


def _replace(path: Path, lines: list[str]) -> None:
    """Write the keys file whole, then rename: the server never reads half of it."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{time.time_ns()}")
    temporary.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    os.chmod(temporary, 0o600)
    temporary.replace(path)
