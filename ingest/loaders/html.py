"""HTML: text blocks with heading paths, scripts and styles dropped."""

from __future__ import annotations

from collections.abc import Iterator

from ingest.loaders.blocks import Block, Headings
from ingest.normalize import clean, refuse_binary

_HTML_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_HTML_BLOCKS = [*_HTML_HEADINGS, "p", "li", "pre", "blockquote", "td", "th", "dd", "dt", "div"]


def load_html(data: bytes) -> Iterator[Block]:
    from bs4 import BeautifulSoup

    refuse_binary(data)
    soup = BeautifulSoup(data, "html.parser")  # a pure-Python parser: no external entities
    for tag in soup(["script", "style", "noscript", "template", "svg", "head"]):
        tag.decompose()
    headings = Headings()
    for element in soup.find_all(_HTML_BLOCKS):
        if element.find(_HTML_BLOCKS):
            continue  # its inner blocks are visited on their own
        text = " ".join(clean(element.get_text(" ")).split("\n"))
        if element.name in _HTML_HEADINGS and text:
            headings.enter(int(element.name[1]), text)
        if text:
            yield Block(text, heading=headings.path)
