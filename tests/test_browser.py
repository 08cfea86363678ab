"""The web page in Debian's chromium against `ragd serve` on the real packaged models.

One server (sample documents ingested into a temp data dir) and one browser serve the module.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support import INGEST, SAMPLES, Watched, env_for, launch, run, running_ragd, watched_page

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
ANSWER_TIMEOUT = 240_000  # ms: the 2-core machine is shared with other test runs
HOSTILE = (
    "The Orchard room serves soup at noon on Fridays.\n"
    "<script>alert('doc-script')</script>\n"
    "<img src=x onerror=\"alert('doc-img')\">\n"
)
# Close enough to the documents not to be refused, and reliably long from the 135M model.
LONG_QUESTION = "Repeat the word ragd one hundred times, then summarize the ragd user guide."
HOSTILE_NAME = "<img src=x onerror=alert('name')>.txt"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("browser") / "data"
    assert run([*INGEST, str(SAMPLES)], env_for(data)).returncode == 0
    with running_ragd(env_for(data, RAGD_MAX_ANSWER_TOKENS="512")) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch() as b:
        yield b


@pytest.fixture
def watched(browser: Browser, server: str) -> Iterator[Watched]:
    with watched_page(browser, server) as w:
        expect(w.page.locator("#status")).to_contain_text(
            re.compile(r"SmolLM2\S* on (CPU|CUDA|Metal) · 5 documents in default")
        )
        yield w
        assert w.csp_violations == [], w.csp_violations
        w.assert_no_script_ran()


def ask(page: Page, question: str) -> None:
    page.fill("#question", question)
    page.press("#question", "Enter")


def record_answer_lengths(page: Page) -> None:
    """Note the answer's text length at each change, to see it arrive piece by piece."""
    page.evaluate(
        """() => {
        window.lengths = [];
        new MutationObserver(() => {
          const answer = [...document.querySelectorAll('li.turn.assistant .answer')].pop();
          if (answer) window.lengths.push(answer.textContent.length);
        }).observe(document.getElementById('messages'),
                   {childList: true, subtree: true, characterData: true});
      }"""
    )


def test_answer_streams_in_and_a_citation_opens_its_source(watched: Watched, server: str):
    page = watched.page
    record_answer_lengths(page)
    ask(page, "When do the ragd maintainers meet?")
    answer = page.locator("li.turn.assistant").last
    expect(answer.get_by_role("button", name="Copy")).to_be_visible(timeout=ANSWER_TIMEOUT)
    lengths = [n for n in page.evaluate("window.lengths") if n > 0]
    assert len(set(lengths)) >= 3, f"the answer did not arrive in pieces: {lengths}"
    expect(answer.locator(".answer")).to_contain_text("Tuesday")
    cites = answer.locator(".answer .cite")
    assert cites.count() >= 1
    opened = []
    for i in range(cites.count()):
        n = cites.nth(i).get_attribute("data-n")
        cites.nth(i).click()
        item = page.locator(f"#sources-cited #source-{n}")
        expect(item).to_be_focused()
        expect(item).to_have_class("active")
        opened.append((item.locator(".file").inner_text(), item.locator("mark").all_inner_texts()))
    faq = [marks for name, marks in opened if name == "team-faq.docx"]
    assert faq and any("Tuesday" in m for m in faq[0]), opened


def test_stop_ends_the_generation_mid_stream(watched: Watched, server: str):
    page = watched.page
    ask(page, LONG_QUESTION)
    answer = page.locator("li.turn.assistant").last
    expect(answer.locator(".answer")).not_to_be_empty(timeout=ANSWER_TIMEOUT)
    page.click("#stop")
    expect(answer.locator(".state")).to_have_text("Stopped.")
    expect(page.locator("#send")).to_be_visible()
    stopped_at = answer.locator(".answer").inner_text()
    assert stopped_at.strip()
    wait_model_free(server)
    assert answer.locator(".answer").inner_text() == stopped_at
    assert answer.get_by_role("button", name="Retry").is_visible()


def wait_model_free(server: str, timeout: float = 60) -> None:
    """The server stops generating once the page disconnects: the model is soon free again."""
    deadline = time.monotonic() + timeout
    while httpx.get(f"{server}/health").json()["queue"]["busy"]:
        assert time.monotonic() < deadline, "the model kept generating after Stop"
        time.sleep(0.2)


def documents(server: str, collection: str) -> list[str]:
    body = httpx.get(f"{server}/api/documents", params={"collection": collection}).json()
    return [d["source"] for d in body["documents"]]


def test_upload_lists_then_delete_removes_a_document(watched: Watched, server: str, tmp_path: Path):
    page = watched.page
    use_collection(page, "uploads")
    note = tmp_path / "lunch-note.md"
    note.write_text("# Lunch\n\nThe Orchard room serves soup at noon on Fridays.\n")
    page.set_input_files("#file-input", str(note))
    expect(page.locator("#uploads li", has_text="lunch-note.md")).to_contain_text("added")
    row = page.locator("#documents-list tr", has_text="lunch-note.md")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(2)).to_have_text("1")
    assert documents(server, "uploads") == ["lunch-note.md"]
    expect(page.locator("#collection option[value=uploads]")).to_have_count(1)
    row.get_by_role("button", name="Delete lunch-note.md").click()
    row.get_by_role("button", name="Keep").click()
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Delete lunch-note.md").click()
    row.get_by_role("button", name="Yes, delete lunch-note.md").click()
    expect(page.locator("#documents-list tr", has_text="lunch-note.md")).to_have_count(0)
    assert documents(server, "uploads") == []


def use_collection(page: Page, name: str) -> None:
    page.click("#open-documents")
    page.fill("#new-collection-name", name)
    page.press("#new-collection-name", "Enter")
    expect(page.locator("#documents-collection")).to_have_text(name)


def test_document_markup_is_shown_as_text(watched: Watched, server: str):
    page = watched.page
    use_collection(page, "hostile")
    page.set_input_files(
        "#file-input",
        files=[{"name": HOSTILE_NAME, "mimeType": "text/plain", "buffer": HOSTILE.encode()}],
    )
    row = page.locator("#documents-list tr").first
    expect(row.locator("td.file")).to_have_text(HOSTILE_NAME)
    page.click("#close-documents")
    ask(page, "Where is soup served on Fridays?")
    source = page.locator("#source-1")
    expect(source).to_contain_text("<script>alert('doc-script')</script>")
    page.press("#question", "Escape")  # stops the answer if still running: the sources matter here
    expect(page.locator("#send")).to_be_visible(timeout=ANSWER_TIMEOUT)
    expect(source.locator(".file")).to_have_text(HOSTILE_NAME)
    expect(source).to_contain_text("<img src=x onerror=\"alert('doc-img')\">")
    assert page.locator("#sources-panel img, #sources-panel script").count() == 0
    assert page.locator("#documents img, main img").count() == 0
