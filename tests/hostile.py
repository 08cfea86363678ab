"""Hostile and awkward documents, built in memory for the security tests."""

from __future__ import annotations

import io
import random
import zipfile
import zlib
from functools import cache
from pathlib import Path

from fpdf import FPDF

SECRET = "TOPSECRET-7f3a9c"  # the content of a file no document may pull into the index


def pdf(text: str = "A normal PDF about the quarterly budget.") -> bytes:
    doc = FPDF()
    doc.add_page()
    doc.set_font("Helvetica", size=12)
    doc.multi_cell(0, 8, text)
    return bytes(doc.output())


def truncated_pdf() -> bytes:
    data = pdf("This PDF was cut in half during the download. " * 40)
    return data[: len(data) // 3]


def encrypted_pdf() -> bytes:
    doc = FPDF()
    doc.set_encryption(owner_password="owner-pw", user_password="user-pw")
    doc.add_page()
    doc.set_font("Helvetica", size=12)
    doc.cell(0, 8, "Confidential: only readable with the password.")
    return bytes(doc.output())


def image_only_pdf() -> bytes:
    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(picture, format="PNG")
    doc = FPDF()
    doc.add_page()
    doc.image(io.BytesIO(picture.getvalue()), x=10, y=10, w=100)
    return bytes(doc.output())


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="PNG")
    return out.getvalue()


def random_bytes(size: int = 20_000) -> bytes:
    rng = random.Random(7)
    return bytes(rng.randrange(1, 256) for _ in range(size))  # no NUL byte to give it away


def elf() -> bytes:
    return Path("/bin/true").read_bytes()[:16384]


@cache
def pdf_flate_bomb(expanded_mb: int = 400) -> bytes:
    """A one-page PDF whose content stream inflates from ~0.4 MB to `expanded_mb` MB."""
    squeeze = zlib.compressobj(9)
    line = b"BT /F1 12 Tf 72 720 Td (bomb) Tj ET\n" * 28000  # ~1 MB of drawing operators
    stream = b"".join(squeeze.compress(line) for _ in range(expanded_mb)) + squeeze.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return _pdf_file(objects)


def _pdf_file(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@cache
def docx(text: str = "A normal Word document about the holiday rota.") -> bytes:
    import docx as python_docx

    document = python_docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def docx_with_body(body_xml: str, doctype: str = "") -> bytes:
    """A real DOCX whose word/document.xml is replaced: the DOCTYPE carries the attack."""
    source = zipfile.ZipFile(io.BytesIO(docx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                data = _document_xml(body_xml, doctype).encode()
            package.writestr(item, data)
    return out.getvalue()


def _document_xml(body: str, doctype: str) -> str:
    ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n{doctype}'
        f'<w:document xmlns:w="{ns}"><w:body>{body}</w:body></w:document>'
    )


def paragraph(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def xxe_docx(secret_file: Path, with_text: bool = False) -> bytes:
    doctype = f'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file://{secret_file}">]>\n'
    body = paragraph("&xxe;") + (paragraph("The rota starts on Monday.") if with_text else "")
    return docx_with_body(body, doctype)


def billion_laughs_docx() -> bytes:
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)
    )
    return docx_with_body(paragraph("&lol9;"), f"<!DOCTYPE w:document [{entities}]>\n")


@cache
def zip_bomb_docx(expanded_mb: int = 600) -> bytes:
    """A DOCX whose document.xml inflates to `expanded_mb` MB of spaces."""
    out = io.BytesIO()
    source = zipfile.ZipFile(io.BytesIO(docx()))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as package:
        for item in source.infolist():
            if item.filename != "word/document.xml":
                package.writestr(item, source.read(item.filename))
        with package.open("word/document.xml", "w", force_zip64=True) as part:
            chunk = b" " * (1024 * 1024)
            for _ in range(expanded_mb):
                part.write(chunk)
    return out.getvalue()


def corrupt_docx() -> bytes:
    return b"PK\x03\x04" + random_bytes(4000)


def xxe_html(secret_file: Path) -> bytes:
    return (
        f'<!DOCTYPE html [<!ENTITY xxe SYSTEM "file://{secret_file}">]>'
        "<html><body><h1>Office</h1><p>&xxe;</p><p>The office opens at nine.</p></body></html>"
    ).encode()
