"""E-books (.epub): the chapters in reading order (the OPF spine), each read by the HTML
loader, under the chapter's title from the table of contents."""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from ingest.errors import UnreadableFile
from ingest.loaders.blocks import Block
from ingest.loaders.html import load_html
from ingest.loaders.package import open_package, read_member
from ingest.loaders.xmlparts import local, parse_xml

_EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"
_CHAPTER_TYPES = ("application/xhtml+xml", "text/html")


@dataclass(frozen=True)
class _Item:
    path: str
    media_type: str
    properties: str


def load_epub(data: bytes) -> Iterator[Block]:
    with open_package(data, "EPUB") as package:
        opf_path = _rootfile(package)
        opf = parse_xml(read_member(package, opf_path, "EPUB"), opf_path)
        items = _manifest(opf, posixpath.dirname(opf_path))
        titles = _toc_titles(package, opf, items)
        for item in _spine(opf, items):
            chapter = titles.get(item.path)
            for block in load_html(read_member(package, item.path, "EPUB")):
                yield Block(block.text, block.page, _heading(chapter, block.heading))


def _rootfile(package: zipfile.ZipFile) -> str:
    container = parse_xml(read_member(package, "META-INF/container.xml", "EPUB"), "container")
    for element in container.iter():
        if local(element.tag) == "rootfile" and element.get("full-path"):
            return str(element.get("full-path"))
    raise UnreadableFile("not a valid EPUB file: its container names no package (OPF) file")


def _manifest(opf: Any, base: str) -> dict[str, _Item]:
    return {
        str(e.get("id")): _Item(
            _resolve(base, str(e.get("href", ""))),
            str(e.get("media-type", "")),
            str(e.get("properties", "")),
        )
        for e in opf.iter()
        if local(e.tag) == "item" and e.get("id")
    }


def _spine(opf: Any, items: dict[str, _Item]) -> Iterator[_Item]:
    """Chapters in reading order; the navigation document is a table of contents, not text."""
    for element in opf.iter():
        item = items.get(str(element.get("idref"))) if local(element.tag) == "itemref" else None
        if item and item.media_type in _CHAPTER_TYPES and "nav" not in item.properties.split():
            yield item


def _toc_titles(package: zipfile.ZipFile, opf: Any, items: dict[str, _Item]) -> dict[str, str]:
    """Chapter file -> its title in the table of contents (EPUB 3 nav, else EPUB 2 NCX);
    none when the table is missing or broken: the chapters' own headings still count."""
    nav = next((i for i in items.values() if "nav" in i.properties.split()), None)
    ncx = next((i for i in items.values() if i.media_type == "application/x-dtbncx+xml"), None)
    for item, entries in ((nav, _nav_entries), (ncx, _ncx_entries)):
        if item is None:
            continue
        try:
            root = parse_xml(read_member(package, item.path, "EPUB"), item.path)
        except UnreadableFile:
            continue
        titles: dict[str, str] = {}
        for href, title in entries(root):
            if title:
                titles.setdefault(_resolve(posixpath.dirname(item.path), href), title)
        if titles:
            return titles
    return {}


def _nav_entries(root: Any) -> Iterator[tuple[str, str]]:
    """The links of the table of contents (not of the landmarks or page list)."""
    navs = [e for e in root.iter() if local(e.tag) == "nav"]
    tocs = [n for n in navs if n.get(_EPUB_TYPE) == "toc"] or navs
    for nav in tocs:
        for element in nav.iter():
            if local(element.tag) == "a" and element.get("href"):
                yield str(element.get("href")), _text(element)


def _ncx_entries(root: Any) -> Iterator[tuple[str, str]]:
    for point in root.iter():
        if local(point.tag) != "navPoint":
            continue
        label = next((e for e in point.iter() if local(e.tag) == "text"), None)
        content = next((e for e in point.iter() if local(e.tag) == "content"), None)
        if label is not None and content is not None and content.get("src"):
            yield str(content.get("src")), _text(label)


def _resolve(base: str, href: str) -> str:
    """A manifest or TOC link as a path inside the zip, without its #fragment."""
    return posixpath.normpath(posixpath.join(base, unquote(href.split("#", 1)[0])))


def _text(element: Any) -> str:
    return " ".join("".join(element.itertext()).split())


def _heading(chapter: str | None, inner: str | None) -> str | None:
    """The chapter's title above the headings found inside it (once, not twice)."""
    if not chapter or (inner and inner.startswith(chapter)):
        return inner or chapter
    return f"{chapter} > {inner}" if inner else chapter
