"""Tables in PDFs read back as rows that name their columns: PDFs printed by LibreOffice from a
document with a borderless table and one with ruled cells and a wrapped cell; prose and lists
around them stay paragraphs; a scan of the same page still goes through OCR."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders import load
from tests.office_files import _NS, image_only_pdf, make, page_images, require_tools

pytestmark = pytest.mark.tools


def _cell(text: str, style: str) -> str:
    return (
        f'<table:table-cell table:style-name="{style}" office:value-type="string">'
        f"<text:p>{text}</text:p></table:table-cell>"
    )


def _table(rows: list[tuple[str, ...]], style: str) -> str:
    body = "".join(
        "<table:table-row>" + "".join(_cell(c, style) for c in row) + "</table:table-row>"
        for row in rows
    )
    columns = f'<table:table-column table:number-columns-repeated="{len(rows[0])}"/>'
    return f"<table:table>{columns}{body}</table:table>"


OPTIONS = [
    ("Option", "Default", "Meaning"),
    ("timeout", "30 s", "How long a request may wait"),
    ("retries", "4", "How often a failed call is tried again"),
    ("cache size", "256 MB", "Memory kept for parsed pages"),
]
LIMITS = [
    ("Limit", "Value"),
    ("Upload size", "64 MB"),
    (
        "Pages per document, counted after the cover and the table of contents are set "
        "aside by the reader",
        "5000",
    ),
    ("Files per folder", "20000"),
]

SETTINGS = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document {_NS} office:mimetype="application/vnd.oasis.opendocument.text">
 <office:automatic-styles>
  <style:style style:name="Plain" style:family="table-cell"/>
  <style:style style:name="Ruled" style:family="table-cell">
   <style:table-cell-properties fo:border="0.5pt solid #000000" fo:padding="0.1cm"/></style:style>
 </office:automatic-styles>
 <office:body><office:text>
  <text:p>The service reads its settings at start. Each setting has a default that suits a
   small machine; the table below lists them.</text:p>
  {_table(OPTIONS, "Plain")}
  <text:p>Limits protect the machine from oversized uploads.</text:p>
  {_table(LIMITS, "Ruled")}
  <text:list><text:list-item><text:p>Restart the service after a change.</text:p>
  </text:list-item><text:list-item><text:p>Check the log for warnings.</text:p>
  </text:list-item></text:list>
 </office:text></office:body>
</office:document>
"""


@pytest.fixture(scope="module")
def settings_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tools()
    return make(tmp_path_factory.mktemp("tables"), "settings.fodt", SETTINGS, ["pdf"])["pdf"]


@pytest.fixture(scope="module")
def texts(settings_pdf: Path) -> list[str]:
    return [b.text for b in load("settings.pdf", settings_pdf.read_bytes())]


def test_a_borderless_table_row_comes_out_whole_with_its_column_names(texts: list[str]):
    assert "Option: timeout | Default: 30 s | Meaning: How long a request may wait" in texts
    assert "Option: retries | Default: 4 | Meaning: How often a failed call is tried again" in (
        texts
    )
    assert "Option: cache size | Default: 256 MB | Meaning: Memory kept for parsed pages" in (texts)


def test_a_ruled_table_row_with_a_wrapped_cell_is_one_row(texts: list[str]):
    assert "Limit: Upload size | Value: 64 MB" in texts
    wrapped = next(t for t in texts if "Pages per document" in t)
    assert wrapped == (
        "Limit: Pages per document, counted after the cover and the table of contents are set "
        "aside by the reader | Value: 5000"
    )
    assert "Limit: Files per folder | Value: 20000" in texts


def test_prose_and_list_items_around_tables_stay_paragraphs(texts: list[str]):
    assert any(t.startswith("The service reads its settings at start.") for t in texts)
    assert "Limits protect the machine from oversized uploads." in texts
    listed = [t for t in texts if "Restart the service" in t or "Check the log" in t]
    assert listed and not any(":" in t or "|" in t for t in listed)


def test_a_scan_of_the_table_page_is_still_read_by_ocr(settings_pdf: Path, tmp_path: Path):
    scan = image_only_pdf(page_images(settings_pdf, tmp_path), tmp_path / "scan.pdf")
    loaded = load("scan.pdf", scan.read_bytes())
    assert loaded.ocr_pages == 1
    words = " ".join(b.text for b in loaded)
    assert "timeout" in words and "Upload size" in words
