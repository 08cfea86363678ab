"""End to end on the real packaged models: `ingest`, `ragd serve` over a socket, `ragd ask`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest

from config.settings import Settings

pytestmark = pytest.mark.e2e
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("e2e") / "data"
    result = run([*INGEST, str(SAMPLES), "--json"], env_for(data))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["added"], summary["skipped"], summary["failed"]) == (5, 0, 0)
    return data


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


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[str]:
    with running_ragd(env_for(data_dir)) as url:
        yield url


def test_reingesting_the_samples_changes_nothing(data_dir: Path):
    result = run([*INGEST, str(SAMPLES), "--json"], env_for(data_dir))
    summary = json.loads(result.stdout)
    assert (summary["unchanged"], summary["chunks"]) == (5, 0)
    assert run([*RAGD, "index", "check"], env_for(data_dir)).returncode == 0


def test_search_finds_the_pdf_page(server: str):
    results = httpx.post(f"{server}/api/search", json={"query": "name of the lock file"}).json()
    top = results["results"][0]
    assert (top["source"], top["page"]) == ("architecture.pdf", 2)
    assert "write.lock" in top["text"]


def test_answer_cites_the_one_file_that_holds_it(server: str):
    response = httpx.post(
        f"{server}/api/ask", json={"question": "When do the ragd maintainers meet?"}, timeout=120
    )
    body = response.json()
    assert response.status_code == 200, body
    assert body["answer"].strip()
    cited = {s["source"] for s in body["sources"] if s["cited"]}
    assert "team-faq.docx" in cited, body
    assert body["usage"]["completion_tokens"] > 0


def test_streamed_answer_events_arrive_in_order(server: str):
    events: list[tuple[str, dict]] = []
    with httpx.stream(
        "POST",
        f"{server}/api/ask",
        timeout=120,
        json={"question": "how do I add documents?", "stream": True},
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        name = ""
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line.split(":", 1)[1])))
    names = [n for n, _ in events]
    assert names[0] == "sources" and names[-1] == "done" and "token" in names
    sources = events[0][1]["sources"]
    assert any(s["source"] == "user-guide.md" for s in sources)
    done = events[-1][1]
    streamed = "".join(d["text"] for n, d in events if n == "token")
    assert streamed.strip() and done["answer"].strip()
    assert done["timings"]["time_to_first_token_ms"] > 0


def test_health_and_page(server: str):
    health = httpx.get(f"{server}/health").json()
    assert health["collections"]["default"]["documents"] == 5
    assert health["models"]["embedding"]["dimension"] == 384
    page = httpx.get(server)
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers


def test_ragd_ask_prints_answer_and_sources(data_dir: Path):
    result = run(
        [*RAGD, "ask", "What is the name of the lock file?", "--json"],
        env_for(data_dir),
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["answer"].strip()
    assert ("architecture.pdf", 2) in {(s["source"], s["page"]) for s in body["sources"]}


def test_missing_model_path_refuses_to_start(data_dir: Path):
    env = env_for(data_dir, RAGD_LLM_MODEL="/no/such/model.gguf")
    result = run([*RAGD, "serve", "--port", str(free_port())], env, timeout=60)
    assert result.returncode == 2
    assert "/no/such/model.gguf" in result.stderr


def test_no_chunk_exceeds_the_real_embedder_limit(data_dir: Path):
    from index.faiss_store.store import FaissStore
    from models.embedder import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder("sentence-transformers/all-MiniLM-L6-v2")
    snap = FaissStore(data_dir / "index").collection("default").snapshot()
    rows = snap.chunk_store.chunks(
        snap.generation, snap.chunk_store.live_ids(snap.generation).tolist()
    )
    texts = [c.text for c in rows.values()]
    limit = embedder.max_tokens - embedder.special_tokens
    assert texts and max(embedder.count_tokens(texts)) <= limit


def test_out_of_domain_question_gets_the_fixed_refusal_and_nearest_sources(server: str):
    from app.answering.answer import ABSTAIN_ANSWER

    question = {"question": "Who won the 2014 FIFA World Cup final?"}
    body = httpx.post(f"{server}/api/ask", json=question, timeout=120).json()
    assert (body["answer"], body["answerable"]) == (ABSTAIN_ANSWER, False), body
    assert body["sources"] and body["usage"]["completion_tokens"] == 0
    assert body["answerability"] < body["abstain_threshold"] == Settings().abstain_below


# The default abstention on the samples: tests/test_answers_e2e.py.


def test_ragd_eval_scores_a_qa_file_against_the_collection(data_dir: Path, tmp_path: Path):
    qa = tmp_path / "qa.jsonl"
    qa.write_text(
        json.dumps(
            {
                "question": "Which ingest flag removes documents whose files are gone?",
                "answers": ["--prune", "prune"],
                "source": "user-guide.md",
            }
        )
        + "\n"
        + json.dumps({"question": "Who won the 2014 FIFA World Cup final?", "answers": []})
        + "\n"
    )
    result = run([*RAGD, "eval", str(qa), "--json"], env_for(data_dir))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["questions"], report["answerable"]) == (2, 1)
    assert report["source_recall_at_k"] == 1.0
    assert report["abstained_when_unanswerable"] == 1.0
    assert report["abstained_when_answerable"] == 0.0
    assert 0.0 <= report["token_f1"] <= 1.0
