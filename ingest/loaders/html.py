"""HTML: the main content as text blocks with heading paths; navigation and page chrome dropped.

Chrome is known by its tag or ARIA role, by class/id words (whole words: "nav-panel" and
"navheader" are navigation, "no-sidebar" on a wrapper holding the page is not), and by its
links: a run of links with only separators or titles between them (breadcrumbs, menus, boxes
of link lists, in-page tables of contents), or links to the page's other languages or to its
previous/next/up pages (language bars, DocBook and Texinfo navigation). Nothing holding most
of the page's text is ever chrome, and a page that chrome removal would empty keeps its text.
A `<pre>` is code, kept line by line, unless it holds hard-wrapped prose (a manual converted
from plain text): then its prose paragraphs are joined into sentences.
A page that only sends the reader elsewhere (a `<meta http-equiv="refresh">` to another URL over
a line or two of text, as Texinfo writes for every node it does not split out) is skipped with
the target named: its text is at the target, and its own line would only crowd search results.

lxml's HTML parser (libxml2) reads the page: it never fetches anything, resolves no entities
beyond HTML's own, and runs in the sandboxed parser pool like every loader.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Iterator

from lxml import etree, html

from ingest.errors import EmptyDocument
from ingest.loaders.blocks import Block, Headings
from ingest.normalize import clean, clean_code, refuse_binary

_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_DROP_TAGS = (
    "script", "style", "noscript", "template", "svg", "math", "head", "iframe", "object",
    "embed", "canvas", "form", "button", "input", "select", "textarea", "nav", "aside", "dialog",
)  # fmt: skip
_CHROME_TAGS = ("header", "footer")
_CHROME_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu"}
# class or id words of page chrome (Sphinx, MkDocs, asciidoc, Doxygen, Javadoc, blogs; a
# Bootstrap "dropdown-menu" is a popup list, hidden until its toggle is clicked)
_CHROME_WORDS = re.compile(
    r"^(nav|navbar|navigation|menu|mainmenu|submenu|searchmenu|sidebar|sphinxsidebar|related|"
    r"breadcrumbs?|footer|header|masthead|toc|tagline|nosearch|noprint|skip-?link|cookies?|"
    r"share|social|pager|pagination|prev-?next|rellinks|footnav|topnav|bottomnav|headerlink|"
    r"sidebar-.*|.*-sidebar|navbar-.*|.*-navbar|.*-nav|nav-.*|.*-menu|site-(header|footer)|"
    r"page-(header|footer)|doc-(header|footer))$"
)
# words inside class/id words ("nav-panel", "navheader", "toplang"): navigation wherever used
_CHROME_PARTS = re.compile(
    r"^(top|bottom|page|site)?(nav|navigation|navbar|breadcrumbs?|toplang|bottomlang|langbar)$|"
    r"^nav(header|footer|panel|bar|links?)$"
)
_NAV_RELS = {"next", "prev", "previous", "up", "contents", "index", "start", "home", "top"}
_SEPARATORS = re.compile(r"[\s>|»›/·•\[\]()–—-]*")
_BAR_LABELS = 200  # text beside a language or prev/next bar's links: labels and titles only
_LABEL_CHARS = 40  # a row label ("Default:", "Context:") is short
_NEVER_CHROME = {"html", "body", "main", "article"}
# an element holding this share of the page's text is content, whatever its class
_CHROME_SHARE = 0.5
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
# Hard-wrapped prose in <pre>: most of the text in paragraphs filled to a margin of 60+
# columns (3 of 4 breaks where the next word would pass it, give or take 8), lines averaging
# 6+ tokens, 85% of them words (letters with at most quotes and punctuation around), no line
# ending like code does.
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_MARGIN, _SLACK, _FILLED_SHARE = 60, 8, 0.75
_PROSE_SHARE, _PROSE_WORDS, _WORD_SHARE = 0.6, 6, 0.85
_WORD = re.compile(r"[\"'(‘“]?[A-Za-z][A-Za-z'’-]*[\"')’”]?[.,;:!?]?[\"')’”]?")
_SENTENCE_END = re.compile(r"[A-Za-z0-9)\"'’”][.!?:][\"'’”)]?\s*$")
_CODE_ENDINGS = re.compile(r"[{};\\]\s*$|^\s*[#$>]\s", re.MULTILINE)
_CODE_CLASSES = re.compile(r"\b(highlight|codehilite|listingblock|literal-block|sourceCode)\b")


# A redirect stub says "the node you are looking for is at X"; a page of its own says more.
_REDIRECT_WORDS = 40
_REFRESH_URL = re.compile(r"url\s*=\s*(\S[^;]*)", re.IGNORECASE)


def load_html_page(data: bytes) -> Iterator[Block]:
    """An HTML file's blocks; EmptyDocument for a redirect stub (a part of an e-mail or an
    EPUB is read by `load_html`: a refresh there sends no reader anywhere)."""
    return load_html(data, page=True)


def load_html(data: bytes, page: bool = False) -> Iterator[Block]:
    refuse_binary(data)
    root = _parse(data)
    if root is None:
        return
    title = _title(root)
    if page:
        _refuse_redirect(root)
    _drop_never_content(root)
    for links in (True, False):  # a page of nothing but links keeps them rather than go empty
        trimmed = copy.deepcopy(root)
        _drop_chrome(trimmed, links)
        blocks = list(_Walker(title).blocks(_main(trimmed)))
        if blocks:
            yield from blocks
            return
    yield from _Walker(title).blocks(_main(root))  # the page's own text, whatever its classes


def _parse(data: bytes) -> html.HtmlElement | None:
    parser = html.HTMLParser(
        no_network=True, remove_comments=True, remove_pis=True, huge_tree=False
    )
    try:
        root = html.document_fromstring(data, parser=parser)
    except (etree.ParserError, ValueError):
        return None  # nothing but whitespace or comments
    return root


def _refuse_redirect(root: html.HtmlElement) -> None:
    """EmptyDocument for a page whose text is at most a line pointing where a refresh goes."""
    target = _refresh_target(root)
    body = root.find("body")
    words = len(body.text_content().split()) if body is not None else 0
    if target and words <= _REDIRECT_WORDS:
        raise EmptyDocument(f"a redirect page (its text is at {target})")


def _refresh_target(root: html.HtmlElement) -> str:
    for meta in root.iter("meta"):
        if (meta.get("http-equiv") or "").strip().lower() == "refresh":
            found = _REFRESH_URL.search(meta.get("content") or "")
            if found:
                return found.group(1).strip().strip("'\"")
    return ""


def _title(root: html.HtmlElement) -> str | None:
    title = root.findtext(".//title")
    return " ".join(clean(title).split()) or None if title else None


def _drop_never_content(root: html.HtmlElement) -> None:
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    etree.strip_elements(root, *_DROP_TAGS, with_tail=False)


def _drop_chrome(root: html.HtmlElement, links: bool) -> None:
    """Remove navigation, headers, footers and sidebars, never the bulk of the page."""
    most = _CHROME_SHARE * _text_length(root)
    for element in list(root.iter(etree.Element)):
        if element.getparent() is None or element.tag in _NEVER_CHROME:
            continue
        if _is_chrome(element, links) and not (most and _text_length(element) >= most):
            element.drop_tree()


def _text_length(element: html.HtmlElement) -> int:
    return len("".join(element.text_content().split()))


def _is_chrome(element: html.HtmlElement, links: bool) -> bool:
    tag = element.tag
    if tag in _CHROME_TAGS:
        return not _has_heading(element)
    if element.get("role", "") in _CHROME_ROLES or element.get("aria-hidden") == "true":
        return True
    if tag not in _BLOCK_TAGS and tag != "a":
        return False
    return _has_chrome_words(element) or (links and _is_link_bar(element))


def _has_chrome_words(element: html.HtmlElement) -> bool:
    words = f"{element.get('class', '')} {element.get('id', '')}".lower().split()
    parts = (part for word in words for part in re.split(r"[-_]", word))
    return any(_CHROME_WORDS.match(w) for w in words) or any(_CHROME_PARTS.match(p) for p in parts)


def _is_link_bar(element: html.HtmlElement) -> bool:
    """Links with nothing but separators and titles between them (breadcrumbs, menus, boxes
    of link lists), or links that mostly go to the page's other languages or neighbours."""
    links = [a for a in element.iter("a") if a.get("href") is not None]
    titled = _has_heading(element)
    if len(links) < (3 if titled or element.tag in ("ul", "ol") else 2):
        return False
    rest = _text_outside_links(element)
    if _SEPARATORS.fullmatch(rest) is not None:
        return True
    if titled:
        return False  # a section with links in it
    moving = sum(1 for a in links if _is_moving_link(a))
    return 2 * moving >= len(links) and len("".join(rest.split())) <= _BAR_LABELS


def _has_heading(element: html.HtmlElement) -> bool:
    return any(True for _ in element.iter(*_HEADINGS))


def _text_outside_links(element: html.HtmlElement) -> str:
    """The element's text but for its links and headings."""
    if element.tag == "a" or element.tag in _HEADINGS:
        return ""
    inner = "".join(_text_outside_links(c) + (c.tail or "") for c in element)
    return (element.text or "") + inner


def _is_moving_link(link: html.HtmlElement) -> bool:
    """A link to this page in another language, or to its neighbours in a manual."""
    rels = set((link.get("rel") or "").lower().split())
    return bool(link.get("hreflang") or link.get("accesskey") or rels & _NAV_RELS)


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
        width = _prose_margin(code)
        if width:  # a plain-text manual in <pre>: its paragraphs are prose
            for paragraph in _PARAGRAPH_BREAK.split(code):
                yield from self._paragraph(paragraph, width)
            return
        if self.terms:  # a term's description that is code: the term keeps its own block
            yield Block(", ".join(self.terms), heading=self.headings.path)
            self.terms = []
        yield Block(code, heading=self.headings.path)

    def _paragraph(self, text: str, width: int) -> Iterator[Block]:
        """A paragraph of a wrapped-prose <pre>: prose lines joined; an indented example or a
        listing keeps its lines."""
        lines = [line for line in text.split("\n") if line.strip()]
        if lines and _is_prose(lines, width):
            yield from self._text([" ".join(line.strip() for line in lines)])
        elif lines:
            yield Block("\n".join(lines), heading=self.headings.path)

    def _table(self, table: html.HtmlElement) -> Iterator[Block]:
        """One block per row, each cell named by its column's header where there is one."""
        rows = [
            [_inline(cell) for cell in row.iterchildren("td", "th")] for row in table.iter("tr")
        ]
        rows = [row for row in rows if any(row)]
        if _is_label_column(table, rows):
            for label, value in rows:
                yield self._block(f"{label.rstrip(':').rstrip()}: {value}" if label else value)
            return
        header = rows[0] if rows and table.find(".//th") is not None else None
        for row in rows[1:] if header else rows:
            if header and len(header) == len(row):
                named = zip((h.rstrip(":").rstrip() for h in header), row, strict=True)
                cells = [f"{h}: {c}" if h else c for h, c in named if c]
            else:
                cells = [c for c in row if c]
            yield self._block(" | ".join(cells))


def _prose_margin(text: str) -> int:
    """The margin a <pre> of hard-wrapped prose is filled to (most of its text in filled
    paragraphs, as pages converted from plain-text manuals have); 0 for code, output or a
    listing. `text` is clean_code's: no trailing spaces."""
    width = max(len(line) for line in text.split("\n"))
    paragraphs = [p.split("\n") for p in _PARAGRAPH_BREAK.split(text)]
    prose = sum(len("".join(p)) for p in paragraphs if len(p) > 1 and _is_prose(p, width))
    wrapped = width >= _MARGIN and prose >= _PROSE_SHARE * len(text.replace("\n", ""))
    return width if wrapped else 0


def _is_prose(lines: list[str], width: int) -> bool:
    """Sentences filled to a margin: each line broken only where the next word would not fit,
    none indented past the first, words rather than code, the last line ending a sentence."""
    words = " ".join(lines).split()
    indent = len(lines[0]) - len(lines[0].lstrip())
    return (
        len(words) >= _PROSE_WORDS * len(lines)
        and all(len(line) - len(line.lstrip()) <= indent for line in lines[1:])
        and _filled(lines, width)
        and sum(map(_is_word, words)) >= _WORD_SHARE * len(words)
        and not _CODE_ENDINGS.search("\n".join(lines))
        and _SENTENCE_END.search(lines[-1]) is not None
    )


def _filled(lines: list[str], width: int) -> bool:
    """Whether (nearly) every line break is where the next word would pass the margin."""
    breaks = [(a, b) for a, b in itertools.pairwise(lines) if b.split()]
    full = sum(len(a.rstrip()) + 1 + len(b.split()[0]) > width - _SLACK for a, b in breaks)
    return full >= _FILLED_SHARE * len(breaks)


def _is_word(token: str) -> bool:
    return _WORD.fullmatch(token) is not None


def _is_label_column(table: html.HtmlElement, rows: list[list[str]]) -> bool:
    """A two-column key/value table: its first column labels each row (row header cells, or
    short cells ending with ':'), so a row reads "Label: value", not as the first row's data."""
    if not rows or any(len(row) != 2 for row in rows):
        return False
    cells = [list(row.iterchildren("td", "th")) for row in table.iter("tr")]
    pairs = [row for row in cells if len(row) == 2]
    if all(first.tag == "th" and second.tag != "th" for first, second in pairs):
        return True
    return all(len(label) <= _LABEL_CHARS and label.endswith(":") for label, _ in rows)


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
