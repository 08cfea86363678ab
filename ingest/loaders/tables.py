"""Tables as rows that name their columns: "Part: Flange bolt | Torque: 42 Nm"."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from ingest.normalize import clean


def keyed_rows(rows: Iterable[Sequence[str]]) -> Iterator[str]:
    """The first non-empty row names the columns; every later row is written with those
    names, so a row read alone (or a chunk that starts mid-table) still knows its columns.
    A table of one row is that row."""
    header: list[str] | None = None
    data_rows = 0
    for raw in rows:
        cells = [" ".join(c.split()) for c in raw]  # a cell's line breaks read as spaces
        if not any(cells):
            continue
        if header is None:
            header = [clean(c) for c in cells]
            continue
        data_rows += 1
        yield clean(row_text(header, cells))  # once per row: cells are many, and short
    if header is not None and data_rows == 0:
        yield " | ".join(c for c in header if c)


def row_text(header: Sequence[str], cells: Sequence[str]) -> str:
    """One row as "name: value" pairs, empty cells left out; unnamed columns by number."""
    return " | ".join(f"{_name(header, n)}: {value}" for n, value in enumerate(cells) if value)


def _name(header: Sequence[str], n: int) -> str:
    name = header[n] if n < len(header) else ""
    return name or f"column {n + 1}"
