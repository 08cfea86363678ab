"""OCR with the real tesseract: a scanned PDF (pages rendered by pdftoppm, put back together as
an image-only PDF), a PNG, a multi-page TIFF; the limits and the OCR-off setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from ingest.errors import EmptyDocument, UnreadableFile
from ingest.loaders import LoadOptions, load
from ingest.loaders.ocr import MAX_PIXELS
from ingest.sandbox import ParseLimits, Sandbox
from tests.office_files import MANUAL, image_only_pdf, make, page_images, require_tools

pytestmark = pytest.mark.tools


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The two-page manual as LibreOffice prints it, its pages as PNGs, and as a scan."""
    require_tools()
    folder = tmp_path_factory.mktemp("scans")
    pdf = make(folder, "manual.fodt", MANUAL, ["pdf"])["pdf"]
    pngs = page_images(pdf, folder)
    return {
        "pdf": pdf,
        "png1": pngs[0],
        "png2": pngs[1],
        "scan": image_only_pdf(pngs, folder / "scan.pdf"),
    }


def joined(blocks: list) -> str:
    return " ".join(b.text for b in blocks)


def test_a_scanned_pdf_is_read_by_ocr_page_by_page(scans: dict[str, Path]):
    assert load("manual.pdf", scans["pdf"].read_bytes()).ocr_pages == 0  # has a text layer
    loaded = load("scan.pdf", scans["scan"].read_bytes())
    assert loaded.ocr_pages == 2
    by_page = {p: joined([b for b in loaded if b.page == p]) for p in (1, 2)}
    assert "heron pump on a level concrete base" in by_page[1]
    assert "Flange bolt 42 Nm" in by_page[1]
    assert "zircon seal every 900 hours" in by_page[2]


def test_only_the_pages_without_a_text_layer_are_ocrd(scans: dict[str, Path], tmp_path: Path):
    from pypdf import PdfReader, PdfWriter

    mixed = PdfWriter()
    mixed.add_page(PdfReader(scans["pdf"]).pages[0])  # text layer
    mixed.add_page(PdfReader(scans["scan"]).pages[1])  # image only
    path = tmp_path / "mixed.pdf"
    mixed.write(path)
    loaded = load("mixed.pdf", path.read_bytes())
    assert loaded.ocr_pages == 1
    assert "zircon seal every 900 hours" in joined([b for b in loaded if b.page == 2])


def test_a_png_is_read_by_ocr(scans: dict[str, Path]):
    loaded = load("page.png", scans["png1"].read_bytes())
    assert loaded.ocr_pages == 1
    assert "brown wire to terminal L" in joined(loaded)
    assert {b.page for b in loaded} == {None}


def test_a_transparent_png_is_read_as_dark_text_on_white(scans: dict[str, Path], tmp_path: Path):
    gray = Image.open(scans["png2"]).convert("L")
    # Black text whose background is fully transparent black: flattened naively, all black.
    transparent = Image.new("RGBA", gray.size, (0, 0, 0, 0))
    transparent.putalpha(gray.point(lambda v: 255 - v))
    path = tmp_path / "overlay.png"
    transparent.save(path)
    assert "zircon seal" in joined(load("overlay.png", path.read_bytes()))


def test_each_frame_of_a_tiff_is_a_page(scans: dict[str, Path], tmp_path: Path):
    frames = [Image.open(scans[k]).convert("L") for k in ("png1", "png2")]
    path = tmp_path / "fax.tiff"
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="tiff_deflate")
    loaded = load("fax.tiff", path.read_bytes())
    assert loaded.ocr_pages == 2
    assert "zircon seal" in joined([b for b in loaded if b.page == 2])


def test_ocr_off_skips_a_scan_and_an_image_saying_why(scans: dict[str, Path]):
    off = LoadOptions(ocr="off")
    with pytest.raises(EmptyDocument, match=r"needs OCR, but OCR is off \(RAGD_OCR=off\)"):
        load("scan.pdf", scans["scan"].read_bytes(), off)
    with pytest.raises(EmptyDocument, match=r"OCR is off \(RAGD_OCR=off\)"):
        load("page.png", scans["png1"].read_bytes(), off)


def test_pages_past_the_ocr_page_limit_are_left_with_a_note(scans: dict[str, Path]):
    loaded = load("scan.pdf", scans["scan"].read_bytes(), LoadOptions(ocr_max_pages=1))
    assert loaded.ocr_pages == 1
    assert {b.page for b in loaded} == {1}
    assert loaded.notes == ["OCR read 1 of 2 pages: at most 1 (RAGD_OCR_MAX_PAGES)"]


def test_ocr_out_of_time_skips_the_scan_saying_so(scans: dict[str, Path]):
    with pytest.raises(EmptyDocument, match="OCR stopped after 0 of 2 pages: out of time"):
        load("scan.pdf", scans["scan"].read_bytes(), LoadOptions(ocr_seconds=0))


def test_an_image_over_the_pixel_limit_is_refused_before_decoding(tmp_path: Path):
    side = int(MAX_PIXELS**0.5) + 100
    path = tmp_path / "huge.png"
    Image.new("1", (side, side), 1).save(path)  # a few kB on disk
    assert path.stat().st_size < 1_000_000
    with pytest.raises(UnreadableFile, match="MP ragd reads by OCR"):
        load("huge.png", path.read_bytes())


def test_a_decompression_bomb_image_is_refused_by_pillow(tmp_path: Path):
    path = tmp_path / "bomb.png"
    Image.new("1", (15_000, 15_000), 1).save(path)  # 225 MP: over twice the limit
    with pytest.raises(UnreadableFile, match="image too large"):
        load("bomb.png", path.read_bytes())


def test_a_broken_or_mislabelled_image_fails_saying_so():
    with pytest.raises(UnreadableFile, match="could not read the image: Truncated"):
        load("photo.jpg", b"\xff\xd8\xff\xe0 a JPEG cut short")
    with pytest.raises(UnreadableFile, match="not a PNG, JPEG or TIFF image, or a damaged one"):
        load("photo.jpg", b"GIF89a" * 9)


def test_ocr_runs_inside_the_sandbox_and_reports_its_pages(scans: dict[str, Path]):
    sandbox = Sandbox(ParseLimits(workers=1))
    try:
        loaded = sandbox.parse("scan.pdf", scans["scan"].read_bytes())
    finally:
        sandbox.close()
    assert loaded.ocr_pages == 2 and loaded.notes == []
    assert "zircon seal" in joined(loaded)
