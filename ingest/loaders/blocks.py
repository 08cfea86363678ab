"""What every loader yields: paragraph-sized blocks that know their page and heading path."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    """A paragraph-sized piece of a document."""

    text: str
    page: int | None = None
    heading: str | None = None


class Headings:
    """The heading path above the current point, e.g. "Guide > Adding documents"."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    def enter(self, level: int, title: str) -> None:
        self._stack = [(lvl, t) for lvl, t in self._stack if lvl < level] + [(level, title)]

    @property
    def path(self) -> str | None:
        return " > ".join(t for _, t in self._stack) or None
