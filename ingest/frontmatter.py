"""Markdown front matter (a leading `---` YAML block): its tags and title, and the text after it."""

from __future__ import annotations

import re
from typing import Any

from index.filters import TAG_KEY

_BLOCK = re.compile(
    rb"\A(?:\xef\xbb\xbf)?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S
)
MAX_TAGS = 32
MAX_VALUE = 256


def split(data: bytes) -> tuple[dict[str, Any], bytes]:
    """(the front matter as a mapping, the document after it); ({}, data) when there is none
    or it is not a YAML mapping."""
    match = _BLOCK.match(data)
    if match is None:
        return {}, data
    import yaml

    try:
        meta = yaml.safe_load(match.group(1).decode("utf-8", "replace"))
    except yaml.YAMLError:
        return {}, data
    return (meta, data[match.end() :]) if isinstance(meta, dict) else ({}, data)


def tags_of(meta: dict[str, Any]) -> dict[str, str]:
    """Tags from front matter: each scalar key (title aside) is a tag, and each item of a
    `tags:` list is a tag of value "yes"; names a filter cannot spell are left out."""
    pairs: list[tuple[object, object]] = [(k, v) for k, v in meta.items() if k != "title"]
    if isinstance(meta.get("tags"), list):
        pairs = [p for p in pairs if p[0] != "tags"] + [(t, "yes") for t in meta["tags"]]
    tags = {str(k): text(v) for k, v in pairs if _scalar(v) and TAG_KEY.match(str(k))}
    return dict(list(tags.items())[:MAX_TAGS])


def text(value: object) -> str:
    """A scalar as tag text: dates in ISO form, booleans as true / false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    iso = getattr(value, "isoformat", None)
    return str(iso() if iso else value)[:MAX_VALUE]


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool) or hasattr(value, "isoformat")
