"""Hard-wrapped prose in <pre> (a manual converted from plain text, as HAProxy's is) is read as
sentences, while code and indented examples keep their lines; Bootstrap dropdown menus (hidden
popups) are not text."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders import load

HAPROXY = Path("/usr/share/doc/haproxy/html/configuration.html")  # haproxy-doc (`make tools`)


@pytest.fixture(scope="module")
def haproxy_blocks() -> list[str]:
    if not HAPROXY.is_file():
        pytest.skip("haproxy-doc is installed by `make tools`")
    return [b.text for b in load(HAPROXY.name, HAPROXY.read_bytes())]


@pytest.mark.tools
def test_a_wrapped_paragraph_is_one_run_of_sentences(haproxy_blocks: list[str]) -> None:
    block = next(b for b in haproxy_blocks if "Sets the buffer size to this size" in b)
    assert "The default value is 16384 and can be changed at build time." in block
    assert "\n" not in block


@pytest.mark.tools
def test_dropdown_menus_leave_no_text_inside_sentences(haproxy_blocks: list[str]) -> None:
    assert not any("This keyword is available in sections" in b for b in haproxy_blocks)
    assert any('overrides the specified "server" or "tunnel" timeout' in b for b in haproxy_blocks)


@pytest.mark.tools
def test_configuration_examples_keep_their_lines(haproxy_blocks: list[str]) -> None:
    assert any(b.startswith("backend ") or "\n    server " in b for b in haproxy_blocks)


def _pre(body: str) -> list[str]:
    return [
        b.text for b in load("page.html", f"<html><body><pre>{body}</pre></body></html>".encode())
    ]


WRAPPED = """The retry count sets how many times a connection attempt is made again
after a failure, before the request is given up and an error is returned
to the client that sent it.

Example:
    retries 3
    timeout connect 5s
"""


def test_prose_paragraphs_join_and_an_indented_example_keeps_its_lines() -> None:
    blocks = _pre(WRAPPED)
    assert blocks[0].startswith("The retry count sets how many times") and "\n" not in blocks[0]
    assert "    retries 3\n    timeout connect 5s" in blocks[-1]


def test_code_in_pre_stays_code() -> None:
    code = "def retry(times):\n    for attempt in range(times):\n        connect()\n"
    assert _pre(code) == [code.rstrip("\n")]


def test_command_output_in_pre_stays_as_printed() -> None:
    listing = "total 8\n-rw-r--r-- 1 root root 120 Dec  1 01:00 a.txt\n-rw-r--r-- 1 root root 99 b"
    assert _pre(listing) == [listing]
