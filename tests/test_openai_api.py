"""OpenAI-compatible routes, /metrics and the ask stream's report, on fakes (real: e2e)."""

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.answering.services import Services
from app.server.main import create_app
from ingest.pipeline import build_ingestor, discover
from tests.fakes import FakeGenerator
from tests.support import write_files


@pytest.fixture
def client(settings, embedder, library, tmp_path: Path):
    services = Services(settings, embedder, FakeGenerator(answer="Tokyo [1]. Also [9]."), library)
    root = write_files(tmp_path / "docs", {"tokyo.txt": "Tokyo is the capital of Japan."})
    build_ingestor(settings, embedder, library).ingest(discover([root]))
    with TestClient(create_app(services=services)) as c:
        yield c


def chat(client, **body):
    body = {"model": "ragd", "messages": [{"role": "user", "content": "capital of Japan?"}]} | body
    return client.post("/v1/chat/completions", json=body)


def test_models_list_the_default_and_each_collection(client):
    ids = [m["id"] for m in client.get("/v1/models").json()["data"]]
    assert ids == ["ragd", "ragd/default"]


def test_completion_has_the_openai_shape_plus_checked_sources(client):
    body = chat(client, temperature=0.7, max_tokens=100).json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Tokyo [1]. Also."}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["total_tokens"] == sum(
        body["usage"][k] for k in ("prompt_tokens", "completion_tokens")
    )
    assert body["sources"][0]["source"] == "tokyo.txt" and body["sources"][0]["cited"]
    assert body["ragd"]["invalid_citations_removed"] == 1


def test_named_collection_and_unknown_model(client):
    assert chat(client, model="ragd/default").status_code == 200
    missing = chat(client, model="ragd/nope")
    assert missing.status_code == 409 and "ingest" in missing.json()["detail"]
    unknown = chat(client, model="gpt-4o")
    assert unknown.status_code == 404 and "ragd/<collection>" in unknown.json()["detail"]


def test_last_message_must_be_the_users_question(client):
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert chat(client, messages=messages).status_code == 422


def test_streamed_chunks_carry_sources_first_and_end_with_done(client):
    with client.stream(
        "POST",
        "/v1/chat/completions",
        json={
            "model": "ragd",
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "capital of Japan?"}],
        },
    ) as r:
        data = [line[5:].strip() for line in r.iter_lines() if line.startswith("data:")]
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant" and chunks[0]["sources"]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "Tokyo [1]. Also [9]."  # raw tokens; the checked answer is in the last chunk
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-2]["ragd"]["answer"] == "Tokyo [1]. Also."
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0


def test_done_event_reports_usage_and_timings(client):
    with client.stream("POST", "/api/ask", json={"question": "Japan?", "stream": True}) as r:
        data = [line[5:].strip() for line in r.iter_lines() if line.startswith("data:")]
    done = json.loads(data[-1])
    assert set(done["timings"]) >= {
        "retrieval_ms",
        "time_to_first_token_ms",
        "tokens_per_second",
        "queue_ms",
    }
    assert done["usage"]["completion_tokens"] > 0 and done["retrieval_query"] == "Japan?"


def test_follow_up_reports_its_standalone_query(client):
    history = [
        {"role": "user", "content": "What is the capital of Japan?"},
        {"role": "assistant", "content": "Tokyo."},
    ]
    body = client.post("/api/ask", json={"question": "How big?", "history": history}).json()
    assert body["query_rewrite"] in ("model", "keywords") and "japan" in body["retrieval_query"]


def test_metrics_count_requests_by_route_template_and_status(client):
    chat(client)
    chat(client, model="gpt-4o")
    client.delete("/api/documents/nope")
    text = client.get("/metrics").text
    assert (
        'ragd_requests_total{method="POST",route="/v1/chat/completions",status="2xx"} 1.0' in text
    )
    assert 'route="/v1/chat/completions",status="4xx"} 1.0' in text
    assert 'route="/api/documents/{doc_id}",status="4xx"' in text
    for name in (
        "ragd_retrieval_seconds_count 1.0",
        "ragd_time_to_first_token_seconds_count 1.0",
        "ragd_tokens_per_second_count",
        "ragd_queue_depth 0.0",
        "ragd_queue_rejections_total 0.0",
    ):
        assert name in text
