"""Real manuals' page chrome goes and their content stays: Apache-style pages (breadcrumbs,
language bars, a "no-sidebar" body, label-column directive tables), DocBook and Texinfo
navigation, and the contents and index pages of a PDF manual."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders import load
from ingest.loaders.blocks import Block

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")

# The shape of the Apache HTTP Server manual's pages (apache2-doc), cut down.
APACHE_PAGE = b"""<!DOCTYPE html SYSTEM "about:legacy-compat">
<html lang="en"><head><title>core - Apache HTTP Server Version 2.4</title></head>
<body id="manual-page" class="no-sidebar">
<div id="page-header">
<p class="menu"><a href="../mod/index.html">Modules</a> | <a href="../glossary.html">Glossary</a>
 | <a href="../sitemap.html">Sitemap</a></p>
<p class="apache">Apache HTTP Server Version 2.4</p></div>
<div id="path"><a href="https://www.apache.org/">Apache</a> &gt; <a href="https://httpd.apache.org/">
HTTP Server</a> &gt; <a href="https://httpd.apache.org/docs/">Documentation</a> &gt;
<a href="./index.html">Modules</a></div>
<div id="page-content"><div id="preamble"><h1>Apache Core Features</h1>
<div class="toplang"><p><span>Available Languages: </span>
<a href="../../de/mod/core.html" hreflang="de" rel="alternate">&nbsp;de&nbsp;</a> |
<a href="../../en/mod/core.html">&nbsp;en&nbsp;</a> |
<a href="../../fr/mod/core.html" hreflang="fr" rel="alternate">&nbsp;fr&nbsp;</a></p></div>
<p>These features are always available.</p></div>
<div id="quickview"><h3 class="directives">Directives</h3>
<ul id="toc"><li><a href="#keepalive">KeepAlive</a></li>
<li><a href="#timeout">TimeOut</a></li></ul>
<h3>Bugfix checklist</h3><ul class="seealso">
<li><a href="https://x.org/CHANGES">httpd changelog</a></li>
<li><a href="https://x.org/known">Known issues</a></li>
<li><a href="https://x.org/bug">Report a bug</a></li>
</ul></div>
<div class="directive-section"><h2><a name="keepalive" id="keepalive">KeepAlive</a> Directive</h2>
<table class="directive">
<tr><th><a href="directive-dict.html#Description">Description:</a></th><td>Enables HTTP persistent
 connections</td></tr>
<tr><th><a href="directive-dict.html#Syntax">Syntax:</a></th>
<td><code>KeepAlive On|Off</code></td></tr>
<tr><th><a href="directive-dict.html#Default">Default:</a></th>
<td><code>KeepAlive On</code></td></tr>
<tr><th><a href="directive-dict.html#Module">Module:</a></th><td>core</td></tr>
</table>
<p>The Keep-Alive extension to HTTP/1.0 provides long-lived HTTP sessions.</p></div>
</div>
<div class="bottomlang"><p><span>Available Languages: </span>
<a href="../../de/mod/core.html" hreflang="de" rel="alternate">&nbsp;de&nbsp;</a> |
<a href="../../fr/mod/core.html" hreflang="fr" rel="alternate">&nbsp;fr&nbsp;</a></p></div>
<div id="footer"><p class="apache">Copyright 2026 The Apache Software Foundation.</p></div>
</body></html>"""

# DocBook XSL's chunked HTML (the PostgreSQL manual's generator), cut down.
DOCBOOK_PAGE = b"""<html><head><title>3.2. Tables</title></head><body>
<div class="navheader"><table width="100%" summary="Navigation header">
<tr><th colspan="3" align="center">3.2. Tables</th></tr>
<tr><td width="20%" align="left"><a accesskey="p" href="ch03.html">Prev</a> </td>
<th width="60%" align="center">Chapter 3. Data Definition</th>
<td width="20%" align="right"> <a accesskey="n" href="ch03s03.html">Next</a></td></tr>
</table><hr></div>
<div class="sect1">
<div class="titlepage"><div><div><h2 class="title">3.2. Tables</h2></div></div></div>
<p>A table in a relational database is much like a table on paper: it consists of rows and
columns.</p></div>
<div class="navfooter"><hr><table width="100%" summary="Navigation footer">
<tr><td width="40%" align="left"><a accesskey="p" href="ch03.html">Prev</a> </td>
<td width="20%" align="center"><a accesskey="u" href="ch03.html">Up</a></td>
<td width="40%" align="right"> <a accesskey="n" href="ch03s03.html">Next</a></td></tr>
<tr><td width="40%" align="left" valign="top">Chapter 3. Data Definition </td>
<td width="20%" align="center"><a accesskey="h" href="index.html">Home</a></td>
<td width="40%" align="right" valign="top"> 3.3. Constraints</td></tr></table></div>
</body></html>"""

# makeinfo's HTML (GNU manuals, R's manuals): a node line with rel links, a table of contents.
TEXINFO_PAGE = b"""<html><head><title>Hunks (Comparing and Merging Files)</title></head>
<body lang="en">
<div class="contents"><h2 class="contents-heading">Table of Contents</h2><ul class="no-bullet">
<li><a id="toc-Overview" href="#Overview">1 Overview</a><ul class="no-bullet">
<li><a id="toc-Hunks" href="#Hunks">1.1 Hunks</a></li>
<li><a id="toc-Blanks" href="#Blanks">1.2 Blank Lines</a></li></ul></li></ul></div>
<div class="section" id="Hunks">
<p>Next: <a href="Blanks.html" accesskey="n" rel="next">Blank Lines</a>, Previous:
<a href="Overview.html" accesskey="p" rel="prev">Overview</a>, Up: <a href="Top.html" accesskey="u"
rel="up">Top</a> &nbsp; [<a href="index.html#SEC_Contents" rel="contents">Contents</a>]</p>
<hr><h3 class="section">1.1 Hunks</h3>
<p>When comparing two files, diff finds sequences of lines common to both files, interspersed
with groups of differing lines called hunks.</p></div></body></html>"""


def texts(blocks: list[Block]) -> str:
    return "\n".join(b.text for b in blocks)


def test_body_with_a_no_sidebar_class_keeps_its_text():
    text = texts(load("core.html", APACHE_PAGE))
    assert "The Keep-Alive extension to HTTP/1.0 provides long-lived HTTP sessions." in text
    assert "These features are always available." in text


def test_a_label_column_table_becomes_label_value_lines():
    text = texts(load("core.html", APACHE_PAGE)).splitlines()
    assert "Description: Enables HTTP persistent connections" in text
    assert "Default: KeepAlive On" in text
    assert "Module: core" in text
    assert not any("::" in line or "Description: Syntax" in line for line in text)


def test_a_td_label_column_ending_with_colons_becomes_label_value_lines():
    page = b"<html><body><h1>Limits</h1><table><tr><td>Default:</td><td>8190</td></tr>"
    page += b"<tr><td>Context:</td><td>server config</td></tr></table></body></html>"
    assert [b.text for b in load("limits.html", page)] == [
        "Default: 8190",
        "Context: server config",
    ]


def test_a_table_with_a_header_row_still_names_cells_by_column():
    page = b"<html><body><table><tr><th>Option</th><th>Meaning</th></tr>"
    page += b"<tr><td>-q</td><td>quiet</td></tr><tr><td>-v</td><td>verbose</td></tr>"
    page += b"</table></body></html>"
    assert [b.text for b in load("opts.html", page)] == [
        "Option: -q | Meaning: quiet",
        "Option: -v | Meaning: verbose",
    ]


def test_breadcrumbs_language_bars_menus_and_link_lists_are_removed():
    blocks = load("core.html", APACHE_PAGE)
    text = texts(blocks)
    for chrome in ("HTTP Server >", "Available Languages", "Glossary", "httpd changelog"):
        assert chrome not in text
    assert "Copyright 2026" not in text
    assert blocks[0].heading == "core - Apache HTTP Server Version 2.4 > Apache Core Features"


def test_docbook_navheader_and_navfooter_are_removed_and_the_section_stays():
    text = texts(load("ddl-basics.html", DOCBOOK_PAGE))
    assert text == (
        "A table in a relational database is much like a table on paper: it consists of rows "
        "and columns."
    )


def test_texinfo_node_line_and_table_of_contents_are_removed_and_the_section_stays():
    blocks = load("Hunks.html", TEXINFO_PAGE)
    assert [b.text[:40] for b in blocks] == ["When comparing two files, diff finds seq"]
    assert blocks[0].heading.endswith("1.1 Hunks")


def test_links_with_words_between_them_are_content():
    page = b"<html><body><p>Use <a href='a.html'>git log</a> to list commits and "
    page += b"<a href='b.html'>git show</a> to see one.</p></body></html>"
    assert texts(load("tips.html", page)) == "Use git log to list commits and git show to see one."


def test_a_wrapper_with_a_chrome_class_holding_the_page_keeps_its_text():
    page = b"<html><body><div class='page-sidebar'><h1>Notes</h1><p>Keep this text.</p>"
    page += b"</div><p>Short.</p></body></html>"
    assert "Keep this text." in texts(load("notes.html", page))


def test_a_page_of_nothing_but_links_is_not_emptied():
    page = b"<html><body><h1>Site map</h1><ul><li><a href='a.html'>Installing</a></li>"
    page += b"<li><a href='b.html'>Configuring</a></li><li><a href='c.html'>Upgrading</a></li>"
    page += b"</ul></body></html>"
    assert "Configuring" in texts(load("sitemap.html", page))


# PDFs made by fpdf2 with a contents page and an index, as Texinfo and LaTeX set them.
CONTENTS = [
    "1 Installing . . . . . . . . . . . . . . . . . . . . . . . . . 2",
    "1.1 Requirements . . . . . . . . . . . . . . . . . . . . . . 2",
    "2 Running . . . . . . . . . . . . . . . . . . . . . . . . . . 2",
    "Index ........................................................ 3",
]
INDEX = [
    "configuration file . . . . . . . . . . . . . . . . . 2",
    "environment variables . . . . . . . . . . . . . . . 2",
    "serve, option . . . . . . . . . . . . . . . . . . . . 2",
    "WIDGET_HOME . . . . . . . . . . . . . . . . . . . . . 2, 3",
]
BODY = [
    "The widget reads its configuration file from WIDGET_HOME at start.",
    "Start it with widget --serve; it listens on port 8080",
    "and stops after 30 idle minutes.",
]


def manual_with_contents(path: Path) -> Path:
    fpdf = pytest.importorskip("fpdf")
    if not FONT.exists() or not FONT_BOLD.exists():
        pytest.skip("DejaVu fonts are not installed (fonts-dejavu-core)")
    pdf = fpdf.FPDF()
    pdf.add_font("dejavu", "", str(FONT))
    pdf.add_font("dejavu", "B", str(FONT_BOLD))
    for title, lines in (("Contents", CONTENTS), ("1 Installing", BODY), ("Index", INDEX)):
        pdf.add_page()
        pdf.set_font("dejavu", "B", 18)
        pdf.cell(0, 12, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("dejavu", size=11)
        for line in lines:
            pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


@pytest.fixture(scope="module")
def manual(tmp_path_factory: pytest.TempPathFactory) -> list[Block]:
    path = manual_with_contents(tmp_path_factory.mktemp("pdf") / "manual.pdf")
    return load("manual.pdf", path.read_bytes())


def test_pdf_contents_and_index_pages_with_dot_leaders_are_dropped(manual: list[Block]):
    text = texts(manual)
    assert ". . . ." not in text and "....." not in text
    assert "environment variables" not in text and "Requirements" not in text
    assert {b.page for b in manual} == {2}


def test_pdf_body_lines_ending_in_a_number_are_kept(manual: list[Block]):
    text = texts(manual)
    assert "The widget reads its configuration file from WIDGET_HOME at start." in text
    assert "it listens on port 8080 and stops after 30 idle minutes." in text


def test_header_cells_ending_with_a_colon_name_cells_once():
    page = b"<html><body><table><tr><th>Variable Name:</th><th>Value Type:</th></tr>"
    page += b"<tr><td>H2_STREAM_ID</td><td>number</td></tr></table></body></html>"
    assert texts(load("vars.html", page)) == "Variable Name: H2_STREAM_ID | Value Type: number"


def test_a_titled_box_of_link_lists_is_removed_and_the_text_beside_it_stays():
    page = b"<html><body><div><h3>Topics</h3><ul><li><a href='#a'>Basic Usage</a></li>"
    page += b"<li><a href='#b'>Examples</a></li><li><a href='#c'>Caveats</a></li></ul></div>"
    page += b"<h2>Basic Usage</h2><p>Load the module first.</p></body></html>"
    assert texts(load("mod.html", page)) == "Load the module first."


def test_a_label_table_with_an_empty_row_reads_label_value():
    page = b"<html><body><table><tr><td></td></tr><tr><th>Default:</th><td>Off</td></tr>"
    page += b"<tr><th>Context:</th><td>server config</td></tr></table></body></html>"
    assert [b.text for b in load("d.html", page)] == ["Default: Off", "Context: server config"]
