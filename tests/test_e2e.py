"""End to end on the real packaged models: `ingest`, `ragd serve` over a socket, `ragd ask`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from config.settings import Settings
from tests.support import INGEST, RAGD, SAMPLES, env_for, free_port, run, running_ragd

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("e2e") / "data"
    result = run([*INGEST, str(SAMPLES), "--json"], env_for(data))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["added"], summary["skipped"], summary["failed"]) == (5, 0, 0)
    return data


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
    from app.answering.retrieval import check_model
    from config.factories import load_embedder
    from index.faiss_store.store import FaissStore

    embedder = load_embedder(Settings(data_dir=data_dir, _env_file=None))  # type: ignore[call-arg]
    store = FaissStore(data_dir / "index")
    check_model(store, embedder, "default")  # the index's own backend, as the product checks
    snap = store.collection("default").snapshot()
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
    from app.evals.scoring import token_f1

    question, answers = "Which ingest flag removes documents whose files are gone?", ["--prune"]
    qa = tmp_path / "qa.jsonl"
    qa.write_text(
        json.dumps({"question": question, "answers": answers, "source": "user-guide.md"})
        + "\n"
        + json.dumps({"question": "Who won the 2014 FIFA World Cup final?", "answers": []})
        + "\n"
    )
    details = tmp_path / "details.jsonl"
    result = run([*RAGD, "eval", str(qa), "--json", "--details", str(details)], env_for(data_dir))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["questions"], report["answerable"]) == (2, 1)
    assert report["source_recall_at_k"] == 1.0
    assert report["abstained_when_unanswerable"] == 1.0
    assert report["abstained_when_answerable"] == 0.0
    # The score is the F1 of the answer ragd gave, its citation markers left out.
    answer = json.loads(details.read_text().splitlines()[0])["answer"]
    plain = re.sub(r"\s?\[\d+(?:\s*[,;]\s*\d+)*\]", "", answer).strip()
    assert report["token_f1"] == pytest.approx(token_f1(plain, answers)), answer
