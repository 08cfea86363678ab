"""The page's filter bar in a real browser: what it sends as `filter`, and that it narrows sources.

A real uvicorn app over a real FAISS index built by the real ingest pipeline; the embedder and
model are the fakes of test_browser_page.py (this is about the page, not answer quality).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from app.answering.services import Services
from app.server.main import create_app
from config.settings import Settings
from index.faiss_store.store import FaissStore
from ingest.pipeline import build_ingestor, discover
from tests.fakes import FakeEmbedder, FakeGenerator
from tests.support import ThreadedServer, Watched, launch, watched_page, write_files

pytestmark = pytest.mark.browser
DOCS = {
    "legal/contract.md": "# Contract\n\nLunch for the team is paid by the client.",
    "legal/memo.txt": "The memo says lunch is at noon for the legal team.",
    "notes/lunch.md": "---\nteam: blue\n---\n# Lunch\n\nLunch is served at noon in the Orchard.",
    "notes/hours.md": "# Hours\n\nLunch hours: the kitchen serves lunch from noon to two.",
}
OLD = dt.datetime(2023, 3, 1, 12, tzinfo=dt.UTC).timestamp()  # legal/contract.md's mtime
NEW = dt.datetime(2024, 6, 1, 12, tzinfo=dt.UTC).timestamp()  # everyone else's


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("browser-filters")
    settings = Settings(data_dir=root / "data", top_k=8, _env_file=None)  # type: ignore[call-arg]
    generator = FakeGenerator("Lunch is at noon [1].", delay=0.01)
    services = Services(settings, FakeEmbedder(), generator, FaissStore(settings.index_dir))
    docs = write_files(root / "docs", DOCS)
    for name in DOCS:
        os.utime(docs / name, (OLD, OLD) if name == "legal/contract.md" else (NEW, NEW))
    build_ingestor(settings, services.embedder, services.store).ingest(discover([docs]))
    with ThreadedServer(create_app(services=services)) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch() as b:
        yield b


@pytest.fixture
def watched(browser: Browser, url: str) -> Iterator[Watched]:
    with watched_page(browser, url) as w:
        yield w
        assert w.csp_violations == [], w.csp_violations
        w.assert_no_script_ran()


def ask(page: Page, question: str = "When is lunch?") -> dict[str, Any]:
    """Ask from the composer; the JSON body the page sent to /api/ask."""
    with page.expect_request("**/api/ask") as sent:
        page.fill("#question", question)
        page.press("#question", "Enter")
    copy = page.locator("li.turn.assistant").last.get_by_role("button", name="Copy")
    expect(copy).to_be_visible()
    return json.loads(sent.value.post_data or "{}")


def source_files(page: Page) -> list[str]:
    return page.locator("#sources-panel .sources .file").all_text_contents()


def open_bar(page: Page) -> None:
    if not page.locator("#filter-bar").evaluate("d => d.open"):
        page.click("#filter-bar summary")
    # the suggestions come from /api/documents: wait for them before choosing
    expect(page.locator("#filter-type option")).to_have_count(3)


def test_without_a_filter_sources_come_from_every_folder(watched: Watched):
    body = ask(watched.page)
    assert "filter" not in body
    folders = {name.split("/")[0] for name in source_files(watched.page)}
    assert folders == {"legal", "notes"}


def test_a_folder_chosen_in_the_bar_restricts_the_answer_sources_and_clear_lifts_it(
    watched: Watched,
):
    page = watched.page
    open_bar(page)
    expect(page.locator("#filter-folders option[value='legal/']")).to_have_count(1)
    page.fill("#filter-folder", "legal/")
    expect(page.locator("#filter-summary")).to_have_text("in legal/")
    body = ask(page)
    assert body["filter"] == {"field": "source", "prefix": "legal/"}
    files = source_files(page)
    assert sorted(files) == ["legal/contract.md", "legal/memo.txt"]
    expect(page.locator("li.turn.user .scope").last).to_have_text("Filtered: in legal/")
    page.click("#filter-clear")
    expect(page.locator("#filter-summary")).to_have_text("none: all documents")
    assert "filter" not in ask(page)
    assert any(name.startswith("notes/") for name in source_files(page))


def test_type_dates_and_tags_combine_into_one_and_filter(watched: Watched):
    page = watched.page
    open_bar(page)
    page.select_option("#filter-type", "md")
    page.fill("#filter-from", "2024-01-01")
    page.fill("#filter-to", "2024-12-31")
    body = ask(page)
    assert body["filter"] == {
        "and": [
            {"field": "type", "eq": "md"},
            {"field": "modified", "gte": "2024-01-01"},
            {"field": "modified", "lte": "2024-12-31"},
        ]
    }
    # md files modified in 2024: the old contract is out by date, the memo by type
    assert sorted(source_files(page)) == ["notes/hours.md", "notes/lunch.md"]
    page.fill("#filter-tags", "team=blue")
    body = ask(page)
    assert body["filter"]["and"][-1] == {"field": "tags.team", "eq": "blue"}
    assert source_files(page) == ["notes/lunch.md"]


def test_a_malformed_tag_is_reported_and_nothing_is_asked(watched: Watched):
    page = watched.page
    open_bar(page)
    page.fill("#filter-tags", "team")
    expect(page.locator("#filter-error")).to_have_text(
        "Tags: write key=value; “team” has no value."
    )
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/ask" in r.url else None)
    page.fill("#question", "When is lunch?")
    page.press("#question", "Enter")
    expect(page.locator("#filter-error")).to_be_focused()
    assert asked == [] and page.locator("li.turn").count() == 0
    expect(page.locator("#question")).to_have_value("When is lunch?")


def test_the_bar_works_from_the_keyboard_on_a_phone_and_survives_a_reload(
    browser: Browser, url: str
):
    size = {"width": 390, "height": 800}
    with watched_page(browser, url, viewport=size, is_mobile=True, has_touch=True) as w:
        page = w.page
        page.focus("#filter-bar summary")
        page.keyboard.press("Enter")
        expect(page.locator("#filter-folder")).to_be_visible()
        page.keyboard.press("Tab")
        expect(page.locator("#filter-folder")).to_be_focused()
        page.keyboard.type("notes/")
        page.keyboard.press("Tab")
        expect(page.locator("#filter-type")).to_be_focused()
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
        box = page.locator("#filter-clear").bounding_box()
        assert box and box["x"] + box["width"] <= size["width"]
        page.keyboard.press("Escape")
        expect(page.locator("#filter-folder")).to_be_hidden()
        expect(page.locator("#filter-bar summary")).to_be_focused()
        page.reload()
        expect(page.locator("#filter-summary")).to_have_text("in notes/")
        assert ask(page)["filter"] == {"field": "source", "prefix": "notes/"}
        assert sorted(source_files(page)) == ["notes/hours.md", "notes/lunch.md"]
        w.assert_no_script_ran()
        assert w.csp_violations == []
