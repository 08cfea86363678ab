"""Zip packages (OOXML, OpenDocument, EPUB): opened only after a zip-bomb check."""

from __future__ import annotations

import io
import zipfile
import zlib

from ingest.errors import UnreadableFile

MAX_EXPANDED = 512 * 1024 * 1024  # a document's parts, unzipped; more is a zip bomb
MAX_MEMBERS = 20_000  # parts in one package; a real e-book has a few hundred


def open_package(data: bytes, kind: str) -> zipfile.ZipFile:
    """The zip inside `data` (a `kind` file), refused when its declared sizes are a bomb's.
    zipfile never inflates a member past its declared size, so the sum bounds the work."""
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
        infos = package.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise UnreadableFile(f"not a valid {kind} file: it is not a zip package ({exc})") from None
    expanded = sum(info.file_size for info in infos)
    if expanded > MAX_EXPANDED or len(infos) > MAX_MEMBERS:
        raise UnreadableFile(
            f"{kind} unpacks to {expanded // 1048576:,} MB in {len(infos):,} parts, more than "
            f"the {MAX_EXPANDED // 1048576} MB ({MAX_MEMBERS:,} parts) a document may hold: "
            "likely a zip bomb"
        )
    return package


def read_member(package: zipfile.ZipFile, name: str, kind: str) -> bytes:
    """One part of the package, or a clear error naming the part that is missing or broken."""
    try:
        return package.read(name)
    except KeyError:
        raise UnreadableFile(f"not a valid {kind} file: it has no {name}") from None
    except (zipfile.BadZipFile, zlib.error, ValueError, EOFError, NotImplementedError) as exc:
        raise UnreadableFile(f"could not read {name} in the {kind} file: {exc}") from None


def check_package(data: bytes, kind: str) -> None:
    """For libraries that open the zip themselves: refuse a bomb before they do."""
    open_package(data, kind).close()
