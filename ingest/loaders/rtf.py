"""Rich Text Format (.rtf): paragraphs, and table rows naming their columns (striprtf)."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator

from ingest.errors import UnreadableFile
from ingest.loaders.blocks import Block
from ingest.loaders.tables import keyed_rows
from ingest.normalize import clean

_CODEPAGE = re.compile(rb"\\ansicpg(\d+)")
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")  # bullets drawn from symbol fonts
# Pictures and embedded objects are hex, in lines: striprtf would walk them character by
# character (16 s for one 18 MB photo); no text is that long a run of hex digits.
_HEX_DATA = re.compile(rb"(?<![0-9a-fA-F])(?:(?:[0-9a-fA-F]{32,}\r?\n){8,}|[0-9a-fA-F]{512,})")


def load_rtf(data: bytes) -> Iterator[Block]:
    from striprtf.striprtf import rtf_to_text

    if not data.lstrip().startswith(b"{\\rtf"):
        raise UnreadableFile("not an RTF file: it does not start with {\\rtf")
    encoding = _encoding(data)
    source = _HEX_DATA.sub(b"", data).decode(encoding, errors="replace")
    text: str = rtf_to_text(source, encoding=encoding, errors="replace")  # type: ignore[no-untyped-call]
    for lines in _runs([line.strip() for line in _PRIVATE_USE.sub("", text).split("\n")]):
        if lines[0].endswith("|"):  # striprtf ends each table cell with "|"
            yield from (Block(row) for row in keyed_rows(line.split("|")[:-1] for line in lines))
        else:
            yield from (Block(clean(line)) for line in lines if clean(line))


def _encoding(data: bytes) -> str:
    """The code page the file declares (\\ansicpgN), when Python knows it; else Windows-1252."""
    match = _CODEPAGE.search(data, 0, 4096)
    name = f"cp{int(match.group(1))}" if match else "cp1252"
    try:
        codecs.lookup(name)
    except LookupError:
        return "cp1252"
    return name


def _runs(lines: list[str]) -> Iterator[list[str]]:
    """Consecutive table lines together (a table), every other line alone."""
    run: list[str] = []
    for line in lines:
        if run and not (run[-1].endswith("|") and line.endswith("|")):
            yield run
            run = []
        run.append(line)
    if run:
        yield run
