"""The conversation list in a real browser (Debian chromium) against a real uvicorn server with
API keys: continue, rename, export (Markdown, JSON), delete; and a conversation started in one
browser context continued in another with the same key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support import ThreadedServer, launch, watched_page
from tests.team_support import ADMIN, A, client, team_box

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings, services = team_box(tmp_path_factory.mktemp("team-browser"))
    with ThreadedServer(client(settings, services).app) as running:
        yield running.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch() as b:
        yield b


def with_key(page: Page) -> None:
    """The key as the page keeps it after the key form, and the collection A."""
    page.evaluate(
        f"localStorage.setItem('ragd.apiKey', {json.dumps(ADMIN)});"
        f"localStorage.setItem('ragd.collection', {json.dumps(A)})"
    )
    page.reload()


def ask(page: Page, question: str) -> None:
    page.fill("#question", question)
    page.press("#question", "Enter")
    expect(
        page.locator("li.turn.assistant").last.get_by_role("button", name="Copy")
    ).to_be_visible()


def entry(page: Page, title: str):  # type: ignore[no-untyped-def]
    return page.locator("#conversation-list li", has_text=title)


def test_a_conversation_started_in_one_browser_continues_in_another(browser, server):
    with watched_page(browser, server) as first, watched_page(browser, server) as second:
        with_key(first.page)
        ask(first.page, "How do I brew tea?")
        expect(entry(first.page, "How do I brew tea?")).to_have_count(1)
        with_key(second.page)  # a fresh context: nothing of the first one's storage
        entry(second.page, "How do I brew tea?").get_by_role("button").first.click()
        expect(second.page.locator("li.turn.user .question")).to_have_text(["How do I brew tea?"])
        ask(second.page, "And with the kettle?")
        first.page.reload()
        entry(first.page, "How do I brew tea?").get_by_role("button").first.click()
        expect(first.page.locator("li.turn.user .question")).to_have_text(
            ["How do I brew tea?", "And with the kettle?"]
        )
        for watched in (first, second):
            watched.assert_no_script_ran()


def test_the_list_renames_exports_and_deletes(browser, server, tmp_path: Path):
    with watched_page(browser, server, accept_downloads=True) as watched:
        page = watched.page
        with_key(page)
        page.click("#new-chat")
        ask(page, "Where is the kettle guide?")
        item = entry(page, "Where is the kettle guide?")
        item.get_by_role("button", name="Rename").click()
        page.fill("#conversation-list input.rename", "Kettle notes")
        page.press("#conversation-list input.rename", "Enter")
        expect(entry(page, "Kettle notes")).to_have_count(1)
        with page.expect_download() as markdown:
            entry(page, "Kettle notes").get_by_role("button", name="Markdown").click()
        text = Path(markdown.value.path()).read_text()
        assert text.startswith("# Kettle notes") and "guide.txt" in text
        with page.expect_download() as exported:
            entry(page, "Kettle notes").get_by_role("button", name="JSON").click()
        kept = json.loads(Path(exported.value.path()).read_text())
        assert kept["turns"][0]["sources"][0]["source"] == "guide.txt"
        entry(page, "Kettle notes").get_by_role("button", name="Delete").click()
        expect(entry(page, "Kettle notes")).to_have_count(0)
        expect(page.locator("li.turn")).to_have_count(0)  # the open one was deleted: a new chat
        watched.assert_no_script_ran()
