"""Shared by the browser tests: Debian's chromium under Playwright, pages that record what ran."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.test_e2e import free_port

# Debian's chromium: `make test` installs it; Playwright never downloads a browser of its own.
CHROMIUM = Path(os.environ.get("RAGD_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@contextmanager
def launch() -> Iterator[Browser]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make test` installs it (apt-get chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watched:
    """A page plus everything it did that a test may need to rule out."""

    page: Page
    context: BrowserContext
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)

    def assert_no_script_ran(self) -> None:
        assert self.dialogs == [], f"a dialog opened: {self.dialogs}"
        assert self.page_errors == [], f"page errors: {self.page_errors}"


@contextmanager
def watched_page(browser: Browser, url: str, **context: Any) -> Iterator[Watched]:
    """A fresh context (its own localStorage) on `url`, with console and dialog listeners."""
    ctx = browser.new_context(**context)
    page = ctx.new_page()
    watched = Watched(page, ctx)
    page.on("pageerror", lambda err: watched.page_errors.append(str(err)))
    page.on("console", lambda msg: record_console(watched, msg.type, msg.text))
    page.on("dialog", lambda dialog: (watched.dialogs.append(dialog.message), dialog.dismiss()))
    page.set_default_timeout(30_000)
    page.goto(url)
    try:
        yield watched
    finally:
        ctx.close()


def record_console(watched: Watched, kind: str, text: str) -> None:
    watched.console.append(f"{kind}: {text}")
    if "Content Security Policy" in text:
        watched.csp_violations.append(text)


class ThreadedServer:
    """A real uvicorn server on a free loopback port, run in a thread of the test process."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
