"""Text normalization: decoding bytes, Unicode NFKC, control characters, whitespace, paragraphs."""

from __future__ import annotations

import re
import unicodedata

from ingest.errors import UnreadableFile

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\ufeff]")
_HYPHEN_BREAK = re.compile(r"(\w)-\n(\w)")
_SPACES = re.compile(r"[ \t\u00a0]+")
_PARAGRAPH = re.compile(r"\n\s*\n")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def decode(data: bytes) -> str:
    """Bytes to text: UTF-8 (or a BOM's encoding), else the best guess of charset-normalizer."""
    if data.startswith(_BOMS):
        import charset_normalizer

        best = charset_normalizer.from_bytes(data).best()
        if best is not None:
            return str(best)
    if b"\x00" in data[:8192]:
        raise UnreadableFile("binary content: this does not look like a text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    import charset_normalizer

    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise UnreadableFile("binary content: the text encoding could not be detected")
    return str(best)


def clean(text: str) -> str:
    """NFKC, no control characters, hyphenated line breaks joined, runs of spaces folded."""
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = _HYPHEN_BREAK.sub(r"\1\2", text)
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n")).strip()


def paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, each with its hard line wraps joined."""
    parts = (" ".join(p.split("\n")).strip() for p in _PARAGRAPH.split(clean(text)))
    return [p for p in parts if p]
