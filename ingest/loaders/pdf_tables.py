"""PDF tables found from the text's geometry, read back as rows of cells (PDFium).

A PDF keeps no table structure: a table is text set in columns. A line whose text runs in
pieces far apart (gaps wider than COLUMN_GAP times the font size) is a row; consecutive rows
whose first pieces line up make a table, ruled or not. The columns are the bands the rows'
pieces cover; each cell's text is read back from its band. A line set in one piece further
right than the first column continues the row above (a cell's text wrapped); a line set
across the columns just above the first row is the header.
"""

from __future__ import annotations

import ctypes
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ingest.loaders.tables import keyed_rows

COLUMN_GAP = 1.0  # justified prose stretches a space to ~0.9 em; table columns sit further apart
ROW_PITCH = 2.4  # rows (padded cells) follow at most this many font sizes apart
LINE_PITCH = 1.6  # a cell's wrapped lines follow at most this many font sizes apart
PREFILTER_GAP = 1.4  # of a box's height (glyph boxes: ~0.7 font size), so about one font size
SIDE_BY_SIDE = 6  # a cell beside a wrapped one comes within this many lines after it
PROSE_WORDS = 6  # a cell of this many words or more reads as a sentence
MIN_ROWS = 2  # a header and a row, or two rows
_LEADERS = (". . . .", "....")  # a table of contents' dot leaders: not a table
_HEADER_CELL = re.compile(r"^[\w .,/%()-]*$")
# a list item's bullet or number, set apart from its text like a first column
_LIST_MARKER = re.compile(r"^([^\w\s]|\d{1,3}[.)]|[a-zA-Z][.)]|[ivxIVX]{1,5}[.)])$")


@dataclass(frozen=True, order=True)
class Span:
    """A run of text on one line, in PDF coordinates (points, y up)."""

    left: float
    right: float
    bottom: float
    top: float


class TableLine(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def y(self) -> float: ...
    @property
    def size(self) -> float: ...
    @property
    def mono(self) -> bool: ...
    @property
    def spans(self) -> tuple[Span, ...]: ...


@dataclass
class Table:
    """A table's rows of cell texts, the lines it was read from, and where it starts."""

    y: float
    rows: list[list[str]]
    lines: set[int] = field(default_factory=set)


def row_texts(table: Table) -> Iterator[str]:
    """One text per row, each cell named by its column when the first row is a header."""
    if _is_header(table.rows[0], table.rows[1:]):
        yield from keyed_rows(table.rows)
    else:
        yield from (" | ".join(cell for cell in row if cell) for row in table.rows)


def _is_header(first: list[str], rest: list[list[str]]) -> bool:
    """Column names: a few plain words each, none recurring below in its column (a value
    that recurs, like a definition's category, makes the first row data)."""
    if not all(_HEADER_CELL.match(cell) and len(cell.split()) <= 4 for cell in first):
        return False
    return not any(row[n] == value and value for row in rest for n, value in enumerate(first))


def looks_tabular(textpage: Any) -> bool:
    """Whether two lines of the page or more have a gap as wide as a table's columns: one
    pass over PDFium's boxes in text order, that spares most pages the work per line."""
    raw, pdfium_c = textpage.raw, _pdfium()
    count = pdfium_c.FPDFText_CountRects(raw, 0, -1)
    left, top, right, bottom = (ctypes.c_double() for _ in range(4))
    wide: set[int] = set()
    before = (0.0, 0.0, 0.0)  # right, bottom, top of the box before
    for i in range(count):
        pdfium_c.FPDFText_GetRect(raw, i, left, top, right, bottom)
        height = top.value - bottom.value
        if abs(bottom.value - before[1]) < 0.3 * height and (
            left.value - before[0] >= PREFILTER_GAP * height
        ):
            wide.add(round(bottom.value))
            if len(wide) >= MIN_ROWS:
                return True
        before = (right.value, bottom.value, top.value)
    return False


def spans(textpage: Any, text: str, first: int, last: int, size: float) -> tuple[Span, ...]:
    """The line's text runs, joined where the gap between them is narrower than a column's;
    none for a list item (its marker is not a column)."""
    if last < first or _LIST_MARKER.match(text.split(None, 1)[0]):
        return ()
    gap = COLUMN_GAP * max(size, 4.0)
    rects = _rects(textpage, first, last)
    if not rects:
        return ()
    merged = [list(rects[0])]
    for left, right, bottom, top in rects[1:]:
        run = merged[-1]
        if left - run[1] < gap:
            run[1], run[2], run[3] = max(run[1], right), min(run[2], bottom), max(run[3], top)
        else:
            merged.append([left, right, bottom, top])
    return tuple(Span(*run) for run in merged)


def _rects(textpage: Any, first: int, last: int) -> list[tuple[float, float, float, float]]:
    """PDFium's boxes of the text from `first` to `last`, left to right: (l, r, b, t). Raw
    calls, reusing four doubles: this runs for every line of every page."""
    raw = textpage.raw
    count = _pdfium().FPDFText_CountRects(raw, first, last - first + 1)
    get_rect = _pdfium().FPDFText_GetRect
    left, top, right, bottom = (
        ctypes.c_double(),
        ctypes.c_double(),
        ctypes.c_double(),
        ctypes.c_double(),
    )
    rects = []
    for i in range(count):
        get_rect(raw, i, left, top, right, bottom)
        rects.append((left.value, right.value, bottom.value, top.value))
    return sorted(rects)


def _pdfium() -> Any:
    import pypdfium2.raw as pdfium_c

    return pdfium_c


def find_tables(lines: Sequence[TableLine], textpage: Any, width: float) -> list[Table]:
    """The tables among a page's lines, in reading order."""
    rows = _visual_lines(lines)
    tables: list[Table] = []
    i = 0
    while i < len(rows):
        found = _table_at(rows, i, textpage, width)
        if found:
            table, i = found
            tables.append(table)
        else:
            i += 1
    return tables


@dataclass(frozen=True)
class _Visual:
    """PDFium's lines that share a baseline, side by side: PDFium reads a table cell by cell,
    so a row whose first cell wraps comes as that cell's lines, then the next cell's."""

    text: str
    y: float
    size: float
    mono: bool
    spans: tuple[Span, ...]
    members: tuple[int, ...]


def _visual_lines(lines: Sequence[TableLine]) -> list[_Visual]:
    groups: list[list[int]] = []
    previous = float("-inf")
    for i, line in enumerate(lines):
        # back up (the next cell of a row whose cell wrapped), or on the same baseline
        # (PDFium splits a line at a wide enough gap)
        beside = _beside(lines, groups, line) if line.y < previous + 1.5 else None
        if beside is not None:
            beside.append(i)
        else:
            groups.append([i])
        previous = line.y
    return [_visual(lines, g) for g in groups]


def _beside(
    lines: Sequence[TableLine], groups: list[list[int]], line: TableLine
) -> list[int] | None:
    """The group of lines, among the last few, that `line` sits to the right of, on its baseline."""
    same = [g for g in groups[-SIDE_BY_SIDE:] if abs(lines[g[0]].y - line.y) < 1.5]
    return same[-1] if same and line.spans and _right_of(lines, same[-1], line) else None


def _right_of(lines: Sequence[TableLine], group: list[int], line: TableLine) -> bool:
    rights = [s.right for i in group for s in lines[i].spans]
    return bool(rights) and line.spans[0].left > max(rights)


def _visual(lines: Sequence[TableLine], group: list[int]) -> _Visual:
    first = lines[group[0]]
    if len(group) == 1:
        return _Visual(first.text, first.y, first.size, first.mono, first.spans, (group[0],))
    spans = tuple(sorted(s for i in group for s in lines[i].spans))
    text = " ".join(lines[i].text for i in group)
    mono = any(lines[i].mono for i in group)
    return _Visual(text, first.y, first.size, mono, spans, tuple(group))


def _is_row(line: TableLine) -> bool:
    return len(line.spans) >= 2 and not line.mono and not any(d in line.text for d in _LEADERS)


def _table_at(
    rows: list[_Visual], start: int, textpage: Any, width: float
) -> tuple[Table, int] | None:
    """The table whose first row is rows[start], if one starts there, and the index after it."""
    if not _is_row(rows[start]):
        return None
    members, bands = _members(rows, start)
    header = _header(rows, start, bands)
    if len(bands) < 2 or sum(_is_row(rows[i]) for i in members) + (header is not None) < MIN_ROWS:
        return None
    if not all(_one_span_per_band(rows[i], bands) for i in members):
        return None  # columns of a page layout, not of a table
    cells = _cells([rows[i] for i in members], bands, textpage, width)
    head = _cells([rows[header]], bands, textpage, width) if header is not None else None
    if cells is None or (head is None and len(cells) < MIN_ROWS) or _prose_columns(cells):
        return None
    if head is not None and header is not None:
        cells, members = head + cells, [header, *members]
    lines = {n for i in members for n in rows[i].members}
    return Table(rows[members[0]].y, cells, lines), members[-1] + 1


def _prose_columns(rows: list[list[str]]) -> bool:
    """Columns of running text side by side: most rows hold sentences in two cells or more."""
    wordy = sum(sum(len(cell.split()) >= PROSE_WORDS for cell in row) >= 2 for row in rows)
    return wordy * 2 >= len(rows)


def _one_span_per_band(line: TableLine, bands: list[list[float]]) -> bool:
    """A row has at most one run of text in each column."""
    if not _is_row(line):
        return True
    taken = [_band_of(span, bands) for span in line.spans]
    return len(set(taken)) == len(taken)


def _band_of(span: Span, bands: list[list[float]]) -> int:
    return max(
        range(len(bands)), key=lambda b: min(span.right, bands[b][1]) - max(span.left, bands[b][0])
    )


def _members(rows: list[_Visual], start: int) -> tuple[list[int], list[list[float]]]:
    """The lines of the table that starts at `start`, and its column bands [left, right]."""
    bands = [[s.left, s.right] for s in rows[start].spans]
    members = [start]
    for i in range(start + 1, len(rows)):
        line, above = rows[i], rows[i - 1]
        if not _follows(above, line, ROW_PITCH):
            break
        if _is_row(line) and _in_first_column(line.spans[0], bands):
            _widen(bands, line.spans)
        elif not _continues(above, line, bands):
            break
        members.append(i)
    return members, bands


def _follows(above: TableLine, line: TableLine, pitch: float) -> bool:
    gap = line.y - above.y
    return 0 < gap <= pitch * max(above.size, line.size) and abs(above.size - line.size) < 1.5


def _continues(above: TableLine, line: TableLine, bands: list[list[float]]) -> bool:
    """A line set close under a row, within one column: a cell's text wrapped."""
    if len(line.spans) != 1 or line.mono or not _follows(above, line, LINE_PITCH):
        return False
    span = line.spans[0]
    edges = [b[0] - 2 for b in bands] + [float("inf")]
    return any(a <= span.left and span.right <= b for a, b in itertools.pairwise(edges))


def _in_first_column(span: Span, bands: list[list[float]]) -> bool:
    return span.left < bands[0][1] and span.right > bands[0][0] - 2


def _widen(bands: list[list[float]], row: tuple[Span, ...]) -> None:
    """Grow the bands by a row's spans; a span beside every band is a new column."""
    for span in row:
        band = next((b for b in bands if span.left < b[1] and span.right > b[0]), None)
        if band:
            band[0], band[1] = min(band[0], span.left), max(band[1], span.right)
        else:
            bands.append([span.left, span.right])
    bands.sort()


def _header(rows: list[_Visual], start: int, bands: list[list[float]]) -> int | None:
    """The line just above the first row when it is set across the columns (a header whose
    names sit closer together than the columns' widest cells)."""
    if start == 0 or len(bands) < 2:
        return None
    line = rows[start - 1]
    if len(line.spans) != 1 or line.mono or not _follows(line, rows[start], ROW_PITCH):
        return None
    span = line.spans[0]
    across = bands[1][0] + line.size < span.right < bands[-1][1] + line.size
    fits = _in_first_column(span, bands) and across
    return start - 1 if fits else None


def _cells(
    lines: list[_Visual], bands: list[list[float]], textpage: Any, width: float
) -> list[list[str]] | None:
    """Each row's cell texts; a continuation line's text joins the row above. None where a
    column's edge cuts through a word: prose, not a table."""
    rows: list[list[str]] = []
    for n, line in enumerate(lines):
        cells = list(_read_cells(line, bands, textpage, width))
        if " ".join(cells).split() != line.text.split():
            return None
        if n and not _is_row(line):
            rows[-1] = [" ".join(f"{a} {b}".split()) for a, b in zip(rows[-1], cells, strict=True)]
        else:
            rows.append(cells)
    return rows


def _read_cells(
    line: TableLine, bands: list[list[float]], textpage: Any, width: float
) -> Iterator[str]:
    """The text of the line within each band: from the band's left edge to the next one's."""
    bottom = min(s.bottom for s in line.spans)
    top = max(s.top for s in line.spans)
    edges = [0.0] + [b[0] - 1 for b in bands[1:]] + [width]
    for left, right in itertools.pairwise(edges):
        text = textpage.get_text_bounded(left=left, bottom=bottom, right=right, top=top)
        yield " ".join(str(text).split())
