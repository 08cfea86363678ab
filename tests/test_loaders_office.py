"""Loaders for slides, spreadsheets, e-books, e-mail, OpenDocument and RTF, on files made by
LibreOffice (and e-mail by Python's own MIME writer)."""

from __future__ import annotations

import csv
import io
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from ingest.errors import EmptyDocument, UnreadableFile, UnsupportedFile
from ingest.loaders import Block, Loaded, load
from ingest.loaders.sheets import MAX_ROWS
from tests.office_files import DECK, MANUAL, WORKBOOK, make, require_tools, soffice

pytestmark = pytest.mark.tools


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    require_tools()
    folder = tmp_path_factory.mktemp("office")
    files = make(folder, "manual.fodt", MANUAL, ["odt", "docx", "rtf", "epub"])
    files |= make(folder, "deck.fodp", DECK, ["pptx"])
    files |= make(folder, "census.fods", WORKBOOK, ["xlsx", "csv"])
    files |= make(folder, "tabbed.fods", WORKBOOK, ["tsv"])
    return files


def blocks_of(path: Path) -> Loaded:
    return load(path.name, path.read_bytes())


def texts(blocks: list[Block]) -> list[str]:
    return [b.text for b in blocks]


def test_odt_keeps_heading_levels_and_table_rows_with_their_columns(made: dict[str, Path]):
    blocks = blocks_of(made["odt"])
    by_text = {b.text: b for b in blocks}
    wiring = "Connect the brown wire to terminal L and the blue wire to terminal N."
    assert by_text[wiring].heading == "Installing the pump > Wiring"
    assert by_text["Part: Flange bolt | Torque: 42 Nm"].heading == "Installing the pump > Wiring"
    assert by_text["Check the inlet strainer monthly."].heading == "Maintenance"
    assert texts(blocks)[0] == "Installing the pump"


def test_rtf_reads_paragraphs_in_order_and_table_rows(made: dict[str, Path]):
    found = texts(blocks_of(made["rtf"]))
    assert found == [
        "Installing the pump",
        "Mount the heron pump on a level concrete base before wiring it.",
        "Wiring",
        "Connect the brown wire to terminal L and the blue wire to terminal N.",
        "Part: Flange bolt | Torque: 42 Nm",
        "Part: Impeller nut | Torque: 17 Nm",
        "Maintenance",
        "Replace the zircon seal every 900 hours of running.",
        "Check the inlet strainer monthly.",
    ]


def test_epub_reads_chapters_in_spine_order_under_their_toc_titles(made: dict[str, Path]):
    with zipfile.ZipFile(made["epub"]) as book:
        chapters = [n for n in book.namelist() if n.endswith(".xhtml") and "section" in n]
    assert len(chapters) == 2  # LibreOffice split the book at the page break
    blocks = blocks_of(made["epub"])
    heading = {b.text: b.heading for b in blocks}
    assert (
        heading["Mount the heron pump on a level concrete base before wiring it."]
        == "Installing the pump"
    )
    assert heading["Replace the zircon seal every 900 hours of running."] == "Maintenance"
    found = texts(blocks)
    assert found.index("Wiring") < found.index("Maintenance")


def test_pptx_slide_titles_are_headings_notes_and_tables_kept_page_is_slide(
    made: dict[str, Path],
):
    blocks = blocks_of(made["pptx"])
    assert [(b.page, b.heading, b.text) for b in blocks] == [
        (1, "Quarterly heron census", "Quarterly heron census"),
        (1, "Quarterly heron census", "Grey herons counted at the marsh rose to 312."),
        (1, "Quarterly heron census", "Purple herons stayed rare."),
        (1, "Quarterly heron census",
         "Speaker notes: Remind the board that the census ran in thick fog."),
        (2, "Counts by site", "Counts by site"),
        (2, "Counts by site", "Site: North lagoon | Herons: 187"),
        (2, "Counts by site", "Site: Reed bank | Herons: 125"),
    ]  # fmt: skip


def test_xlsx_rows_name_their_columns_under_the_sheet_name(made: dict[str, Path]):
    blocks = blocks_of(made["xlsx"])
    assert [(b.heading, b.text) for b in blocks] == [
        ("Counts", "Site: North lagoon | Species: Grey heron | Count: 187"),
        ("Counts", "Site: Reed bank | Species: Purple heron | Count: 3"),
        ("Counts", "Site: Café terrace, east | Species: Little egret | Count: 12.5"),
        ("Roster", "Name: Ines Okafor | Role: Warden"),
    ]


def test_csv_in_windows_1252_with_semicolons_reads_like_the_workbook(made: dict[str, Path]):
    data = made["csv"].read_bytes()
    assert b"Caf\xe9 terrace, east" in data and b";" in data  # what LibreOffice wrote
    assert texts(blocks_of(made["csv"])) == [
        "Site: North lagoon | Species: Grey heron | Count: 187",
        "Site: Reed bank | Species: Purple heron | Count: 3",
        "Site: Café terrace, east | Species: Little egret | Count: 12.5",
    ]


def test_tsv_in_utf8_reads_like_the_workbook(made: dict[str, Path]):
    assert b"\t" in made["tsv"].read_bytes()
    assert texts(blocks_of(made["tsv"]))[2] == (
        "Site: Café terrace, east | Species: Little egret | Count: 12.5"
    )


def test_a_csv_longer_than_the_row_limit_is_cut_with_a_note(tmp_path: Path):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["n", "square"])
    writer.writerows([i, i * i] for i in range(MAX_ROWS + 10))
    loaded = load("big.csv", out.getvalue().encode())
    assert len(loaded) == MAX_ROWS - 1  # the header is row 1
    assert loaded[-1].text == f"n: {MAX_ROWS - 2} | square: {(MAX_ROWS - 2) ** 2}"
    assert loaded.notes == [
        f"the file cut at row {MAX_ROWS:,}: ragd reads at most the {MAX_ROWS:,} rows of a "
        "spreadsheet"
    ]


def mail(html_only: bool = False) -> bytes:
    message = EmailMessage()
    message["From"] = "Ines Okafor <ines@marsh.example>"
    message["To"] = "wardens@marsh.example"
    message["Date"] = "Tue, 05 Mar 2024 09:12:00 +0000"
    message["Subject"] = "Census night moved"
    plain = "The heron census moves to Thursday.\n\nBring the thermal camera."
    html = "<html><body><h1>Change of plan</h1><p>The heron census moves to Friday.</p></body>"
    if html_only:
        message.set_content(html, subtype="html")
    else:
        message.set_content(plain)
        message.add_alternative(html, subtype="html")
        message.add_attachment(b"%PDF-1.4 ...", maintype="application", subtype="pdf",
                               filename="route-map.pdf")  # fmt: skip
    return message.as_bytes()


def test_eml_reads_headers_the_plain_body_and_lists_attachments():
    blocks = load("moved.eml", mail())
    assert blocks[0].text == (
        "From: Ines Okafor <ines@marsh.example>\nTo: wardens@marsh.example\n"
        "Date: Tue, 05 Mar 2024 09:12:00 +0000\nSubject: Census night moved"
    )
    assert texts(blocks)[1:] == [
        "The heron census moves to Thursday.",
        "Bring the thermal camera.",
        "Attachments: route-map.pdf",
    ]
    assert {b.heading for b in blocks} == {"Census night moved"}


def test_eml_with_only_html_reads_it_through_the_html_loader():
    blocks = load("moved.eml", mail(html_only=True))
    body = {b.text: b.heading for b in blocks[1:]}
    # the HTML loader carries headings in the path, not as paragraphs of their own
    assert body == {"The heron census moves to Friday.": "Census night moved > Change of plan"}


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("deck.pptx", b"PK\x03\x04 not really a zip", "not a valid PPTX file"),
        ("book.xlsx", b"plain text", "not a valid XLSX file"),
        ("book.epub", b"plain text", "not a valid EPUB file"),
        ("notes.rtf", b"plain text", "not an RTF file"),
        ("letter.eml", b"just a line of text\n", "not an e-mail message"),
    ],
)
def test_a_file_that_is_not_its_format_fails_with_a_clear_reason(name: str, data: bytes, says: str):
    with pytest.raises(UnreadableFile, match=says):
        load(name, data)


def test_an_epub_without_a_container_names_the_missing_part():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as book:
        book.writestr("mimetype", "application/epub+zip")
    with pytest.raises(UnreadableFile, match=r"it has no META-INF/container\.xml"):
        load("book.epub", buffer.getvalue())


def test_an_epub_zip_bomb_is_refused_before_inflating(tmp_path: Path):
    bomb = tmp_path / "bomb.epub"
    with (
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as book,
        book.open("OEBPS/huge.xhtml", "w") as member,
    ):
        for _ in range(520):
            member.write(bytes(1024 * 1024))
    assert bomb.stat().st_size < 2 * 1024 * 1024
    with pytest.raises(UnreadableFile, match="likely a zip bomb"):
        load("bomb.epub", bomb.read_bytes())


def test_an_odt_with_entity_expansion_is_refused():
    content = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><d>&b;</d>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as doc:
        doc.writestr("content.xml", content)
    with pytest.raises(UnreadableFile, match=r"refused content\.xml"):
        load("laughs.odt", buffer.getvalue())


def test_empty_and_unknown_files_still_say_why():
    with pytest.raises(EmptyDocument):
        load("empty.csv", b"   ")
    with pytest.raises(UnsupportedFile, match=r"\.pptx.*\.xlsx"):
        load("model.blend", b"data")


def test_docx_keeps_tables_in_place_with_rows_naming_their_columns(made: dict[str, Path]):
    blocks = blocks_of(made["docx"])
    found = texts(blocks)
    row = found.index("Part: Flange bolt | Torque: 42 Nm")
    assert found[row - 1] == "Connect the brown wire to terminal L and the blue wire to terminal N."
    assert found[row + 2] == "Maintenance"
    assert blocks[row].heading == "Installing the pump > Wiring"


def test_a_5000_row_xlsx_is_read_whole_with_no_cut(tmp_path: Path):
    """read_only openpyxl pads rows to the columns asked for: asking for the 500-column cap
    on a 3-column sheet once spent the cell budget by row 4,000."""
    source = tmp_path / "rows.csv"
    source.write_text("n,double,label\n" + "".join(f"{i},{2 * i},row {i}\n" for i in range(5000)))
    xlsx = soffice(source, "xlsx", tmp_path)
    loaded = blocks_of(xlsx)
    assert (len(loaded), loaded.notes) == (5000, [])
    assert loaded[-1].text == "n: 4999 | double: 9998 | label: row 4999"


def test_eml_lists_a_forwarded_message_as_an_attachment_without_reading_it():
    old = EmailMessage()
    old["From"], old["Subject"] = "ines@marsh.example", "Old thread"
    old.set_content("The secret landing spot is the north pier.")
    message = EmailMessage()
    message["From"], message["Subject"] = "warden@marsh.example", "Fwd: Old thread"
    message.set_content("See the thread below.")
    message.add_attachment(old, filename="old-thread.eml")
    found = texts(load("fwd.eml", message.as_bytes()))
    assert found[1:] == ["See the thread below.", "Attachments: old-thread.eml"]


def with_part(package: Path, part: str, content: bytes, out: Path) -> Path:
    """A copy of a LibreOffice-made package with one part replaced."""
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, content if item.filename == part else src.read(item.filename))
    return out


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "hahahahahahahahahaha">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
)


def test_an_xlsx_sheet_with_entity_expansion_is_refused(made: dict[str, Path], tmp_path: Path):
    sheet = (
        LAUGHS + b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
        b'main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&c;</t></is></c></row>'
        b"</sheetData></worksheet>"
    )
    bad = with_part(made["xlsx"], "xl/worksheets/sheet1.xml", sheet, tmp_path / "laughs.xlsx")
    with pytest.raises(UnreadableFile, match=r"could not read XLSX: .*\(EntitiesForbidden"):
        load("laughs.xlsx", bad.read_bytes())


def test_a_pptx_slide_with_an_external_entity_does_not_read_the_file(
    made: dict[str, Path], tmp_path: Path
):
    secret = tmp_path / "secret.txt"
    secret.write_text("the vault code is 8841")
    with zipfile.ZipFile(made["pptx"]) as deck:
        slide = deck.read("ppt/slides/slide1.xml")
    doctype = f'<!DOCTYPE p:sld [<!ENTITY x SYSTEM "file://{secret}">]>'.encode()
    start = slide.index(b"?>") + 2
    poisoned = (
        slide[:start]
        + doctype
        + slide[start:].replace(b"Purple herons stayed rare.", b"Purple herons stayed rare. &x;")
    )
    bad = with_part(made["pptx"], "ppt/slides/slide1.xml", poisoned, tmp_path / "xxe.pptx")
    try:
        found = " ".join(texts(load("xxe.pptx", bad.read_bytes())))
    except UnreadableFile:
        return  # refused outright: also safe
    assert "8841" not in found


def test_an_rtf_with_a_photo_reads_its_text_without_walking_the_picture(tmp_path: Path):
    """LibreOffice writes a photo as megabytes of hex; striprtf took 16 s over one of 18 MB."""
    import time

    from PIL import Image

    Image.effect_noise((1200, 900), 80).convert("RGB").save(tmp_path / "nest.png")
    page = tmp_path / "report.html"
    page.write_text(
        '<html><body><p>The heron nest is shown below.</p><img src="nest.png" width="600">'
        "<p>End of report.</p></body></html>"
    )
    rtf = soffice(soffice(page, "odt", tmp_path), "rtf", tmp_path)
    assert rtf.stat().st_size > 5_000_000
    start = time.perf_counter()
    found = texts(blocks_of(rtf))
    assert found == ["The heron nest is shown below.", "End of report."]
    assert time.perf_counter() - start < 5
