"""Test support: running the CLIs and servers (subprocess or in-thread), files, the browser."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:  # playwright loads only in the browser tests
    from playwright.sync_api import Browser, BrowserContext, Page

    from app.answering.evidence import SentenceEvidence

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
# `python -m` runs this checkout's code, whichever checkout the virtualenv was installed from.
INGEST = [sys.executable, "-m", "app.cli.ingest"]
RAGD = [sys.executable, "-m", "app.cli"]


def env_for(data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "RAGD_DATA_DIR": str(data_dir),
        "RAGD_LLM_TEMPERATURE": "0",
        "HF_HUB_OFFLINE": "1",
        **extra,
    }


def run(
    cmd: list[str], env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return root


def ingest_manual_pages(factory: Any, manual: Path, pages: list[str], name: str) -> Path:
    """A data folder of its own holding `pages` (NAME.html) of an installed manual, ingested
    by the real `ingest` command; `factory` is pytest's tmp_path_factory."""
    assert (manual / f"{pages[0]}.html").is_file(), f"missing {manual}: run `make tools`"
    corpus = factory.mktemp(name)
    for page in pages:
        shutil.copy(manual / f"{page}.html", corpus)
    data: Path = factory.mktemp(f"{name}-data")
    result = run([*INGEST, str(corpus)], env_for(data))
    assert result.returncode == 0, result.stderr
    return data


def start_interruptible(command: list[str], data: Path, log: IO[str]) -> subprocess.Popen[str]:
    """`command` started for a test that will Ctrl-C it, with SIGINT at its default in the
    child: a runner started in the background (`cmd &`, nohup) passes SIGINT on ignored, and
    Python then installs no KeyboardInterrupt handler."""
    return subprocess.Popen(
        command,
        env=env_for(data),
        cwd=ROOT,
        stdout=log,
        stderr=log,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_ragd(env: dict[str, str]) -> Iterator[str]:
    """`ragd serve` on a free port: yields its URL once /health answers, stops it afterwards.

    Output goes to a file, not a pipe nobody reads, so a chatty server can never block.
    """
    port = free_port()
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen(
            [*RAGD, "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc, log)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def wait_healthy(url: str, proc: subprocess.Popen[str], log: IO[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise AssertionError(f"server exited: {log.read()}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError("server did not become healthy")


@contextmanager
def running_llama_server() -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server on the packaged GGUF: yields its /v1 URL."""
    from models.resolve import packaged_llm_model

    port = free_port()
    model = str(packaged_llm_model())
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", model, "--n_ctx", "2048"]
    proc = subprocess.Popen(
        [*cmd, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_for_models(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def running_milvus_server(data: Path) -> Iterator[str]:
    """milvus-lite as a gRPC server on a free port, its files in `data`: yields its URI."""
    port = free_port()
    cmd = [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data)]
    with (data / "server.log").open("w") as log:
        proc = subprocess.Popen(
            [*cmd, "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=log
        )
        uri = f"http://127.0.0.1:{port}"
        try:
            _wait_for_milvus(uri, proc)
            yield uri
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _wait_for_milvus(uri: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    from pymilvus import MilvusClient

    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, "milvus_lite server exited"
        try:
            MilvusClient(uri=uri, timeout=2).list_collections()
            return
        except Exception:
            assert time.monotonic() < deadline, "milvus_lite server did not start"
            time.sleep(0.5)


def _wait_for_models(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, "llama_cpp.server exited"
        assert time.monotonic() < deadline, "llama_cpp.server did not start"
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.3)


class ThreadedServer:
    """A real uvicorn server on a free loopback port, run in a thread of the test process."""

    def __init__(self, app: Any) -> None:
        import uvicorn

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
        self.thread.join(timeout=30)


# The browser: Debian's chromium under Playwright (`make test` installs it; Playwright never
# downloads a browser of its own).
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
    from playwright.sync_api import sync_playwright

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


def evidence(question: str, *texts: str) -> SentenceEvidence:
    """The SentenceEvidence of `texts` as the passages retrieved for `question` (one chunk of
    its own document each, in order), over the shared FakeEmbedder."""
    from app.answering.evidence import SentenceEvidence
    from app.answering.prompt import Passage
    from index.types import ChunkRow
    from tests.fakes import FakeEmbedder

    rows = [ChunkRow(i, f"d{i}", f"doc{i}.txt", 0, t, None, None) for i, t in enumerate(texts)]
    return SentenceEvidence(FakeEmbedder(), question, [Passage(r, 1.0) for r in rows])
