"""PDF: the text of each page, cited by page number."""

from __future__ import annotations

import io
from collections.abc import Iterator

from ingest.errors import UnreadableFile
from ingest.loaders.blocks import Block
from ingest.loaders.ocr import fill_scanned_pages
from ingest.normalize import paragraphs


def load_pdf(data: bytes) -> Iterator[Block]:
    from pypdf import PdfReader

    if b"%PDF-" not in data[:1024]:
        raise UnreadableFile("not a PDF: the file does not start with %PDF-")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableFile("encrypted PDF: it needs a password")
        pages = [(n, page.extract_text() or "") for n, page in enumerate(reader.pages, start=1)]
    except UnreadableFile:
        raise
    except Exception as exc:  # pypdf raises many types for damaged files
        raise UnreadableFile(f"could not read PDF: {exc}") from exc
    pages = fill_scanned_pages(data, pages)  # OCR for pages with no text layer (ocr.py)
    for number, text in pages:
        for para in paragraphs(text):
            yield Block(para, page=number)
