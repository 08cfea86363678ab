"""Loaders per format: file bytes to text blocks that know their page and nearest heading."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ingest.errors import EmptyDocument, UnreadableFile, UnsupportedFile
from ingest.normalize import clean, decode, paragraphs, refuse_binary, split_long

DOCX_MAX_EXPANDED = 512 * 1024 * 1024  # a Word file's parts, unzipped; more is a zip bomb
LONGEST_BLOCK = 8000  # characters; longer paragraphs are cut, so no one string is huge


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


def load_text(data: bytes) -> Iterator[Block]:
    for para in paragraphs(decode(data)):
        yield Block(para)


def load_markdown(data: bytes) -> Iterator[Block]:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(decode(data))
    headings = Headings()
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            headings.enter(int(token.tag[1:]), clean(tokens[i + 1].content))
        elif token.type == "inline" and token.content.strip():
            yield Block(" ".join(clean(token.content).split("\n")), heading=headings.path)
        elif token.type in ("fence", "code_block"):
            yield Block(clean(token.content), heading=headings.path)


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
    for number, text in pages:
        for para in paragraphs(text):
            yield Block(para, page=number)


def load_docx(data: bytes) -> Iterator[Block]:
    import docx

    _check_zip(data)
    try:
        document = docx.Document(io.BytesIO(data))  # python-docx never resolves XML entities
    except Exception as exc:  # zip, XML and package errors alike
        raise UnreadableFile(f"could not read DOCX: {exc}") from exc
    headings = Headings()
    for para in document.paragraphs:
        text, style = clean(para.text), (para.style.name if para.style else "") or ""
        if text and (style.startswith("Heading") or style == "Title"):
            headings.enter(_heading_level(style), text)
        if text:
            yield Block(text, heading=headings.path)
    for table in document.tables:
        for row in table.rows:
            cells = [clean(cell.text) for cell in row.cells]
            if any(cells):
                yield Block(" | ".join(cells), heading=headings.path)


def load_html(data: bytes) -> Iterator[Block]:
    from bs4 import BeautifulSoup

    refuse_binary(data)
    soup = BeautifulSoup(data, "html.parser")  # a pure-Python parser: no external entities
    for tag in soup(["script", "style", "noscript", "template", "svg", "head"]):
        tag.decompose()
    headings = Headings()
    for element in soup.find_all(_HTML_BLOCKS):
        if element.find(_HTML_BLOCKS):
            continue  # its inner blocks are visited on their own
        text = " ".join(clean(element.get_text(" ")).split("\n"))
        if element.name in _HTML_HEADINGS and text:
            headings.enter(int(element.name[1]), text)
        if text:
            yield Block(text, heading=headings.path)


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


_HTML_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_HTML_BLOCKS = [*_HTML_HEADINGS, "p", "li", "pre", "blockquote", "td", "th", "dd", "dt", "div"]

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
        Block(text, b.page, b.heading)
        for b in loader(data)
        for text in split_long(b.text, LONGEST_BLOCK)
    ]
    if not blocks:
        raise EmptyDocument("no text found (a scanned or image-only document needs OCR first)")
    return blocks


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""
