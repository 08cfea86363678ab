"""Who may touch which collection: principals, scopes, `authorize`, and the store that checks.

Every collection lookup goes through `ScopedStore`, so retrieval, documents, uploads, deletes,
/health, /v1/models and the MCP tools all meet the same check, not only the routes. The caller
is the `acting` context variable, set per request by the server's Guard; commands run locally
(the CLI, the server's own startup and folder watches) act as LOCAL, with every right.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from app.answering.errors import RequestError
from index.errors import CollectionNotFound
from index.protocol import Reader, State, StoreCollection, StoreWriter, VectorStore
from index.types import DocumentRow, Health, IndexSpec, NewChunk

if TYPE_CHECKING:
    import numpy as np

Role = Literal["read", "admin"]
ROLES: tuple[Role, ...] = ("read", "admin")
# Said for every collection a key may not see, existing or not: nothing about it leaks.
HIDDEN = "no such collection"


class NotAllowed(RequestError):
    """The key may see the collection but not do this to it (e.g. a read key uploading)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a stable id (rate limits, conversations), a display name, a role, and
    the collections it may touch (None: all of them, with `role`)."""

    id: str
    name: str
    role: Role
    scopes: Mapping[str, Role] | None = field(default=None, hash=False)

    @property
    def scoped(self) -> bool:
        return self.scopes is not None

    def role_on(self, collection: str) -> Role | None:
        """This principal's role on `collection`, or None where it may not even see it."""
        if self.scopes is None:
            return self.role
        return self.scopes.get(collection)


LOCAL = Principal("local", "local", "admin")  # the machine's own user: CLI, startup, watches
NOBODY = Principal("public", "public", "read", {})  # no key on a public path: sees nothing
acting: ContextVar[Principal] = ContextVar("ragd_principal", default=LOCAL)


def current() -> Principal:
    return acting.get()


@contextmanager
def acting_as(principal: Principal) -> Iterator[None]:
    token = acting.set(principal)
    try:
        yield
    finally:
        acting.reset(token)


def authorize(principal: Principal, collection: str, action: Role) -> None:
    """Refuse unless `principal` may `action` (read, or admin: write) on `collection`; a
    collection out of scope is refused as if it did not exist, without its name."""
    role = principal.role_on(collection)
    if role is None:
        raise CollectionNotFound(HIDDEN)
    if action == "admin" and role != "admin":
        raise NotAllowed("this API key may only read this collection: writing needs an admin key")


def visible(principal: Principal, names: list[str]) -> list[str]:
    return [n for n in names if principal.role_on(n) is not None]


class ScopedStore:
    """A VectorStore that asks `authorize` on every lookup, as the current principal."""

    def __init__(self, inner: VectorStore) -> None:
        self.inner = inner

    def collection(self, name: str, *, must_exist: bool = False) -> StoreCollection:
        authorize(current(), name, "read")
        return ScopedCollection(self.inner.collection(name, must_exist=must_exist))

    def names(self) -> list[str]:
        return visible(current(), self.inner.names())

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> object:  # engine extras (close, backups) pass through
        return getattr(self.inner, name)


class ScopedCollection:
    """A collection whose writer needs admin rights on it."""

    def __init__(self, inner: StoreCollection) -> None:
        self.inner = inner

    @property
    def name(self) -> str:
        return self.inner.name

    def exists(self) -> bool:
        return self.inner.exists()

    def state(self) -> State | None:
        return self.inner.state()

    def snapshot(self) -> Reader:
        return self.inner.snapshot()

    def writer(self, spec: IndexSpec, wait: float = 0, rebuild: bool = False) -> StoreWriter:
        authorize(current(), self.inner.name, "admin")
        return self.inner.writer(spec, wait, rebuild)

    def set_tags(self, doc_id: str, tags: dict[str, str], wait: float = 5) -> DocumentRow:
        authorize(current(), self.inner.name, "admin")
        return self.inner.set_tags(doc_id, tags, wait)

    def check(self) -> list[str]:
        return self.inner.check()

    def health(self) -> Health:
        return self.inner.health()

    def export(self) -> Iterator[tuple[DocumentRow, list[NewChunk], np.ndarray]]:
        return self.inner.export()

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def scoped(store: VectorStore) -> VectorStore:
    return store if isinstance(store, ScopedStore) else ScopedStore(store)
