"""OCR with tesseract (pytesseract): images, and the PDF pages that have no text layer
(rendered with pypdfium2). The only module that imports them; the cost is bounded per file
(pixels per image, pages, seconds) and reported (context.ocr_page_done, context.note)."""

from __future__ import annotations

import functools
import io
import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ingest.errors import EmptyDocument, UnreadableFile
from ingest.loaders.blocks import Block
from ingest.loaders.context import note, ocr_page_done, options, seconds_left
from ingest.normalize import paragraphs

RENDER_DPI = 300  # what tesseract reads best; a dense A4 page takes about 2 s here
MAX_PIXELS = 40_000_000  # per image or rendered page: a 600-dpi A4 scan is 35 MP
LANGUAGE = "eng"
IMAGE_FORMATS = ("PNG", "JPEG", "TIFF")  # the decoders PIL may use on a file
INSTALL = "apt-get install tesseract-ocr tesseract-ocr-eng"


def load_image(data: bytes) -> Iterator[Block]:
    """An image's text by OCR; each frame of a multi-page TIFF is a page."""
    image = _open_image(data)
    _require_ocr("an image's text can only be read by OCR")
    frames = getattr(image, "n_frames", 1)
    for number in _budgeted(range(1, frames + 1), frames, "frames"):
        image.seek(number - 1)
        text = ocr_image(_checked(image))
        for para in paragraphs(text):
            yield Block(para, page=number if frames > 1 else None)


def fill_scanned_pages(data: bytes, pages: Sequence[tuple[int, str]]) -> list[tuple[int, str]]:
    """PDF pages as (number, text), the pages with no text layer read by OCR where it is on."""
    missing = [n for n, text in pages if not _has_text(text)]
    texts = ocr_pdf_pages(data, missing, whole=len(missing) == len(pages)) if missing else {}
    return [(n, texts.get(n, text)) for n, text in pages]


def ocr_pdf_pages(data: bytes, numbers: Sequence[int], whole: bool = False) -> dict[int, str]:
    """The OCR text of the given PDF pages (1-based). Where OCR is off or missing: an
    EmptyDocument (skipped) when `whole` (no page has text), else a note and no text."""
    reason = unavailable()
    if reason is not None:
        if whole:
            raise EmptyDocument(f"a scanned PDF (no text layer) needs OCR, but {reason}")
        note(f"{len(numbers)} pages without a text layer were not read: {reason}")
        return {}
    import pypdfium2

    pdf = _open_pdf(pypdfium2, data)
    try:
        return {n: ocr_image(_render(pdf, n)) for n in _budgeted(numbers, len(numbers), "pages")}
    finally:
        pdf.close()


def ocr_image(image: Any) -> str:
    """The text tesseract reads in a PIL image (within this file's OCR time)."""
    import pytesseract

    # Parse workers already run side by side: tesseract's own threads would only contend.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        text = pytesseract.image_to_string(
            _plain(image), lang=LANGUAGE, timeout=max(1.0, seconds_left())
        )
    except RuntimeError:  # pytesseract's timeout: the file's OCR time is spent
        return ""
    except pytesseract.TesseractError as exc:
        note(f"OCR failed on a page: {exc.message}")
        return ""
    ocr_page_done()
    return str(text)


def unavailable() -> str | None:
    """Why OCR cannot run now (off by setting, tesseract missing), or None."""
    if options().ocr == "off":
        return "OCR is off (RAGD_OCR=off)"
    return _tesseract_missing()


@functools.cache
def _tesseract_missing() -> str | None:
    import pytesseract

    try:
        languages = pytesseract.get_languages(config="")
    except (pytesseract.TesseractNotFoundError, pytesseract.TesseractError, OSError):
        return f"tesseract is not installed ({INSTALL})"
    if LANGUAGE not in languages:
        return f"tesseract has no English data ({INSTALL})"
    return None


def _budgeted(numbers: Iterable[int], total: int, what: str) -> Iterator[int]:
    """Pages (or frames) while the page and time budgets last; a cut is noted."""
    limit = options().ocr_max_pages
    for done, number in enumerate(numbers):
        if done >= limit:
            note(f"OCR read {done} of {total} {what}: at most {limit} (RAGD_OCR_MAX_PAGES)")
            return
        if seconds_left() <= 0:
            note(
                f"OCR stopped after {done} of {total} {what}: out of time "
                "(it gets most of RAGD_PARSE_TIMEOUT_SECONDS)"
            )
            return
        yield number


def _require_ocr(why: str) -> None:
    reason = unavailable()
    if reason is not None:
        raise EmptyDocument(f"{why}, but {reason}")


def _open_image(data: bytes) -> Any:
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # PIL refuses twice this before decoding anything
    try:
        with warnings.catch_warnings():  # between once and twice the limit: _checked refuses
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
    except Image.DecompressionBombError as exc:
        raise UnreadableFile(f"image too large: {exc}") from None
    except UnidentifiedImageError:
        raise UnreadableFile("not a PNG, JPEG or TIFF image, or a damaged one") from None
    except (OSError, ValueError) as exc:
        raise UnreadableFile(f"could not read the image: {exc}") from None


def _checked(image: Any) -> Any:
    """The image, if its pixels fit the limit; decoded only after this check."""
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise UnreadableFile(
            f"image is {width}x{height} pixels ({width * height / 1e6:.0f} MP), more than the "
            f"{MAX_PIXELS / 1e6:.0f} MP ragd reads by OCR"
        )
    return image


def _plain(image: Any) -> Any:
    """Gray or RGB pixels for tesseract; transparency over white, as a viewer shows it."""
    from PIL import Image

    if image.mode in ("L", "RGB"):
        return image
    if "A" in image.getbands() or "transparency" in image.info:
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("L")
    return image.convert("L")


def _open_pdf(pypdfium2: Any, data: bytes) -> Any:
    try:
        return pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        raise UnreadableFile(f"could not render the PDF for OCR: {exc}") from None


def _render(pdf: Any, number: int) -> Any:
    """A page as a grayscale image at RENDER_DPI, or less where that would pass MAX_PIXELS."""
    page = pdf[number - 1]
    try:
        width, height = page.get_size()  # in points, 1/72 inch
        scale = min(RENDER_DPI / 72, (MAX_PIXELS / max(1.0, width * height)) ** 0.5)
        return page.render(scale=scale, grayscale=True).to_pil()
    finally:
        page.close()


def _has_text(text: str) -> bool:
    return any(ch.isalnum() for ch in text)
