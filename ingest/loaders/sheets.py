"""Spreadsheets (.xlsx) and delimited text (.csv, .tsv): one block per row, each row naming
its columns from the header row, the sheet's name as heading; big sheets are cut, with a note."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from ingest.errors import IngestError, UnreadableFile
from ingest.loaders.blocks import Block
from ingest.loaders.context import note
from ingest.loaders.package import check_package
from ingest.loaders.tables import keyed_rows
from ingest.normalize import decode

MAX_ROWS = 100_000  # rows read per sheet (or CSV file)
MAX_CELLS = 2_000_000  # cells read per workbook: bounds time and memory, whatever the shape
MAX_COLUMNS = 500  # columns read per row; a sheet may declare 16,384
_DELIMITERS = ",;\t|"


@dataclass
class _Budget:
    """Cells left to read in this file."""

    cells: int = MAX_CELLS


def load_xlsx(data: bytes) -> Iterator[Block]:
    import openpyxl  # parses with defusedxml when it is installed (it is: a ragd dependency)

    check_package(data, "XLSX")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zip, XML and workbook errors alike
        raise UnreadableFile(f"could not read XLSX: {_why(exc)}") from None
    budget = _Budget()
    try:
        for sheet in book.worksheets:  # sheets are parsed as they are read: errors come here
            declared = sheet.max_column or MAX_COLUMNS  # from the sheet's dimension, if any
            _note_wide(f"sheet {sheet.title!r}", declared)
            # read_only pads every row to max_col: never past what the sheet declares.
            rows = sheet.iter_rows(values_only=True, max_col=min(declared, MAX_COLUMNS))
            yield from _table(f"sheet {sheet.title!r}", sheet.title, rows, budget)
    except IngestError:
        raise
    except Exception as exc:  # defusedxml's refusals, XML and value errors alike
        raise UnreadableFile(f"could not read XLSX: {_why(exc)}") from None
    finally:
        book.close()


def load_csv(data: bytes) -> Iterator[Block]:
    text = decode(data)  # UTF-8, a BOM's encoding, or the one charset-normalizer detects
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text[:65536]))
    try:
        yield from _table("the file", None, reader, _Budget())
    except csv.Error as exc:
        raise UnreadableFile(f"could not read CSV at line {reader.line_num}: {exc}") from None


def _why(exc: BaseException) -> str:
    """openpyxl's message, and the error under it (e.g. defusedxml's EntitiesForbidden)."""
    cause = exc.__cause__ or exc.__context__
    under = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}{under}"


def _dialect(sample: str) -> type[csv.Dialect]:
    """The delimiter and quoting the sample uses; plain commas when it cannot tell."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
    except csv.Error:
        return csv.excel


def _table(
    what: str, heading: str | None, rows: Iterable[Sequence[object]], budget: _Budget
) -> Iterator[Block]:
    for text in keyed_rows(_bounded(what, rows, budget)):
        yield Block(text, heading=heading)


def _bounded(what: str, rows: Iterable[Sequence[object]], budget: _Budget) -> Iterator[list[str]]:
    """Rows as text, until the row or cell budget runs out (which is noted, not silent)."""
    for number, row in enumerate(rows, start=1):
        if number > MAX_ROWS or budget.cells <= 0:
            limit = f"the {MAX_ROWS:,} rows" if number > MAX_ROWS else f"the {MAX_CELLS:,} cells"
            note(f"{what} cut at row {number - 1:,}: ragd reads at most {limit} of a spreadsheet")
            return
        _note_wide(what, len(row))
        cells = [_text(value) for value in row[:MAX_COLUMNS]]
        budget.cells -= max(1, len(cells))
        yield cells


def _note_wide(what: str, columns: int) -> None:
    if columns > MAX_COLUMNS:
        note(f"{what}: only the first {MAX_COLUMNS} of its {columns:,} columns were read")


def _text(value: object) -> str:
    """A cell as people read it: 42 not 42.0, dates without a midnight time."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)
