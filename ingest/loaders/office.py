"""Word (.docx): paragraphs with heading styles, and tables as rows naming their columns, in
document order."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from ingest.errors import UnreadableFile
from ingest.loaders.blocks import Block, Headings
from ingest.loaders.tables import keyed_rows
from ingest.normalize import clean

DOCX_MAX_EXPANDED = 512 * 1024 * 1024  # a Word file's parts, unzipped; more is a zip bomb


def load_docx(data: bytes) -> Iterator[Block]:
    import docx

    _check_zip(data)
    try:
        document = docx.Document(io.BytesIO(data))  # python-docx never resolves XML entities
    except Exception as exc:  # zip, XML and package errors alike
        raise UnreadableFile(f"could not read DOCX: {exc}") from exc
    headings = Headings()
    for item in document.iter_inner_content():  # paragraphs and tables in document order
        if isinstance(item, docx.table.Table):
            for row in keyed_rows(_cells(row) for row in item.rows):
                yield Block(row, heading=headings.path)
            continue
        text, style = clean(item.text), (item.style.name if item.style else "") or ""
        if text and (style.startswith("Heading") or style == "Title"):
            headings.enter(_heading_level(style), text)
        if text:
            yield Block(text, heading=headings.path)


def _cells(row: Any) -> list[str]:
    """A row's cells, a merged cell once (python-docx repeats it for each grid column)."""
    seen: list[Any] = []
    for cell in row.cells:
        if not any(cell._tc is other._tc for other in seen):
            seen.append(cell)
    return [cell.text for cell in seen]


def _check_zip(data: bytes) -> None:
    """A DOCX is a zip package; refuse a bomb by its declared sizes (zipfile enforces them)."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            expanded = sum(info.file_size for info in package.infolist())
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise UnreadableFile(
            f"not a DOCX (Word) file: it is not a valid zip package ({exc})"
        ) from None
    if expanded > DOCX_MAX_EXPANDED:
        raise UnreadableFile(
            f"DOCX unpacks to {expanded // 1048576:,} MB, more than the "
            f"{DOCX_MAX_EXPANDED // 1048576} MB a Word file may hold: likely a zip bomb"
        )


def _heading_level(style: str) -> int:
    digits = "".join(ch for ch in style if ch.isdigit())
    return int(digits) if digits else 0
