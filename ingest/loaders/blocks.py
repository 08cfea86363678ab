"""What every loader yields: paragraph-sized blocks that know their page and heading path."""

from __future__ import annotations

from dataclasses import dataclass

from ingest.normalize import MAX_HEADING_CHARS, bound_heading, cap_invisible

# A title is cut once, where it is entered: the path is built for every block under it.
_TITLE_CHARS = 2 * MAX_HEADING_CHARS


@dataclass(frozen=True)
class Block:
    """A paragraph-sized piece of a document; `label` is the printed page label (PDF) where it
    differs from the page number."""

    text: str
    page: int | None = None
    heading: str | None = None
    label: str | None = None


class Headings:
    """The heading path above the current point, e.g. "Guide > Adding documents", under the
    document's title when it has one that its first heading does not already repeat."""

    def __init__(self, title: str | None = None) -> None:
        self._stack: list[tuple[int, str]] = []
        self.title = _cut(title) if title else title

    def enter(self, level: int, title: str) -> None:
        entry = (level, _cut(title))
        self._stack = [(lvl, t) for lvl, t in self._stack if lvl < level] + [entry]

    @property
    def level(self) -> int:
        """The level of the innermost heading (0 above the first one)."""
        return self._stack[-1][0] if self._stack else 0

    @property
    def path(self) -> str | None:
        titles = [t for _, t in self._stack]
        if self.title and not (titles and _same(titles[0], self.title)):
            titles.insert(0, self.title)
        # bounded here, not only when stored: a 100 kB heading over every block of a file
        # crossed from the parser process as ~180 MB of copies
        return bound_heading(" > ".join(titles) or None)


def _cut(title: str) -> str:
    return cap_invisible(title)[:_TITLE_CHARS]


def _same(heading: str, title: str) -> bool:
    """A title that names the same thing as the first heading ("json — JSON encoder" and
    "json — JSON encoder — Python 3.12 documentation")."""
    a, b = heading.casefold(), title.casefold()
    return a.startswith(b) or b.startswith(a)
