"""Slides (.pptx): each slide's title as heading, its text and tables in reading order, then
its speaker notes; cited by slide number (the page)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Any

from ingest.errors import IngestError, UnreadableFile
from ingest.loaders.blocks import Block
from ingest.loaders.package import check_package
from ingest.loaders.tables import keyed_rows
from ingest.normalize import clean, paragraphs


def load_pptx(data: bytes) -> Iterator[Block]:
    from pptx import Presentation  # python-pptx parses with lxml, entities not resolved

    check_package(data, "PPTX")
    try:
        deck = Presentation(io.BytesIO(data))
    except Exception as exc:  # zip, XML and package errors alike
        raise UnreadableFile(f"could not read PPTX: {exc}") from exc
    try:
        for number, slide in enumerate(deck.slides, start=1):  # slides parse as they are read
            yield from _slide(slide, number)
    except IngestError:
        raise
    except Exception as exc:  # XML and package errors alike
        raise UnreadableFile(f"could not read PPTX: {type(exc).__name__}: {exc}") from None


def _slide(slide: Any, number: int) -> Iterator[Block]:
    title_shape = slide.shapes.title
    title = title_shape.text_frame.text if getattr(title_shape, "has_text_frame", False) else ""
    heading = clean(" ".join(title.split())) or f"Slide {number}"
    for text in _shapes_text(slide.shapes):
        yield Block(text, page=number, heading=heading)
    for text in _notes(slide):
        yield Block(f"Speaker notes: {text}", page=number, heading=heading)


def _shapes_text(shapes: Iterable[Any]) -> Iterator[str]:
    """Text frames (a paragraph each), tables (a row each) and groups, top to bottom."""
    for shape in sorted(shapes, key=_position):
        if getattr(shape, "shapes", None) is not None:  # a group
            yield from _shapes_text(shape.shapes)
        elif getattr(shape, "has_table", False):
            rows = ([cell.text for cell in row.cells] for row in shape.table.rows)
            yield from keyed_rows(rows)
        elif getattr(shape, "has_text_frame", False):
            yield from _frame_text(shape.text_frame)


def _frame_text(frame: Any) -> Iterator[str]:
    for para in frame.paragraphs:  # a line break inside a paragraph reads as a vertical tab
        yield from paragraphs(para.text.replace("\v", "\n"))


def _notes(slide: Any) -> Iterator[str]:
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        yield from _frame_text(slide.notes_slide.notes_text_frame)


def _position(shape: Any) -> tuple[int, int]:
    return (shape.top or 0, shape.left or 0)
