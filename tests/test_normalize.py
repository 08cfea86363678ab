"""Decoding file bytes: text stays text whatever its first letters; binary is refused."""

import pytest

from ingest.errors import UnreadableFile
from ingest.normalize import decode

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"


@pytest.mark.parametrize(
    "text",
    [
        "BMI and mortality in 1.2 million adults.",  # "BM" is a bitmap's signature
        "MZ-type mutations in yeast.",  # "MZ" an executable's
        "ID3 tags are metadata.",  # "ID3" an MP3's
    ],
)
def test_plain_text_starting_like_a_binary_signature_is_text(text: str):
    assert decode(text.encode()) == text


def test_a_png_is_refused_with_its_kind():
    with pytest.raises(UnreadableFile, match=r"image/png.*\.png"):
        decode(PNG)


def test_a_pdf_saved_as_text_is_refused_even_when_its_bytes_are_ascii():
    with pytest.raises(UnreadableFile, match="application/pdf"):
        decode(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")


def test_latin1_text_is_decoded():
    assert decode("Café crème brûlée, à la carte.".encode("cp1252")) == (
        "Café crème brûlée, à la carte."
    )
