"""Real pages and real PDFs read well: main content only, code and tables intact, running heads
and page numbers gone, hyphens mended, headings found, page labels cited, chunks contextual."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.chunker import Chunker
from ingest.loaders import load
from ingest.loaders.blocks import Block
from tests.conftest import FakeEmbedder

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")

SPHINX_PAGE = b"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>json \xe2\x80\x94 JSON encoder and decoder \xe2\x80\x94 Python 3.12 documentation</title>
<script>var DOCUMENTATION_OPTIONS = {};</script><style>body { margin: 0 }</style></head>
<body>
<div class="related" role="navigation"><h3>Navigation</h3><ul>
  <li class="right"><a href="genindex.html">index</a></li>
  <li class="right"><a href="py-modindex.html">modules</a> |</li>
  <li><a href="index.html">Python 3.12 documentation</a> &#187;</li></ul></div>
<div class="document"><div class="documentwrapper"><div class="bodywrapper">
<div class="body" role="main">
<section id="module-json">
<h1><code class="xref">json</code> \xe2\x80\x94 JSON encoder and decoder<a class="headerlink"
 href="#module-json" title="Link to this heading">\xc2\xb6</a></h1>
<p>JSON is a lightweight data interchange format inspired by JavaScript object literal
syntax. The <code class="docutils literal"><span class="pre">json</span></code> module exposes
an API familiar to users of the standard library.</p>
<p>Encoding basic Python object hierarchies:</p>
<div class="highlight-python3 notranslate"><div class="highlight"><pre><span></span><span
class="gp">&gt;&gt;&gt; </span><span class="kn">import</span> <span class="nn">json</span>
<span class="gp">&gt;&gt;&gt; </span><span class="n">json</span><span class="o">.</span><span
class="n">dumps</span><span class="p">([</span><span class="s1">'foo'</span><span
class="p">,</span> <span class="p">{</span><span class="s1">'bar'</span><span
class="p">:</span> <span class="p">(</span><span class="s1">'baz'</span><span
class="p">,</span> <span class="kc">None</span><span class="p">)}])</span>
<span class="go">'["foo", {"bar": ["baz", null]}]'</span>
<span class="gp">... </span>    <span class="k">return</span> <span class="n">obj</span>
</pre></div></div>
<section id="encoders-and-decoders">
<h2>Encoders and Decoders<a class="headerlink" href="#encoders-and-decoders">\xc2\xb6</a></h2>
<p>Performs the following translations in decoding by default:</p>
<table class="docutils align-default">
<thead><tr class="row-odd"><th class="head"><p>JSON</p></th><th class="head"><p>Python</p></th></tr>
</thead><tbody>
<tr class="row-even"><td><p>object</p></td><td><p>dict</p></td></tr>
<tr class="row-odd"><td><p>array</p></td><td><p>list</p></td></tr>
</tbody></table>
<dl class="py class"><dt class="sig sig-object py" id="json.JSONDecoder">
<em class="property">class </em><span class="sig-name">json.JSONDecoder</span></dt>
<dd><p>Simple JSON decoder; <em>object_hook</em> is called with the result of every object.</p>
</dd></dl>
</section></section>
</div></div></div>
<div class="sphinxsidebar" role="navigation" aria-label="main navigation">
<h3><a href="contents.html">Table of Contents</a></h3>
<ul><li><a href="#">json \xe2\x80\x94 JSON encoder and decoder</a></li></ul>
<h4>Previous topic</h4><p><a href="email.html">email</a></p>
<h4>Next topic</h4><p><a href="mailbox.html">mailbox</a></p>
<div role="note"><h3>This Page</h3><ul><li><a href="bugs.html">Report a Bug</a></li>
<li><a href="_sources/json.rst.txt">Show Source</a></li></ul></div>
</div><div class="clearer"></div></div>
<div class="footer">&copy; Copyright 2001-2024, Python Software Foundation. Last updated on Jan 01.
</div></body></html>
"""

BLOG_PAGE = b"""<!doctype html><html><head><title>Release notes | Acme Docs</title></head><body>
<header class="site-header"><a href="/">Acme</a><nav><a href="/docs">Docs</a>
<a href="/blog">Blog</a></nav></header>
<aside class="sidebar"><h2>Recent posts</h2><ul><li><a href="/a">Older post</a></li></ul></aside>
<main><article><header><h1>Release notes</h1><p class="meta">Posted in March</p></header>
<h2 id="install">Installing<a class="anchor" href="#install">#</a></h2>
<p>Run the installer with <code>--prefix</code> to choose the folder.<br>Then restart.</p>
</article></main>
<footer class="site-footer"><p>Subscribe to our newsletter</p></footer></body></html>
"""


def texts(blocks: list[Block]) -> str:
    return "\n".join(b.text for b in blocks)


def test_html_keeps_the_main_content_and_drops_navigation_sidebar_and_footer():
    blocks = load("json.html", SPHINX_PAGE)
    text = texts(blocks)
    assert "JSON is a lightweight data interchange format" in text
    for chrome in ("Previous topic", "Next topic", "Report a Bug", "Show Source", "modules |"):
        assert chrome not in text
    assert "Copyright 2001-2024" not in text
    assert "DOCUMENTATION_OPTIONS" not in text and "margin: 0" not in text


def test_html_code_blocks_keep_their_spacing_and_lines():
    code = next(b.text for b in load("json.html", SPHINX_PAGE) if "json.dumps" in b.text)
    assert ">>> import json\n>>> json.dumps(['foo', {'bar': ('baz', None)}])" in code
    assert "...     return obj" in code  # indentation kept
    assert "json . dumps" not in code


def test_html_inline_code_is_not_split_into_tokens():
    text = texts(load("json.html", SPHINX_PAGE))
    assert "The json module exposes" in text


def test_html_headings_have_no_permalink_marks_and_make_the_path():
    blocks = load("json.html", SPHINX_PAGE)
    table_row = next(b for b in blocks if "dict" in b.text)
    assert table_row.heading == "json — JSON encoder and decoder > Encoders and Decoders"
    assert all("¶" not in (b.heading or "") and "¶" not in b.text for b in blocks)


def test_html_table_rows_carry_their_header():
    text = texts(load("json.html", SPHINX_PAGE))
    assert "JSON: object | Python: dict" in text
    assert "JSON: array | Python: list" in text


def test_html_definition_terms_stay_with_their_description():
    text = texts(load("json.html", SPHINX_PAGE))
    assert "class json.JSONDecoder: Simple JSON decoder;" in text


def test_html_article_header_keeps_its_title_but_site_chrome_goes():
    blocks = load("notes.html", BLOG_PAGE)
    text = texts(blocks)
    assert "Recent posts" not in text and "newsletter" not in text and "Blog" not in text
    install = next(b for b in blocks if "--prefix" in b.text)
    assert install.heading == "Release notes > Installing"
    assert install.text == "Run the installer with --prefix to choose the folder. Then restart."


def test_html_page_title_roots_the_path_when_no_heading_repeats_it():
    page = b"<html><head><title>CREATE INDEX</title></head><body><h1>1. Syntax</h1>"
    page += b"<p>The CREATE INDEX command consists of the keywords.</p></body></html>"
    (block,) = load("lang_createindex.html", page)
    assert block.heading == "CREATE INDEX > 1. Syntax"


# PDFs made by fpdf2, as a word processor would lay them out.
def manual_pdf(path: Path) -> Path:
    fpdf = pytest.importorskip("fpdf")
    if not FONT.exists() or not FONT_BOLD.exists():
        pytest.skip("DejaVu fonts are not installed (fonts-dejavu-core)")

    class Manual(fpdf.FPDF):  # type: ignore[misc]
        def header(self) -> None:
            self.set_font("dejavu", size=9)
            self.cell(0, 8, "Acme Widget Manual — Chapter 2", align="C")
            self.ln(12)

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("dejavu", size=9)
            self.cell(0, 8, str(self.page_no()), align="C")

    pdf = Manual()
    pdf.add_font("dejavu", "", str(FONT))
    pdf.add_font("dejavu", "B", str(FONT_BOLD))
    pdf.set_title("Acme Widget Manual")
    pdf.add_page()
    pdf.set_page_label(label_style="r")  # front matter: i, ii
    _page(pdf, "Preface", ["This manual describes the widget."])
    for n, (title, lines) in enumerate(CHAPTERS, 1):
        pdf.add_page()
        if n == 1:
            pdf.set_page_label(label_style="D", label_start=1)  # then 1, 2, 3 ...
        _page(pdf, f"{n} {title}", lines)
    pdf.output(str(path))
    return path


def _page(pdf: object, title: str, lines: list[str]) -> None:
    pdf.set_font("dejavu", "B", 18)  # type: ignore[attr-defined]
    pdf.cell(0, 12, title, new_x="LMARGIN", new_y="NEXT")  # type: ignore[attr-defined]
    pdf.set_font("dejavu", size=11)  # type: ignore[attr-defined]
    for line in lines:
        pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")  # type: ignore[attr-defined]


CHAPTERS = [
    (
        "Installing",
        [
            "The widget reads its settings from the WIDGET_HOME environ-",
            "ment variable when it starts, and writes its logs there too.",
            "",
            "Each ﬁle in the ﬂeet folder is checked once an hour.",
        ],
    ),
    ("Running", ["Start the widget with widget --serve and stop it with Ctrl-C."]),
    ("Stopping", ["The widget stops after 30 idle minutes unless told otherwise."]),
    ("Upgrading", ["Upgrades keep the settings file and replace the program only."]),
]


@pytest.fixture(scope="module")
def manual(tmp_path_factory: pytest.TempPathFactory) -> list[Block]:
    path = manual_pdf(tmp_path_factory.mktemp("pdf") / "manual.pdf")
    return load("manual.pdf", path.read_bytes())


def test_pdf_drops_running_heads_and_page_numbers(manual: list[Block]):
    text = texts(manual)
    assert "Acme Widget Manual — Chapter 2" not in text
    assert not any(b.text.strip().isdigit() for b in manual)


def test_pdf_mends_words_hyphenated_at_a_line_end(manual: list[Block]):
    text = texts(manual)
    assert "WIDGET_HOME environment variable when it starts" in text
    assert "environ-" not in text


def test_pdf_normalizes_ligatures(manual: list[Block]):
    assert "Each file in the fleet folder is checked once an hour." in texts(manual)


def test_pdf_larger_bold_lines_become_the_heading_path(manual: list[Block]):
    running = next(b for b in manual if "--serve" in b.text)
    assert running.heading == "Acme Widget Manual > 2 Running"
    assert not any(b.text.startswith("2 Running") for b in manual)


def test_pdf_blocks_cite_physical_page_and_printed_label(manual: list[Block]):
    preface = next(b for b in manual if "describes the widget" in b.text)
    assert (preface.page, preface.label) == (1, "i")
    stopping = next(b for b in manual if "30 idle minutes" in b.text)
    assert (stopping.page, stopping.label) == (4, "3")


def test_pdf_paragraphs_split_at_blank_gaps(manual: list[Block]):
    installing = [b.text for b in manual if b.heading and b.heading.endswith("Installing")]
    assert len(installing) == 2
    assert installing[1].startswith("Each file")


def test_chunks_embed_their_heading_path_and_show_the_page_label(manual: list[Block]):
    chunks = Chunker(FakeEmbedder(max_tokens=256), size=64, overlap=8).chunk(manual)
    stopping = next(c for c in chunks if "30 idle minutes" in c.text)
    assert stopping.indexed_text.startswith("Acme Widget Manual > 3 Stopping\n")
    assert "Stopping" not in stopping.text
    assert stopping.display_heading == "Acme Widget Manual > 3 Stopping (p. 3)"


def test_chunks_never_span_two_sections():
    blocks = [Block("First section text.", heading="A"), Block("Second one.", heading="B")]
    chunks = Chunker(FakeEmbedder(max_tokens=256), size=64, overlap=8).chunk(blocks)
    assert [(c.heading, c.text) for c in chunks] == [
        ("A", "First section text."),
        ("B", "Second one."),
    ]


def test_a_long_heading_path_is_cut_to_its_innermost_headings():
    heading = " > ".join(f"Part {n} with a long descriptive title" for n in range(20))
    chunks = Chunker(FakeEmbedder(max_tokens=256), size=64, overlap=8).chunk(
        [Block("Text.", heading=heading)]
    )
    assert chunks[0].context is not None
    assert chunks[0].context.endswith("Part 19 with a long descriptive title")
    assert len(chunks[0].indexed_text.split()) <= 64
