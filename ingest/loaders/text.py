"""Plain text and Markdown (heading paths from the Markdown structure)."""

from __future__ import annotations

from collections.abc import Iterator

from ingest import frontmatter
from ingest.loaders.blocks import Block, Headings
from ingest.normalize import clean, decode, paragraphs


def load_text(data: bytes) -> Iterator[Block]:
    for para in paragraphs(decode(data)):
        yield Block(para)


def load_markdown(data: bytes) -> Iterator[Block]:
    from markdown_it import MarkdownIt

    data = frontmatter.split(data)[1]  # front matter is metadata (tags, title), not text
    tokens = MarkdownIt("commonmark").enable("table").parse(decode(data))
    headings = Headings()
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            headings.enter(int(token.tag[1:]), clean(tokens[i + 1].content))
        elif token.type == "inline" and token.content.strip():
            yield Block(" ".join(clean(token.content).split("\n")), heading=headings.path)
        elif token.type in ("fence", "code_block"):
            yield Block(clean(token.content), heading=headings.path)
