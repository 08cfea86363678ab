"""Loaders per format, chosen by suffix: file bytes to text blocks (see blocks.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ingest.errors import EmptyDocument, UnsupportedFile
from ingest.loaders.blocks import Block
from ingest.loaders.html import load_html
from ingest.loaders.office import load_docx
from ingest.loaders.pdf import load_pdf
from ingest.loaders.text import load_markdown, load_text
from ingest.normalize import split_long

LONGEST_BLOCK = 8000  # characters; longer paragraphs are cut, so no one string is huge


LOADERS: dict[str, Callable[[bytes], Iterator[Block]]] = {
    ".txt": load_text,
    ".text": load_text,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".html": load_html,
    ".htm": load_html,
}


def supported(name: str) -> bool:
    return _suffix(name) in LOADERS


def precheck(name: str, data: bytes) -> Callable[[bytes], Iterator[Block]]:
    """The loader for `name`, after the checks that need no parsing (type, emptiness)."""
    loader = LOADERS.get(_suffix(name))
    if loader is None:
        kinds = ", ".join(sorted(LOADERS))
        raise UnsupportedFile(
            f"unsupported file type {_suffix(name) or '(none)'!r}; ragd reads {kinds}"
        )
    if not data.strip():
        raise EmptyDocument("empty file")
    return loader


def load(name: str, data: bytes) -> list[Block]:
    """The text blocks of a file called `name`, or a clear error saying why there are none.
    Parses untrusted bytes: callers run it in the sandbox (ingest.sandbox)."""
    loader = precheck(name, data)
    blocks = [
        Block(text, b.page, b.heading, b.label)
        for b in loader(data)
        for text in split_long(b.text, LONGEST_BLOCK)
    ]
    if not blocks:
        raise EmptyDocument("no text found (a scanned or image-only document needs OCR first)")
    return blocks


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""
