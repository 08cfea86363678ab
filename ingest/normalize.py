"""Text normalization: decoding bytes, Unicode NFKC, control characters, whitespace, paragraphs."""

from __future__ import annotations

import re
import unicodedata

import regex

from ingest.errors import UnreadableFile

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\ufeff]")
_HYPHEN_BREAK = re.compile(r"(\w)-\n(\w)")
_SPACES = re.compile(r"[ \t\u00a0]{2,}|[\t\u00a0]")  # single spaces stay: no work on them
_PARAGRAPH = re.compile(r"\n\s*\n")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
SNIFF_BYTES = 8192
_BINARY_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f]")  # ESC (\x1b) is ANSI colour
# Combining marks and format characters (zero-width, joiners, bidi controls) count as no
# embedder token: unbounded runs of them would let a short chunk hold megabytes. Real text
# stacks a few at most (Vietnamese two, Hebrew with cantillation four).
MAX_INVISIBLE_RUN = 4
_INVISIBLE_RUN = regex.compile(r"[\p{Mn}\p{Me}\p{Cf}]{" + str(MAX_INVISIBLE_RUN + 1) + ",}")
# A heading path ("Guide > Setup > Linux") is stored with every chunk under it: bounded.
MAX_HEADING_DEPTH = 6  # the innermost levels are kept
MAX_HEADING_PART = 120  # characters of one level
MAX_HEADING_CHARS = 256  # the whole path: outer levels go first
HEADING_SEPARATOR = " > "


def decode(data: bytes) -> str:
    """Bytes to text: UTF-8 (or a BOM's encoding), else the encoding charset-normalizer
    detects; refuses binary content (a known binary format, or no plausible encoding)."""
    if data.startswith(_BOMS):
        return _detected(data)
    text = _plain_utf8(data)
    if text is not None:
        return text
    refuse_binary(data)
    return _detected(data)


def refuse_binary(data: bytes) -> None:
    """Raise UnreadableFile when the bytes start like a known binary format (PNG, ZIP, PDF...)
    and are not plain text: some signatures are two letters ("BM" is a bitmap)."""
    import filetype

    kind = filetype.guess(data[:SNIFF_BYTES])
    if kind is not None and (kind.mime == "application/pdf" or _plain_utf8(data) is None):
        raise UnreadableFile(
            f"binary content ({kind.mime}), not text: if it is a .{kind.extension} file, "
            "give it that name"
        )


def _plain_utf8(data: bytes) -> str | None:
    """The text when the bytes are UTF-8 with no control characters but whitespace;
    a PDF stays binary, whatever its bytes."""
    if data.startswith(b"%PDF-"):
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if _BINARY_CONTROL.search(text, 0, SNIFF_BYTES) else text


def _detected(data: bytes) -> str:
    import charset_normalizer

    matches = charset_normalizer.from_bytes(data)
    best = matches.best()
    nul_ok = best is not None and best.encoding.startswith(("utf_16", "utf_32"))
    if best is None or (b"\x00" in data[:SNIFF_BYTES] and not nul_ok):
        raise UnreadableFile("binary content: this does not look like a text file")
    # Short Western text is often misread as a Baltic or Central European code page;
    # Windows-1252 is far more common, so it wins whenever it is about as plausible.
    for match in matches:
        if match.chaos <= best.chaos + 0.15 and "cp1252" in match.could_be_from_charset:
            return data.decode("cp1252", errors="replace")
    return str(best)


def clean(text: str) -> str:
    """NFKC, no control characters, hyphenated line breaks joined, runs of spaces folded."""
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = cap_invisible(_CONTROL.sub("", text))
    text = _HYPHEN_BREAK.sub(r"\1\2", text)
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n")).strip()


def clean_code(text: str) -> str:
    """Code as written: indentation and line breaks kept, tabs expanded, no control characters,
    blank lines at either end dropped (NFKC would rewrite code's characters: not applied)."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4))
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def cap_invisible(text: str) -> str:
    """Runs of invisible characters cut to MAX_INVISIBLE_RUN."""
    capped: str = _INVISIBLE_RUN.sub(lambda m: m.group()[:MAX_INVISIBLE_RUN], text)
    return capped


def bound_heading(heading: str | None) -> str | None:
    """A heading path of at most MAX_HEADING_DEPTH levels of MAX_HEADING_PART characters,
    MAX_HEADING_CHARS in all, the innermost levels kept."""
    if not heading:
        return heading
    parts = [p.strip() for p in cap_invisible(heading).split(HEADING_SEPARATOR)]
    parts = [_shorten(p, MAX_HEADING_PART) for p in parts[-MAX_HEADING_DEPTH:] if p]
    while len(HEADING_SEPARATOR.join(parts)) > MAX_HEADING_CHARS:
        parts = parts[1:]  # one part alone always fits: MAX_HEADING_PART < MAX_HEADING_CHARS
    return HEADING_SEPARATOR.join(parts) or None


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, each with its hard line wraps joined."""
    parts = (" ".join(p.split("\n")).strip() for p in _PARAGRAPH.split(clean(text)))
    return [p for p in parts if p]


def split_long(text: str, limit: int = 8000) -> list[str]:
    """Cut text longer than `limit` at whitespace (or hard, where there is none)."""
    pieces, start = [], 0
    while len(text) - start > limit:
        cut = text.rfind(" ", start + limit // 2, start + limit)
        cut = cut if cut > start else start + limit
        pieces.append(text[start:cut])
        start = cut
    pieces.append(text[start:])
    return [p.strip() for p in pieces if p.strip()]
