"""Retake the README's screenshots of the web page (light, dark, phone) from a running server.

make demo                                    # in one terminal: samples ingested, serving
.venv/bin/python docs/screenshots.py http://127.0.0.1:8000
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Browser, expect, sync_playwright

HERE = Path(__file__).resolve().parent
QUESTION = "When do the ragd maintainers meet?"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SHOTS = {
    "screenshot-light.png": {"viewport": {"width": 1280, "height": 760}, "color_scheme": "light"},
    "screenshot-dark.png": {"viewport": {"width": 1280, "height": 760}, "color_scheme": "dark"},
    "screenshot-mobile.png": {
        "viewport": {"width": 390, "height": 800},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
        "color_scheme": "light",
    },
}


def shoot(browser: Browser, url: str, name: str, options: dict) -> None:
    context = browser.new_context(**options)
    page = context.new_page()
    page.goto(url)
    page.fill("#question", QUESTION)
    page.press("#question", "Enter")
    answer = page.locator("li.turn.assistant").last
    expect(answer.get_by_role("button", name="Copy")).to_be_visible(timeout=240_000)
    answer.locator(".cite").first.click()
    page.wait_for_timeout(600)  # the smooth scroll to the quoted passage
    page.screenshot(path=HERE / name)
    context.close()


def main(url: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for name, options in SHOTS.items():
            shoot(browser, url, name, options)
            print(HERE / name)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
