"""The page in a real browser against a real uvicorn app whose model is a fake that emits HTML.

The fake is here because these tests are about the page (markup from the model shown as text,
429 retries, the API key, history, errors, phone layout); test_browser.py runs the real models.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, Route, expect

from app.answering.services import Services
from app.server.main import create_app
from config.settings import Settings
from index.faiss_store.store import FaissStore
from ingest.pipeline import build_ingestor, discover
from tests.fakes import FakeEmbedder, FakeGenerator
from tests.support import ThreadedServer, Watched, launch, watched_page, write_files

ANSWER = (
    "Lunch is **served at noon** in the Orchard room [1]. The model also wrote "
    "<script>alert('answer-script')</script> and <img src=x onerror=\"alert('answer-img')\"> "
    "and [a link](javascript:alert('answer-link'))."
)
pytestmark = pytest.mark.browser
KEY = "ragd_browser-page-test-key-0123"  # long enough for the real Guard (16+ characters)


@dataclass
class Fake:
    url: str
    app: FastAPI
    generator: FakeGenerator


@contextmanager
def serving_fake(root: Path, **values: Any) -> Iterator[Fake]:
    """The real app (real Guard, FAISS, sandbox) on a socket, its models the fakes."""
    # The page is under test, not answering: the fake model's words are shown as generated.
    values = {"answer_mode": "generative", "abstain_below": 0.0, **values}
    settings = Settings(data_dir=root / "data", max_upload_mb=0.02, _env_file=None, **values)
    generator = FakeGenerator(ANSWER, delay=0.02)
    services = Services(settings, FakeEmbedder(), generator, FaissStore(settings.index_dir))
    docs = write_files(
        root / "docs",
        {
            "lunch.md": "# Lunch\n\nLunch is served at noon in the Orchard room.",
            "hours.md": "# Hours\n\nThe kitchen opens at eight and closes at three.",
        },
    )
    build_ingestor(settings, services.embedder, services.store).ingest(discover([docs]))
    app = create_app(services=services)
    with ThreadedServer(app) as server:
        yield Fake(server.url, app, generator)


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fake]:
    with serving_fake(tmp_path_factory.mktemp("browser-page")) as served:
        yield served


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fake]:
    """The same, with RAGD_API_KEYS set: the Guard refuses /api without the key."""
    with serving_fake(tmp_path_factory.mktemp("browser-keyed"), api_keys=KEY) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch() as b:
        yield b


@pytest.fixture
def watched(browser: Browser, fake: Fake) -> Iterator[Watched]:
    with watched_page(browser, fake.url) as w:
        yield w
        assert w.csp_violations == [], w.csp_violations
        w.assert_no_script_ran()


def ask(page: Page, question: str) -> None:
    page.fill("#question", question)
    page.press("#question", "Enter")


def last_answer(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("li.turn.assistant").last


def wait_answered(page: Page) -> None:
    expect(last_answer(page).get_by_role("button", name="Copy")).to_be_visible()


def test_model_markup_is_shown_as_text_and_markdown_as_formatting(watched: Watched):
    page = watched.page
    ask(page, "When is lunch?")
    wait_answered(page)
    answer = last_answer(page).locator(".answer")
    expect(answer).to_contain_text("<script>alert('answer-script')</script>")
    expect(answer).to_contain_text("<img src=x onerror=\"alert('answer-img')\">")
    assert answer.locator("script, img, iframe").count() == 0
    expect(answer.locator("strong")).to_have_text("served at noon")
    assert answer.locator("a[href^='javascript']").count() == 0
    answer.locator(".cite").click()
    expect(page.locator("#source-1")).to_contain_text("lunch.md")
    expect(page.locator("#source-1 mark")).to_contain_text("Lunch is served at noon")
    expect(page.locator("#sources-cited li")).to_have_count(1)
    expect(page.locator("#uncited-title")).to_have_text("Retrieved but not cited (1)")
    expect(page.locator("#sources-uncited li")).to_contain_text("hours.md")


def test_copy_puts_the_answer_on_the_clipboard(watched: Watched):
    page = watched.page
    watched.context.grant_permissions(["clipboard-read", "clipboard-write"])
    ask(page, "When is lunch?")
    wait_answered(page)
    last_answer(page).get_by_role("button", name="Copy").click()
    expect(last_answer(page).get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()").startswith("Lunch is **served")


def test_busy_server_is_retried_after_retry_after(watched: Watched, fake: Fake):
    queue = fake.app.state.answerer.queue
    queue.depth = -1  # every request is refused: 429, Retry-After 1 (nothing admitted yet)
    try:
        ask(watched.page, "When is lunch?")
        expect(last_answer(watched.page).locator(".state")).to_contain_text(
            "The model is busy, retrying in 1 s"
        )
    finally:
        queue.depth = 8
    wait_answered(watched.page)
    expect(last_answer(watched.page).locator(".answer")).to_contain_text("Lunch is")


def test_api_key_field_appears_on_401_and_the_key_is_sent(browser: Browser, keyed: Fake):
    with watched_page(browser, keyed.url) as watched:
        page = watched.page
        expect(page.locator("#key-form")).to_be_visible()
        expect(page.locator("#key-message")).to_contain_text("API key is required")
        ask(page, "When is lunch?")
        expect(last_answer(page).locator(".state")).to_contain_text("Enter the server's API key")
        page.fill("#api-key", KEY)
        page.press("#api-key", "Enter")
        expect(page.locator("#key-form")).to_be_hidden()
        last_answer(page).get_by_role("button", name="Retry").click()
        wait_answered(page)
        assert page.evaluate("localStorage.getItem('ragd.apiKey')") == KEY
        assert watched.csp_violations == [], watched.csp_violations
        watched.assert_no_script_ran()


def test_conversation_survives_reload_and_follow_ups_send_history(watched: Watched, fake: Fake):
    page = watched.page
    page.fill("#question", "When is lunch")
    page.press("#question", "Shift+Enter")
    page.type("#question", "on Fridays?")
    assert page.input_value("#question") == "When is lunch\non Fridays?"
    page.press("#question", "Enter")
    wait_answered(page)
    ask(page, "And where?")
    wait_answered(page)
    history = [m for m in fake.generator.prompts[-1] if m["role"] in ("user", "assistant")]
    assert history[0]["content"] == "When is lunch\non Fridays?"
    assert history[1]["content"].startswith("Lunch is **served at noon** in the Orchard room.")
    page.reload()
    expect(page.locator("li.turn.user")).to_have_count(2)
    expect(page.locator("li.turn.user .question").first).to_have_text("When is lunch\non Fridays?")
    page.click("#new-chat")
    expect(page.locator("li.turn")).to_have_count(0)
    expect(page.locator("#welcome")).to_be_visible()
    page.reload()
    expect(page.locator("#welcome")).to_be_visible()


def abstaining_stream(route: Route) -> None:
    sources = [
        {
            "n": n,
            "chunk_id": n,
            "doc_id": "d",
            "source": f"near-{n}.md",
            "page": None,
            "quote": "",
            "text": f"Passage {n} talks about something else.",
            "score": 0.1,
            "cited": False,
        }
        for n in (1, 2)
    ]
    done = {
        "answer": "I could not find this in the documents.",
        "sources": sources,
        "answerable": False,
    }
    events = [
        ("sources", {"sources": sources}),
        ("token", {"text": done["answer"]}),
        ("done", done),
    ]
    body = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)
    route.fulfill(status=200, body=body, headers={"content-type": "text/event-stream"})


def test_abstention_is_said_plainly_with_the_nearest_sources(watched: Watched):
    page = watched.page
    page.route("**/api/ask", abstaining_stream)
    ask(page, "What is the airspeed of a swallow?")
    state = last_answer(page).locator(".state")
    expect(state).to_contain_text("could not answer this from the documents")
    expect(page.locator("#cited-title")).to_have_text("Nearest passages")
    expect(page.locator("#sources-cited li")).to_have_count(2)
    expect(page.locator("#uncited-block")).to_be_hidden()


def test_api_errors_read_as_sentences(watched: Watched, fake: Fake):
    page = watched.page
    page.click("#open-documents")
    page.fill("#new-collection-name", "empty")
    page.press("#new-collection-name", "Enter")
    expect(page.locator("#documents-collection")).to_have_text("empty")
    page.click("#close-documents")
    expect(page.locator("#collection")).to_have_value("empty")
    ask(page, "Anything here?")
    state = last_answer(page).locator(".state")
    expect(state).to_contain_text("is empty")
    expect(state).to_contain_text("Add documents with the Documents button first.")
    invalid = httpx.post(f"{fake.url}/api/ask", json={"question": "   ", "k": 1})
    assert invalid.status_code == 422 and isinstance(invalid.json()["detail"], list)
    message = page.evaluate(
        "async ([status, body]) => (await import('/static/api.js')).describe(status, body)",
        [invalid.status_code, invalid.json()],
    )
    assert "question: Value error, must not be empty" in message
    assert "k: Extra inputs are not permitted" in message


def test_uploads_show_progress_outcome_and_errors(watched: Watched, tmp_path: Path):
    page = watched.page
    page.click("#open-documents")
    good = write_files(tmp_path, {"menu.txt": "Soup on Mondays, fish on Fridays."}) / "menu.txt"
    big = write_files(tmp_path, {"big.txt": "word " * 40_000}) / "big.txt"
    page.set_input_files("#file-input", [str(good), str(big)])
    uploads = page.locator("#uploads li")
    expect(uploads.filter(has_text="menu.txt")).to_contain_text("added, 1 passage")
    expect(uploads.filter(has_text="big.txt")).to_contain_text(
        "failed: The request body is larger than the 0.1 MB limit"
    )
    expect(page.locator("#documents-list tr", has_text="menu.txt")).to_have_count(1)


def test_phone_screen_dark_mode_and_keyboard(browser: Browser, fake: Fake):
    size = {"width": 390, "height": 800}
    with watched_page(browser, fake.url, viewport=size, color_scheme="dark") as w:
        page = w.page
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert sum(int(x) for x in background[4:-1].split(",")) < 100, background
        ask(page, "When is lunch?")
        wait_answered(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
        expect(page.locator("#sources-panel")).to_be_hidden()
        last_answer(page).locator(".cite").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#sources-panel")).to_be_visible()
        expect(page.locator("#source-1")).to_be_focused()
        page.keyboard.press("Escape")
        expect(page.locator("#sources-panel")).to_be_hidden()
        w.assert_no_script_ran()


def test_stop_aborts_the_request_and_the_server_cancels_generation(watched: Watched, fake: Fake):
    page = watched.page
    fake.generator.cancelled.clear()
    fake.generator.delay = 0.5  # about 15 s for the whole answer: Stop lands mid-stream
    try:
        ask(page, "When is lunch?")
        answer = last_answer(page)
        expect(answer.locator(".answer")).to_contain_text("Lunch")
        page.click("#stop")
        expect(answer.locator(".state")).to_have_text("Stopped.")
        assert fake.generator.cancelled.wait(timeout=30), "the model was not told to stop"
    finally:
        fake.generator.delay = 0.02
    assert "Orchard" not in answer.locator(".answer").inner_text()
    expect(answer.get_by_role("button", name="Retry")).to_be_visible()


def test_page_is_served_with_a_strict_content_security_policy(fake: Fake):
    policy = httpx.get(fake.url).headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    for name in ("default-src", "script-src", "style-src", "img-src", "connect-src"):
        assert directives[name] == "'self'", policy
    assert "unsafe" not in policy


def test_a_queued_question_says_it_is_waiting_for_the_model(watched: Watched, fake: Fake):
    fake.generator.delay = 0.2  # the first answer holds the model for about 6 s
    first = threading.Thread(
        target=httpx.post,
        args=(f"{fake.url}/api/ask",),
        kwargs={"json": {"question": "When is lunch?"}, "timeout": 60},
    )
    first.start()
    try:
        deadline = time.monotonic() + 10
        while not httpx.get(f"{fake.url}/health").json()["queue"]["busy"]:
            assert time.monotonic() < deadline, "the first question never reached the model"
            time.sleep(0.05)
        ask(watched.page, "And where?")
        expect(last_answer(watched.page).locator(".state")).to_contain_text("Queued")
    finally:
        first.join()
        fake.generator.delay = 0.02
    wait_answered(watched.page)


def test_files_dropped_on_the_page_are_uploaded(watched: Watched):
    page = watched.page
    drop = page.evaluate_handle(
        """() => {
        const data = new DataTransfer();
        data.items.add(new File(['Tea is served at four.'], 'tea.txt', {type: 'text/plain'}));
        return data;
      }"""
    )
    page.dispatch_event("#thread", "dragover", {"dataTransfer": drop})
    page.dispatch_event("#thread", "drop", {"dataTransfer": drop})
    expect(page.locator("#documents")).to_be_visible()
    expect(page.locator("#uploads li", has_text="tea.txt")).to_contain_text("added")
    expect(page.locator("#documents-list tr", has_text="tea.txt")).to_have_count(1)
