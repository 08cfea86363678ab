"""API keys: SHA-256 digests checked in constant time, each with a role and optional scopes."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from app.answering.access import ROLES as ROLES
from app.answering.access import Principal, Role
from app.server.usage import KeyUsage
from config.errors import SettingsError
from config.settings import Settings
from index.types import valid_name

MIN_KEY_LENGTH = 16
_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")
SCOPE_FIELD = "collections="  # keys-file field: `collections=hr:read,wiki:admin`

# Paths anyone may GET without a key: liveness and the page shell (it asks for a key itself).
PUBLIC_PATHS = frozenset({"/", "/health"})
PUBLIC_PREFIX = "/static/"
# The only non-GET requests a read-only key may make; everything else needs an admin key,
# so a route added later without thinking about roles is admin-only (fails closed).
READER_POSTS = frozenset(
    {"/api/search", "/api/ask", "/v1/chat/completions", "/mcp"}
)  # /mcp: every MCP tool only reads (search, ask, list_documents)
# A key's own conversations: any key may change them (the store keeps them per key).
OWN_PREFIX = "/api/conversations"
# What a key that is admin on some collections only may change: writes that name a collection,
# each checked again by `authorize` inside the store.
COLLECTION_WRITES = ("/api/documents",)
SAFE_METHODS = frozenset({"GET", "HEAD"})

ANONYMOUS = Principal("anonymous", "anonymous", "admin")  # only when no keys are configured


@dataclass(frozen=True)
class KeyEntry:
    digest: bytes
    role: Role
    name: str
    scopes: Mapping[str, Role] | None = field(default=None, hash=False)

    @property
    def id(self) -> str:
        return self.digest.hex()[:12]

    def principal(self) -> Principal:
        return Principal(self.id, self.name or self.id, self.role, self.scopes)


class KeyRing:
    """The configured keys; empty means authentication is off. The keys file is read again
    when its modification time changes, so `ragd keys create|revoke` needs no restart."""

    def __init__(
        self, entries: Iterable[KeyEntry], file: Path | None = None, usage: KeyUsage | None = None
    ) -> None:
        self._plain = tuple(entries)
        self.usage = usage
        self._file = file
        self._stamp: tuple[int, ...] = (-1,)
        self._from_file: tuple[KeyEntry, ...] = ()
        self._refresh()

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        if settings.api_keys_file is not None:
            list(_keys_file(settings.api_keys_file))  # a named file must exist: fail at startup
        usage = KeyUsage(settings.data_dir)
        return cls(_plain_keys(settings.api_keys), keys_file_path(settings), usage)

    @property
    def entries(self) -> tuple[KeyEntry, ...]:
        self._refresh()
        return self._plain + self._from_file

    @property
    def enabled(self) -> bool:
        return bool(self.entries)

    def _refresh(self) -> None:
        if self._file is None:
            return
        try:
            found = self._file.stat()
            stamp: tuple[int, ...] = (found.st_mtime_ns, found.st_ino, found.st_size)
        except FileNotFoundError:
            stamp = ()
        if stamp != self._stamp:
            self._from_file = tuple(_keys_file(self._file)) if stamp else ()
            self._stamp = stamp

    def identify(self, token: str) -> Principal | None:
        """The key's principal, or None; compares against every entry, in constant time each."""
        digest = hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()
        found: KeyEntry | None = None
        for entry in self.entries:
            if hmac.compare_digest(digest, entry.digest):
                found = entry
        if found is None:
            return None
        if self.usage is not None:
            self.usage.note(found.id)
        return found.principal()


def keys_file_path(settings: Settings) -> Path:
    """RAGD_API_KEYS_FILE, or `keys` in the data dir (where `ragd keys create` writes)."""
    return settings.api_keys_file or settings.data_dir / "keys"


def _plain_keys(spec: str) -> Iterator[KeyEntry]:
    for n, item in enumerate(part.strip() for part in spec.split(",")):
        if not item:
            continue
        item, scopes = _split_scopes(item)
        key, role = _split_role(item)
        if len(key) < MIN_KEY_LENGTH:
            raise SettingsError(
                f"RAGD_API_KEYS entry {n + 1} is shorter than {MIN_KEY_LENGTH} characters; "
                "use a long random key (`ragd keys create` makes one)"
            )
        yield KeyEntry(hashlib.sha256(key.encode()).digest(), role, f"key{n + 1}", scopes)


def _split_role(item: str) -> tuple[str, Role]:
    key, _, suffix = item.rpartition(":")
    if key and suffix in ROLES:
        return key, suffix  # type: ignore[return-value]
    return item, "admin"


def _split_scopes(item: str) -> tuple[str, dict[str, Role] | None]:
    """`KEY[:ROLE]@coll[:role]+coll[:role]`: the collections after the last `@` (a key
    whose tail is not a valid scope list keeps its `@`, as before scopes existed)."""
    head, at, tail = item.rpartition("@")
    if not at or not head:
        return item, None
    _, default = _split_role(head)
    try:
        return head, parse_scopes(tail.replace("+", ","), default)
    except ValueError:
        return item, None


def parse_scopes(spec: str, default: Role = "read") -> dict[str, Role]:
    """`hr:read,wiki:admin,docs` -> {hr: read, wiki: admin, docs: default}; ValueError if bad."""
    scopes: dict[str, Role] = {}
    for part in (p.strip() for p in spec.split(",")):
        name, _, role = part.partition(":")
        role = role or default
        if not valid_name(name) or role not in ROLES:
            raise ValueError(f"bad collection scope {part!r}: use name or name:read|admin")
        scopes[name] = role  # type: ignore[assignment]
    return scopes


def format_scopes(scopes: Mapping[str, Role] | None) -> str:
    return "*" if scopes is None else ",".join(f"{n}:{r}" for n, r in sorted(scopes.items()))


def read_keys_file(path: Path) -> list[KeyEntry]:
    return list(_keys_file(path))


def _keys_file(path: Path) -> Iterator[KeyEntry]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SettingsError(f"cannot read RAGD_API_KEYS_FILE {path}: {exc.strerror}") from exc
    for number, line in enumerate(lines, 1):
        fields = line.split("#", 1)[0].split()
        if fields:
            yield key_line(fields, f"{path}:{number}")


def key_line(fields: list[str], where: str) -> KeyEntry:
    digest, role = fields[0].lower(), (fields[1:2] or ["admin"])[0]
    rest, scopes = fields[2:], None
    if not _HEX_DIGEST.match(digest):
        raise SettingsError(f"{where}: expected a key's SHA-256 as 64 hex digits")
    if role not in ROLES:
        raise SettingsError(f"{where}: role must be one of {', '.join(ROLES)}, not {role!r}")
    if rest and rest[0].startswith(SCOPE_FIELD):
        try:
            scopes = parse_scopes(rest.pop(0)[len(SCOPE_FIELD) :], role)  # type: ignore[arg-type]
        except ValueError as exc:
            raise SettingsError(f"{where}: {exc}") from exc
    return KeyEntry(bytes.fromhex(digest), role, " ".join(rest), scopes)  # type: ignore[arg-type]


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if any."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def is_public(method: str, path: str) -> bool:
    return method in SAFE_METHODS and (path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIX))


def may(principal: Principal, method: str, path: str) -> bool:
    """Whether the principal's role allows this request (read keys: GETs, search, ask and
    their own conversations; keys scoped to collections: also writes to those collections)."""
    if principal.role == "admin" and not principal.scoped:
        return True
    if method in SAFE_METHODS or (method == "POST" and path in READER_POSTS):
        return True
    if path == OWN_PREFIX or path.startswith(OWN_PREFIX + "/"):
        return True
    admin_somewhere = principal.role == "admin" or "admin" in (principal.scopes or {}).values()
    return admin_somewhere and path.startswith(COLLECTION_WRITES)


def new_key() -> str:
    return "ragd_" + secrets.token_urlsafe(32)


def key_file_line(key: str, role: Role, name: str, scopes: Mapping[str, Role] | None = None) -> str:
    """The keys-file line for `key`: only its digest is stored."""
    scope = "" if scopes is None else f"{SCOPE_FIELD}{format_scopes(scopes)} "
    return f"{hashlib.sha256(key.encode()).hexdigest()} {role} {scope}{name}".rstrip()
