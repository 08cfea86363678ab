"""API keys: held as SHA-256 digests, checked in constant time, each with a role (read or admin)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from config.errors import SettingsError
from config.settings import Settings

Role = Literal["read", "admin"]
ROLES: tuple[Role, ...] = ("read", "admin")
MIN_KEY_LENGTH = 16
_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")

# Paths anyone may GET without a key: liveness and the page shell (it asks for a key itself).
PUBLIC_PATHS = frozenset({"/", "/health"})
PUBLIC_PREFIX = "/static/"
# The only non-GET requests a read-only key may make; everything else needs an admin key,
# so a route added later without thinking about roles is admin-only (fails closed).
READER_POSTS = frozenset(
    {"/api/search", "/api/ask", "/v1/chat/completions", "/mcp"}
)  # /mcp: every MCP tool only reads (search, ask, list_documents)
SAFE_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Principal:
    """Who is calling: a stable id for rate limiting and logs, a display name, and a role."""

    id: str
    name: str
    role: Role


ANONYMOUS = Principal("anonymous", "anonymous", "admin")  # only when no keys are configured


@dataclass(frozen=True)
class KeyEntry:
    digest: bytes
    role: Role
    name: str


class KeyRing:
    """The configured keys; empty means authentication is off."""

    def __init__(self, entries: Iterable[KeyEntry]) -> None:
        self._entries = tuple(entries)

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        entries = list(_plain_keys(settings.api_keys))
        if settings.api_keys_file is not None:
            entries.extend(_keys_file(settings.api_keys_file))
        return cls(entries)

    @property
    def enabled(self) -> bool:
        return bool(self._entries)

    def identify(self, token: str) -> Principal | None:
        """The key's principal, or None; compares against every entry, in constant time each."""
        digest = hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()
        found: KeyEntry | None = None
        for entry in self._entries:
            if hmac.compare_digest(digest, entry.digest):
                found = entry
        if found is None:
            return None
        key_id = found.digest.hex()[:12]
        return Principal(key_id, found.name or key_id, found.role)


def _plain_keys(spec: str) -> Iterator[KeyEntry]:
    for n, item in enumerate(part.strip() for part in spec.split(",")):
        if not item:
            continue
        key, role = _split_role(item)
        if len(key) < MIN_KEY_LENGTH:
            raise SettingsError(
                f"RAGD_API_KEYS entry {n + 1} is shorter than {MIN_KEY_LENGTH} characters; "
                "use a long random key (`ragd key new` makes one)"
            )
        yield KeyEntry(hashlib.sha256(key.encode()).digest(), role, f"key{n + 1}")


def _split_role(item: str) -> tuple[str, Role]:
    key, _, suffix = item.rpartition(":")
    if key and suffix in ROLES:
        return key, suffix
    return item, "admin"


def _keys_file(path: Path) -> Iterator[KeyEntry]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SettingsError(f"cannot read RAGD_API_KEYS_FILE {path}: {exc.strerror}") from exc
    for number, line in enumerate(lines, 1):
        fields = line.split("#", 1)[0].split()
        if fields:
            yield _key_line(fields, f"{path}:{number}")


def _key_line(fields: list[str], where: str) -> KeyEntry:
    digest, role, name = fields[0].lower(), (fields[1:2] or ["admin"])[0], " ".join(fields[2:])
    if not _HEX_DIGEST.match(digest):
        raise SettingsError(f"{where}: expected a key's SHA-256 as 64 hex digits")
    if role not in ROLES:
        raise SettingsError(f"{where}: role must be one of {', '.join(ROLES)}, not {role!r}")
    return KeyEntry(bytes.fromhex(digest), role, name)


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if any."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def is_public(method: str, path: str) -> bool:
    return method in SAFE_METHODS and (path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIX))


def may(principal: Principal, method: str, path: str) -> bool:
    """Whether the principal's role allows this request (read keys: GETs, search and ask)."""
    if principal.role == "admin":
        return True
    return method in SAFE_METHODS or (method == "POST" and path in READER_POSTS)


def new_key() -> str:
    return "ragd_" + secrets.token_urlsafe(32)


def key_file_line(key: str, role: Role, name: str) -> str:
    """The keys-file line for `key`: only its digest is stored."""
    return f"{hashlib.sha256(key.encode()).hexdigest()} {role} {name}".rstrip()
