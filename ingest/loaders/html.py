"""HTML: the main content as text blocks with heading paths; navigation and page chrome dropped.

lxml's HTML parser (libxml2) reads the page: it never fetches anything, resolves no entities
beyond HTML's own, and runs in the sandboxed parser pool like every loader.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree, html

from ingest.loaders.blocks import Block, Headings
from ingest.normalize import clean, clean_code, refuse_binary

_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_DROP_TAGS = (
    "script", "style", "noscript", "template", "svg", "math", "head", "iframe", "object",
    "embed", "canvas", "form", "button", "input", "select", "textarea", "nav", "aside", "dialog",
)  # fmt: skip
_CHROME_TAGS = ("header", "footer")
_CHROME_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu"}
# class or id words of page chrome (Sphinx, MkDocs, asciidoc, Doxygen, Javadoc, blogs)
_CHROME_WORDS = re.compile(
    r"^(nav|navbar|navigation|menu|mainmenu|submenu|searchmenu|sidebar|sphinxsidebar|related|"
    r"breadcrumbs?|footer|header|masthead|toc|tagline|nosearch|noprint|skip-?link|cookies?|"
    r"share|social|pager|pagination|prev-?next|rellinks|footnav|topnav|bottomnav|headerlink|"
    r"sidebar-.*|.*-sidebar|navbar-.*|.*-navbar|.*-nav|nav-.*|site-(header|footer)|"
    r"page-(header|footer)|doc-(header|footer))$"
)
_MAIN_XPATHS = (
    "//main",
    "//*[@role='main']",
    "//article",
    "//*[@id='content' or @id='main-content' or @id='main' or @id='contents']",
    "//div[contains(concat(' ', normalize-space(@class), ' '), ' body ')]",
    "//div[contains(concat(' ', normalize-space(@class), ' '), ' document ')]",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' content ')]",
)
_MAIN_SHARE = 0.25  # a main-content candidate holds at least this share of the page's text
_PERMALINK = re.compile(r"\s*[¶#§🔗]+\s*$")
_BLOCK_TAGS = {
    "address", "article", "blockquote", "body", "caption", "center", "dd", "details", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "header", "hr", "li", "main",
    "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "ul", *_HEADINGS,
}  # fmt: skip
_CODE_CLASSES = re.compile(r"\b(highlight|codehilite|listingblock|literal-block|sourceCode)\b")


def load_html(data: bytes) -> Iterator[Block]:
    refuse_binary(data)
    root = _parse(data)
    if root is None:
        return
    title = _title(root)
    _drop_chrome(root)
    yield from _Walker(title).blocks(_main(root))


def _parse(data: bytes) -> html.HtmlElement | None:
    parser = html.HTMLParser(
        no_network=True, remove_comments=True, remove_pis=True, huge_tree=False
    )
    try:
        root = html.document_fromstring(data, parser=parser)
    except (etree.ParserError, ValueError):
        return None  # nothing but whitespace or comments
    return root


def _title(root: html.HtmlElement) -> str | None:
    title = root.findtext(".//title")
    return " ".join(clean(title).split()) or None if title else None


def _drop_chrome(root: html.HtmlElement) -> None:
    """Remove what is never content, then navigation, headers, footers and sidebars."""
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    etree.strip_elements(root, *_DROP_TAGS, with_tail=False)
    for element in list(root.iter(etree.Element)):
        if element.getparent() is not None and _is_chrome(element):
            element.drop_tree()


def _is_chrome(element: html.HtmlElement) -> bool:
    tag = element.tag
    if tag in _CHROME_TAGS:
        return not any(h.tag in _HEADINGS for h in element.iter(*_HEADINGS))
    if element.get("role", "") in _CHROME_ROLES or element.get("aria-hidden") == "true":
        return True
    if tag not in _BLOCK_TAGS and tag != "a":
        return False
    words = f"{element.get('class', '')} {element.get('id', '')}".lower().split()
    return any(_CHROME_WORDS.match(word) for word in words)


def _main(root: html.HtmlElement) -> html.HtmlElement:
    """The element holding the page's main content, or the body when none stands out."""
    body = root.find("body")
    body = body if body is not None else root
    total = len(body.text_content().strip()) or 1
    for xpath in _MAIN_XPATHS:
        for candidate in root.xpath(xpath):
            if len(candidate.text_content().strip()) >= _MAIN_SHARE * total:
                return candidate  # type: ignore[no-any-return]
    return body


class _Walker:
    """Walks the content in document order, yielding one block per paragraph, list item,
    code block or table row, each with its heading path."""

    def __init__(self, title: str | None) -> None:
        self.headings = Headings(title)
        self.terms: list[str] = []  # definition terms waiting for their description

    def blocks(self, element: html.HtmlElement) -> Iterator[Block]:
        tag = element.tag
        if tag in _HEADINGS:
            self._heading(element)
        elif tag == "pre" or _CODE_CLASSES.search(element.get("class", "")):
            yield from self._code(element)
        elif tag == "table" and not _has_blocks_in_cells(element):
            yield from self._table(element)
        elif tag == "dt":
            self.terms.append(_inline(element))
        else:
            yield from self._mixed(element)

    def _mixed(self, element: html.HtmlElement) -> Iterator[Block]:
        """Inline runs become blocks; block children are walked on their own."""
        run = [element.text or ""]
        for child in element:
            if not isinstance(child.tag, str):
                run.append(child.tail or "")
            elif child.tag in _BLOCK_TAGS or _has_block(child):
                yield from self._text(run)
                run = []
                yield from self.blocks(child)
                run.append(child.tail or "")
            else:
                run.append(child.text_content() + (child.tail or ""))
        yield from self._text(run)

    def _text(self, run: list[str]) -> Iterator[Block]:
        text = " ".join(clean("".join(run)).split())
        if text:
            yield self._block(text)

    def _block(self, text: str) -> Block:
        if self.terms:
            text = f"{', '.join(t for t in self.terms if t)}: {text}"
            self.terms = []
        return Block(text, heading=self.headings.path)

    def _heading(self, element: html.HtmlElement) -> None:
        for link in element.iter("a"):
            if _PERMALINK.fullmatch(link.text_content() or "") or "headerlink" in (
                link.get("class") or ""
            ):
                link.drop_tree()
        text = _PERMALINK.sub("", _inline(element))
        if text:
            self.terms = []
            self.headings.enter(int(str(element.tag)[1]), text)

    def _code(self, element: html.HtmlElement) -> Iterator[Block]:
        code = clean_code(element.text_content())
        if not code:
            return
        if self.terms:  # a term's description that is code: the term keeps its own block
            yield Block(", ".join(self.terms), heading=self.headings.path)
            self.terms = []
        yield Block(code, heading=self.headings.path)

    def _table(self, table: html.HtmlElement) -> Iterator[Block]:
        """One block per row, each cell named by its column's header where there is one."""
        rows = [
            [_inline(cell) for cell in row.iterchildren("td", "th")] for row in table.iter("tr")
        ]
        rows = [row for row in rows if any(row)]
        header = rows[0] if rows and table.find(".//th") is not None else None
        for row in rows[1:] if header else rows:
            if header and len(header) == len(row):
                cells = [f"{h}: {c}" if h else c for h, c in zip(header, row, strict=True) if c]
            else:
                cells = [c for c in row if c]
            yield self._block(" | ".join(cells))


def _inline(element: html.HtmlElement) -> str:
    return " ".join(clean(element.text_content()).split())


def _has_block(element: html.HtmlElement) -> bool:
    return any(e.tag in _BLOCK_TAGS for e in element.iterdescendants(etree.Element))


def _has_blocks_in_cells(table: html.HtmlElement) -> bool:
    """A table used for page layout: its cells hold tables or headings."""
    return any(
        cell.find(f".//{tag}") is not None
        for cell in table.iter("td")
        for tag in ("table", *_HEADINGS)
    )
