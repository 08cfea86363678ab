"""OpenDocument text (.odt): headings with their outline levels, paragraphs, lists and tables
(a row each), read from content.xml with defusedxml."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ingest.errors import UnreadableFile
from ingest.loaders.blocks import Block, Headings
from ingest.loaders.package import open_package, read_member
from ingest.loaders.tables import keyed_rows
from ingest.loaders.xmlparts import local, parse_xml
from ingest.normalize import clean

_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_CONTAINERS = {"list", "list-item", "list-header", "section", "index-body", "deletion"}
_SKIPPED = {"tracked-changes", "sequence-decls", "table-of-content", "note-citation"}


def load_odt(data: bytes) -> Iterator[Block]:
    with open_package(data, "ODT") as package:
        content = read_member(package, "content.xml", "ODT")
    text = _child(_child(parse_xml(content, "content.xml"), "body"), "text")
    if text is None:
        raise UnreadableFile("not an OpenDocument text: content.xml has no office:text body")
    yield from _blocks(text, Headings())


def _child(element: Any, name: str) -> Any:
    return next((e for e in element if local(e.tag) == name), None) if element is not None else None


def _blocks(element: Any, headings: Headings) -> Iterator[Block]:
    for child in element:
        tag = local(child.tag)
        if tag == "h":
            text = _text(child)
            if text:
                headings.enter(_int(child.get(f"{_TEXT}outline-level"), 1), text)
                yield Block(text, heading=headings.path)
        elif tag == "p":
            text = _text(child)
            if text:
                yield Block(text, heading=headings.path)
        elif tag == "table":
            for row in keyed_rows(_rows(child)):
                yield Block(row, heading=headings.path)
        elif tag in _CONTAINERS:
            yield from _blocks(child, headings)


def _rows(table: Any) -> Iterator[list[str]]:
    for row in table.iter():
        if local(row.tag) == "table-row":
            yield [_cell_text(c) for c in row if local(c.tag) == "table-cell"]


def _cell_text(cell: Any) -> str:
    return " ".join(_text(p) for p in cell.iter() if local(p.tag) in ("p", "h"))


def _text(element: Any) -> str:
    """A paragraph's text: spans flattened, <text:s/> spaces, tabs and line breaks kept."""
    return clean(_text_raw(element))


def _inline(element: Any) -> str:
    """An element inside a paragraph, and the text after it."""
    tag, tail = local(element.tag), element.tail or ""
    if tag in _SKIPPED:
        return tail
    if tag == "s":  # a run of spaces, capped: the count is the file's to choose
        return " " * min(_int(element.get(f"{_TEXT}c"), 1), 64) + tail
    if tag in ("tab", "line-break"):
        return (" " if tag == "tab" else "\n") + tail
    return _text_raw(element) + tail


def _text_raw(element: Any) -> str:
    return (element.text or "") + "".join(_inline(child) for child in element)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default
