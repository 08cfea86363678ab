"""Loaders per format, chosen by suffix: file bytes to text blocks (see blocks.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ingest.errors import EmptyDocument, UnsupportedFile
from ingest.loaders.blocks import Block
from ingest.loaders.context import Loaded, LoadOptions, loading
from ingest.loaders.epub import load_epub
from ingest.loaders.html import load_html_page
from ingest.loaders.mail import load_eml
from ingest.loaders.ocr import load_image
from ingest.loaders.office import load_docx
from ingest.loaders.opendocument import load_odt
from ingest.loaders.pdf import load_pdf
from ingest.loaders.rtf import load_rtf
from ingest.loaders.sheets import load_csv, load_xlsx
from ingest.loaders.slides import load_pptx
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
    ".html": load_html_page,
    ".htm": load_html_page,
    ".pptx": load_pptx,
    ".xlsx": load_xlsx,
    ".csv": load_csv,
    ".tsv": load_csv,
    ".epub": load_epub,
    ".eml": load_eml,
    ".odt": load_odt,
    ".rtf": load_rtf,
    # Images are read by OCR (tesseract), like the PDF pages that have no text layer.
    ".png": load_image,
    ".jpg": load_image,
    ".jpeg": load_image,
    ".tif": load_image,
    ".tiff": load_image,
}


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


def load(name: str, data: bytes, options: LoadOptions | None = None) -> Loaded:
    """The text blocks of a file called `name` (with notes on any cut, and the pages read by
    OCR), or a clear error saying why there are none.
    Parses untrusted bytes: callers run it in the sandbox (ingest.sandbox)."""
    loader = precheck(name, data)
    with loading(options or LoadOptions()) as report:
        blocks = [
            Block(text, b.page, b.heading, b.label)
            for b in loader(data)
            for text in split_long(b.text, LONGEST_BLOCK)
        ]
    if not blocks:  # a note may say why (e.g. OCR ran out of time)
        found = "no text found in the file" + (", not even by OCR" if report.ocr_pages else "")
        raise EmptyDocument("; ".join([found, *report.notes]))
    return Loaded(blocks, report)


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""
