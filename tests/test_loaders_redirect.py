"""Redirect stubs are skipped with their target named: Texinfo's HTML manuals (GNU diffutils'
here, as Debian ships it) hold a one-line page per node that points into a larger page."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest.errors import EmptyDocument
from ingest.loaders import load
from ingest.pipeline import Ingestor, discover

MANUAL = Path("/usr/share/doc/diffutils")  # diffutils-doc (the Makefile's tools target)
STUB, TARGET = "Shortcomings.html", "Projects.html"  # the stub's refresh goes to the target

needs_manual = pytest.mark.skipif(
    not (MANUAL / STUB).is_file(), reason="diffutils-doc is installed by `make tools`"
)


@pytest.mark.tools
@needs_manual
def test_texinfo_node_stub_is_refused_naming_where_its_text_is() -> None:
    with pytest.raises(EmptyDocument, match=r"redirect page .*Projects\.html#Shortcomings"):
        load(STUB, (MANUAL / STUB).read_bytes())


@pytest.mark.tools
@needs_manual
def test_the_page_a_stub_points_to_holds_the_stub_s_section() -> None:
    blocks = load(TARGET, (MANUAL / TARGET).read_bytes())  # #Shortcomings is section 18.1
    assert any("18.1 Suggested Projects" in (b.heading or "") for b in blocks)
    assert not any("node you are looking for" in b.text for b in blocks)


@pytest.mark.tools
@needs_manual
def test_ingest_skips_stubs_with_their_reason_and_adds_the_real_page(
    tmp_path: Path, ingestor: Ingestor
) -> None:
    for name in (STUB, TARGET):
        shutil.copy(MANUAL / name, tmp_path / name)
    summary = ingestor.ingest(discover([tmp_path]))
    by_file = {Path(o.source).name: o for o in summary.outcomes}
    assert by_file[STUB].status == "skipped" and "Projects.html" in by_file[STUB].reason
    assert by_file[TARGET].status == "added"


def test_a_page_with_a_refresh_and_its_own_text_is_read() -> None:
    words = " ".join(f"word{i}" for i in range(60))
    page = f"""<html><head><meta http-equiv="refresh" content="30; url=news.html">
    <title>News</title></head><body><p>{words}</p></body></html>""".encode()
    assert "word59" in " ".join(b.text for b in load("news.html", page))


def test_a_refresh_inside_an_email_s_html_part_is_not_a_redirect_page() -> None:
    from ingest.loaders.html import load_html

    part = b"""<html><head><meta http-equiv="Refresh" content="0; url=x.html"></head>
    <body><p>Short note.</p></body></html>"""
    assert [b.text for b in load_html(part)] == ["Short note."]
