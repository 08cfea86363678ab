"""PDF: text read with its layout (PDFium): paragraphs, headings, code; running heads dropped.

Each page's lines come with their font size, weight and position. Lines repeated at the top or
bottom of many pages (running heads, page numbers) are dropped; the rest are joined into
paragraphs at vertical gaps and indents; lines set larger than the body text (or bold and
numbered) become the heading path; monospaced runs stay code, line by line. A block cites the
physical page (1-based) and, where the PDF defines page labels that differ, the printed label.
"""

from __future__ import annotations

import ctypes
import itertools
import re
import statistics
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ingest.errors import UnreadableFile
from ingest.loaders.blocks import Block, Headings
from ingest.loaders.ocr import fill_scanned_pages
from ingest.loaders.pdf_tables import Span, Table, find_tables, looks_tabular, row_texts, spans
from ingest.normalize import clean, clean_code, paragraphs

BAND = 0.1  # running heads and page numbers sit within this share of the page height
EDGE_LINES = 3  # ... among the first or last few lines of the page
REPEATED_ON = 3  # a line (digits aside) at the same edge of this many pages is a running head
HEADING_SIZE = 1.15  # a line this much larger than the body text is a heading
PARAGRAPH_GAP = 1.4  # a line pitch this much above the page's usual one starts a paragraph
MAX_HEADING_CHARS = 150
_NUMBERED = re.compile(r"^(\d+(\.\d+)*|[A-Z](\.\d+)+)\.?\s+\S")
_PAGE_NUMBER = re.compile(r"^((page\s+)?\d+(\s+of\s+\d+)?|[ivxlcdm]+)$", re.IGNORECASE)
# a contents or index entry: its title or term, dot leaders, a page number (or several)
_LEADER_ENTRY = re.compile(r"\S.*?(\s?\.){4,}\s*([0-9]+|[ivxlcdm]+)(,\s*[0-9]+)*$", re.IGNORECASE)
_NUMBERED_ENTRY = re.compile(r"\S.*\D\s+[0-9]+(,\s*[0-9]+)*$")  # "Index term 12, 34"
CONTENTS_SHARE = 0.5  # a page with this share of entry lines is a contents or index page
_MONO = re.compile(r"mono|courier|consol|cmtt|sfmono|menlo|code|typewriter", re.IGNORECASE)
_BOLD = re.compile(r"bold|black|heavy|semibold|cmbx|cmb\d", re.IGNORECASE)
_STREAM = re.compile(rb"stream\r?\n")
_IMAGE = re.compile(rb"/Subtype\s*/Image")
MIB = 1024 * 1024
MAX_STREAM_MB = 128  # inflated, one content stream (a page's drawing, a font)
MAX_INFLATED_MB = 1024  # inflated, every non-image stream together
_SOFT_HYPHEN = "\ufffe"  # PDFium's mark for a hyphen at a line end that it joined


@dataclass(frozen=True)
class _Line:
    text: str
    y: float  # baseline, from the top of the page, in points
    x: float
    size: float
    bold: bool
    mono: bool
    spans: tuple[Span, ...] = ()  # the line's text runs, set apart where a table has columns


@dataclass
class _Page:
    number: int
    label: str | None
    height: float
    lines: list[_Line]
    tables: list[tuple[int, Table]] = field(default_factory=list)  # (at line, table)


def load_pdf(data: bytes) -> Iterator[Block]:
    if b"%PDF-" not in data[:1024]:
        raise UnreadableFile("not a PDF: the file does not start with %PDF-")
    _refuse_bomb(data)
    pages, title = _read(data)
    scanned = _ocr_texts(data, pages)
    _drop_running_lines(pages)
    _drop_contents_and_index(pages)
    body = _body_size(pages)
    headings = Headings(title)
    for page in pages:
        if page.number in scanned:
            for para in paragraphs(scanned[page.number]):
                yield Block(para, page=page.number, heading=headings.path, label=page.label)
        else:
            yield from _page_blocks(page, body, headings)


def _ocr_texts(data: bytes, pages: list[_Page]) -> dict[int, str]:
    """OCR text of the pages with no text layer, where OCR is on (ocr.py). A page that is all
    table has a text layer: its lines went to the table."""
    texts = [(p.number, _page_text(p)) for p in pages]
    filled = fill_scanned_pages(data, texts)
    return {n: text for (n, text), page in zip(filled, pages, strict=True) if not _page_text(page)}


def _page_text(page: _Page) -> str:
    cells = (cell for _, table in page.tables for row in table.rows for cell in row)
    return " ".join([*(line.text for line in page.lines), *cells]).strip()


def _refuse_bomb(data: bytes) -> None:
    """PDFium inflates a content stream whole, whatever its size: measure them first (images
    aside, which text extraction never decodes) and refuse a decompression bomb."""
    total = 0
    for match in _STREAM.finditer(data):
        if _IMAGE.search(data, max(0, match.start() - 400), match.start()):
            continue
        size = _inflated(data, match.end(), MAX_STREAM_MB * MIB + 1)
        total += size
        if size > MAX_STREAM_MB * MIB or total > MAX_INFLATED_MB * MIB:
            raise UnreadableFile(
                f"PDF content inflates past {MAX_STREAM_MB} MB in one stream or "
                f"{MAX_INFLATED_MB} MB in all: likely a decompression bomb"
            )


def _inflated(data: bytes, start: int, cap: int) -> int:
    """How many bytes the zlib stream at `start` inflates to, counting no further than `cap`."""
    inflate = zlib.decompressobj()
    size, position = 0, start
    try:
        while size <= cap and not inflate.eof and position < len(data):
            size += len(inflate.decompress(data[position : position + 65536], 1 << 20))
            position += 65536
            while inflate.unconsumed_tail and size <= cap:
                size += len(inflate.decompress(inflate.unconsumed_tail, 1 << 20))
    except zlib.error:
        return size  # not zlib (another filter, or none): PDFium bounds it
    return size


def _read(data: bytes) -> tuple[list[_Page], str | None]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise UnreadableFile(_open_error(str(exc))) from None
    try:
        pages = [_read_page(pdf, i) for i in range(len(pdf))]
        return pages, _title(pdf)
    except pdfium.PdfiumError as exc:
        raise UnreadableFile(f"could not read PDF: {exc}") from None
    finally:
        pdf.close()


def _open_error(message: str) -> str:
    if "password" in message.lower():
        return "encrypted PDF: it needs a password"
    return f"could not read PDF: {message}"


def _title(pdf: Any) -> str | None:
    title = " ".join(clean(str(pdf.get_metadata_value("Title") or "")).split())
    junk = not title or title.lower() in ("untitled", "title") or re.search(r"\.\w{2,4}$", title)
    return None if junk else title


def _read_page(pdf: Any, index: int) -> _Page:
    page = pdf[index]
    try:
        height = page.get_height()
        textpage = page.get_textpage()
        try:
            tabular = looks_tabular(textpage)
            lines = list(_lines(textpage, height, tabular))
            tables = find_tables(lines, textpage, page.get_width()) if tabular else []
        finally:
            textpage.close()
    finally:
        page.close()
    label = pdf.get_page_label(index) or None
    result = _Page(index + 1, label if label != str(index + 1) else None, height, lines)
    _set_tables_apart(result, tables)
    return result


def _set_tables_apart(page: _Page, tables: list[Table]) -> None:
    """Take the tables' lines out of the text, each table kept at the place it stood."""
    if not tables:
        return
    taken = set().union(*(t.lines for t in tables))
    at = {min(t.lines): t for t in tables}
    kept = 0
    for i in range(len(page.lines)):
        if i in at:
            page.tables.append((kept, at[i]))
        kept += i not in taken
    page.lines = [line for i, line in enumerate(page.lines) if i not in taken]


def _lines(textpage: Any, height: float, tabular: bool) -> Iterator[_Line]:
    """PDFium's text lines, each with the font and position of its first and last characters."""
    text = textpage.get_text_range()
    start = 0
    for raw in re.split(f"(?<=[\n{_SOFT_HYPHEN}])", text.replace("\r\n", "\n")):
        first = start + (len(raw) - len(raw.lstrip()))
        last = start + len(raw.rstrip()) - 1
        start += len(raw) + raw.endswith("\n")  # PDFium counts "\r\n" as two characters
        line = raw.replace(_SOFT_HYPHEN, "-").strip()
        if line and last >= first:
            yield _line(textpage, line, first, last, height, tabular)


def _line(textpage: Any, text: str, first: int, last: int, height: float, tabular: bool) -> _Line:
    import pypdfium2.raw as pdfium_c

    raw = textpage.raw
    x, y = ctypes.c_double(), ctypes.c_double()
    pdfium_c.FPDFText_GetCharOrigin(raw, first, x, y)
    size = pdfium_c.FPDFText_GetFontSize(raw, first)
    first_font, last_font = _font(raw, first), _font(raw, last)
    bold = bool(_BOLD.search(first_font)) or pdfium_c.FPDFText_GetFontWeight(raw, first) >= 600
    mono = bool(_MONO.search(first_font) and _MONO.search(last_font))
    runs = spans(textpage, text, first, last, size) if tabular and not mono else ()
    return _Line(text, height - y.value, x.value, round(size, 1), bold, mono, runs)


def _font(raw: Any, index: int) -> str:
    import pypdfium2.raw as pdfium_c

    buffer = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    pdfium_c.FPDFText_GetFontInfo(raw, index, buffer, 128, ctypes.byref(flags))
    return buffer.value.decode("latin-1")


def _edge_lines(page: _Page) -> Iterator[_Line]:
    """The lines a running head or page number could be: near the top or bottom edge."""
    edges = page.lines[:EDGE_LINES] + page.lines[-EDGE_LINES:]
    for line in dict.fromkeys(edges):
        if line.y < BAND * page.height or line.y > (1 - BAND) * page.height:
            yield line


def _edge_key(page: _Page, line: _Line) -> tuple[bool, str]:
    top = line.y < page.height / 2
    return top, re.sub(r"\d+", "#", line.text.casefold())


def _drop_running_lines(pages: list[_Page]) -> None:
    """Drop page numbers and lines repeated (digits aside) at the same edge of many pages."""
    seen = Counter(_edge_key(p, line) for p in pages for line in set(_edge_lines(p)))
    need = min(REPEATED_ON, max(2, len(pages) // 2))
    for page in pages:
        running = {
            line
            for line in _edge_lines(page)
            if seen[_edge_key(page, line)] >= need or _is_page_number(page, line.text)
        }
        page.lines = [line for line in page.lines if line not in running]


def _drop_contents_and_index(pages: list[_Page]) -> None:
    """Drop the table of contents and the index: dot-leader entries wherever they are, and
    whole pages that are mostly entries. They name every topic, so they would be retrieved for
    questions they cannot answer."""
    for page in pages:
        prose = [line for line in page.lines if not line.mono]
        leaders = sum(1 for line in prose if _LEADER_ENTRY.match(line.text))
        entries = sum(1 for line in prose if _NUMBERED_ENTRY.match(line.text))
        if leaders >= 3 and max(leaders, entries) >= CONTENTS_SHARE * len(prose):
            page.lines = [line for line in page.lines if line.mono]
        else:
            page.lines = [line for line in page.lines if not _is_leader_entry(line)]


def _is_leader_entry(line: _Line) -> bool:
    return not line.mono and _LEADER_ENTRY.match(line.text) is not None


def _is_page_number(page: _Page, text: str) -> bool:
    """A bare page number, or a short line that starts or ends with this page's number."""
    if _PAGE_NUMBER.match(text):
        return True
    words = text.split()
    numbers = {str(page.number), page.label or str(page.number)}
    return len(text) <= 100 and len(words) > 1 and (words[0] in numbers or words[-1] in numbers)


def _body_size(pages: list[_Page]) -> float:
    """The font size most of the text is set in."""
    sizes: Counter[float] = Counter()
    for page in pages:
        for line in page.lines:
            sizes[line.size] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _page_blocks(page: _Page, body: float, headings: Headings) -> Iterator[Block]:
    pitch = _usual_pitch(page.lines)
    margin = min((line.x for line in page.lines), default=0.0)
    group: list[_Line] = []
    previous: _Line | None = None
    tables = dict(page.tables)
    for at, line in enumerate(page.lines):
        if at in tables:
            yield from _flush(group, page, headings)
            yield from _table_blocks(tables.pop(at), page, headings)
            group = []
        level = _heading_level(line, body)
        if level:
            yield from _flush(group, page, headings)
            group = []
            _enter(headings, level, line, previous)
        elif group and _breaks(group[-1], line, pitch, margin):
            yield from _flush(group, page, headings)
            group = [line]
        else:
            group.append(line)
        previous = line
    yield from _flush(group, page, headings)
    for table in tables.values():
        yield from _table_blocks(table, page, headings)


def _table_blocks(table: Table, page: _Page, headings: Headings) -> Iterator[Block]:
    """One block per row, each cell named by its column, as the HTML and office tables."""
    for row in row_texts(table):
        yield Block(row, page=page.number, heading=headings.path, label=page.label)


def _enter(headings: Headings, level: int, line: _Line, previous: _Line | None) -> None:
    """A heading line; one that continues the heading above it (same size) extends it."""
    text = " ".join(clean(line.text).split())
    if previous is not None and previous.size == line.size and _heading_level(previous, 0):
        path = headings.path or ""
        last = path.rsplit(" > ", 1)[-1]
        if last and level == headings.level:
            headings.enter(level, f"{last} {text}")
            return
    headings.enter(level, text)


def _heading_level(line: _Line, body: float) -> int:
    """0 for body text; else the heading's level, from its number ("2.1.3") or its size."""
    text = line.text
    if len(text) > MAX_HEADING_CHARS or not any(ch.isalpha() for ch in text) or line.mono:
        return 0
    numbered = _NUMBERED.match(text)
    large = body > 0 and line.size >= body * HEADING_SIZE
    if not large and not (line.bold and numbered and not text.rstrip().endswith((".", ","))):
        return 0
    if numbered and numbered.group(1)[0].isdigit():
        return numbered.group(1).count(".") + 1
    return 1 if line.size >= body * 1.6 else 2


def _usual_pitch(lines: list[_Line]) -> float:
    gaps = [b.y - a.y for a, b in itertools.pairwise(lines) if 0 < b.y - a.y < 60]
    return statistics.median(gaps) if gaps else 0.0


def _breaks(before: _Line, line: _Line, pitch: float, margin: float) -> bool:
    """Whether `line` starts a new paragraph: a wide gap, a new column, an indent after a
    sentence end, a change between code and prose, or a change of font size."""
    gap = line.y - before.y
    if before.mono != line.mono or abs(before.size - line.size) > 0.5:
        return True
    if gap < 0 or (pitch and gap > pitch * PARAGRAPH_GAP):
        return True
    indented = line.x > margin + 6 and line.x > before.x + 6
    return indented and before.text.rstrip().endswith((".", ":", "!", "?"))


def _flush(lines: list[_Line], page: _Page, headings: Headings) -> Iterator[Block]:
    if not lines:
        return
    if lines[0].mono:
        text = clean_code("\n".join(line.text for line in lines))
    else:
        text = " ".join(clean(_join(lines)).split())
    if text:
        yield Block(text, page=page.number, heading=headings.path, label=page.label)


def _join(lines: list[_Line]) -> str:
    """Lines of a paragraph as one text, words hyphenated across a line end mended."""
    text = lines[0].text
    for line in lines[1:]:
        if re.search(r"[a-z]-$", text) and line.text[:1].islower():
            text = text[:-1] + line.text
        else:
            text += " " + line.text
    return text
