"""The FAISS vector store: every collection under one data folder, opened by name."""

from __future__ import annotations

import re
import threading
from pathlib import Path

from index.collection import Collection
from index.errors import CollectionNotFound, InvalidCollectionName

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def valid_name(name: str) -> bool:
    """Whether `name` can name a collection (never a path, nor an engine's reserved word)."""
    return bool(_NAME.match(name))


class Library:
    """Collections live in `<root>/<name>/`; names are validated so they are never paths."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._open: dict[str, Collection] = {}
        self._lock = threading.Lock()

    def collection(self, name: str, *, must_exist: bool = False) -> Collection:
        if not valid_name(name):
            raise InvalidCollectionName(
                f"invalid collection name {name!r}: use 1-64 letters, digits, '_' or '-'"
            )
        with self._lock:
            if name not in self._open:
                self._open[name] = Collection(self.root / name)
            collection = self._open[name]
        if must_exist and not collection.exists():
            raise CollectionNotFound(f"no collection named {name!r}; see GET /api/collections")
        return collection

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if _NAME.match(p.name) and p.is_dir())
