"""XML parts of packages, parsed with defusedxml: no entity expansion, no external fetches."""

from __future__ import annotations

from typing import Any

from ingest.errors import UnreadableFile


def parse_xml(data: bytes, what: str) -> Any:
    """The root element of `data` (the `what` part), or a clear error."""
    import defusedxml.ElementTree as safe_tree
    from defusedxml import DefusedXmlException

    try:
        return safe_tree.fromstring(data)
    except DefusedXmlException as exc:
        raise UnreadableFile(f"refused {what}: {exc}") from None
    except Exception as exc:  # ElementTree.ParseError and the like
        raise UnreadableFile(f"could not read {what}: {exc}") from None


def local(tag: object) -> str:
    """A tag without its namespace: "{urn:...:text:1.0}p" -> "p"."""
    return str(tag).rsplit("}", 1)[-1]
