"""What is and is not a PDF table, on PDFs written by fpdf2 (fast, no LibreOffice): columns of
cells are rows; two columns of prose, a numbered list and a table of contents are not."""

from __future__ import annotations

import textwrap

from fpdf import FPDF

from ingest.loaders import load

PROSE = (
    "The pump draws water from the well and lifts it to the tank on the roof. It runs "
    "whenever the float switch drops, and stops when the tank is full again. "
) * 3


def pdf_of(draw) -> list[str]:
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    draw(pdf)
    return [b.text for b in load("page.pdf", bytes(pdf.output()))]


def row(pdf: FPDF, *cells: str, widths: tuple[float, ...] = (40, 30, 100)) -> None:
    for text, width in zip(cells, widths, strict=True):
        pdf.cell(width, 6, text)
    pdf.ln(6)


def test_cells_set_in_columns_are_rows_named_by_the_header():
    def draw(pdf: FPDF) -> None:
        pdf.multi_cell(0, 5, PROSE, align="J")
        pdf.ln(4)
        row(pdf, "Setting", "Default", "Meaning")
        row(pdf, "timeout", "30 s", "How long a request may wait")
        row(pdf, "retries", "4", "How often a failed call is tried again")
        pdf.ln(4)
        pdf.multi_cell(0, 5, PROSE, align="J")

    texts = pdf_of(draw)
    assert "Setting: timeout | Default: 30 s | Meaning: How long a request may wait" in texts
    assert "Setting: retries | Default: 4 | Meaning: How often a failed call is tried again" in (
        texts
    )
    assert sum(t.startswith("The pump draws water") for t in texts) == 2  # prose untouched


def test_two_columns_of_prose_are_not_a_table():
    """Set line by line across both columns, as some writers do: each line reads as a row of
    two cells, but cells of sentences in every row are columns of prose."""
    left = textwrap.wrap(PROSE, 48)
    right = textwrap.wrap(PROSE.replace("pump", "fan"), 48)

    def draw(pdf: FPDF) -> None:
        for a, b in zip(left, right, strict=False):
            row(pdf, a, b, widths=(95, 95))

    texts = pdf_of(draw)
    assert texts and not any(" | " in t for t in texts)


def test_a_numbered_list_and_a_table_of_contents_are_not_tables():
    def draw(pdf: FPDF) -> None:
        for n, step in enumerate(("Close the valve.", "Drain the tank.", "Open the lid."), 1):
            row(pdf, f"{n}.", step, "", widths=(20, 80, 10))
        pdf.ln(6)
        for title, page in (("Installing", "3"), ("Wiring", "7"), ("Maintenance", "12")):
            row(pdf, f"{title} " + ". " * 10, page, "", widths=(120, 20, 10))

    texts = pdf_of(draw)
    assert not any(" | " in t for t in texts), texts
    assert any("Drain the tank." in t for t in texts)


def test_a_page_that_is_all_table_is_read_as_rows_not_sent_to_ocr():
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    row(pdf, "Part", "Torque", "Tool")
    row(pdf, "Flange bolt", "42 Nm", "17 mm socket")
    row(pdf, "Impeller nut", "17 Nm", "13 mm spanner")
    loaded = load("torques.pdf", bytes(pdf.output()))
    assert loaded.ocr_pages == 0
    assert [b.text for b in loaded] == [
        "Part: Flange bolt | Torque: 42 Nm | Tool: 17 mm socket",
        "Part: Impeller nut | Torque: 17 Nm | Tool: 13 mm spanner",
    ]
