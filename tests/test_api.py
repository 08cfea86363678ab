"""The HTTP API on fakes: validation, error mapping, SSE order, documents."""

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.answering.services import Services
from app.server.main import create_app
from index.errors import ModelMismatch
from ingest.pipeline import build_ingestor, discover
from tests.fakes import FakeEmbedder, FakeGenerator
from tests.support import write_files


@pytest.fixture
def services(settings, embedder, library) -> Services:
    return Services(settings, embedder, FakeGenerator(), library)


@pytest.fixture
def client(services) -> TestClient:
    with TestClient(create_app(services=services)) as c:
        yield c


@pytest.fixture
def ingested(services, tmp_path: Path) -> Services:
    root = write_files(
        tmp_path / "docs",
        {
            "paris.md": "# Paris\n\nParis is the capital of France. It has the Eiffel tower.",
            "tokyo.txt": "Tokyo is the capital of Japan. It is a very large city.",
        },
    )
    build_ingestor(services.settings, services.embedder, services.store).ingest(discover([root]))
    return services


def test_blank_question_is_422_with_a_message(client):
    response = client.post("/api/ask", json={"question": "   "})
    assert response.status_code == 422
    assert "must not be empty" in response.text


def test_unknown_fields_are_rejected(client):
    assert client.post("/api/ask", json={"question": "q", "bogus": 1}).status_code == 422


def test_asking_before_ingest_says_to_run_ingest(client):
    response = client.post("/api/ask", json={"question": "anything?"})
    assert response.status_code == 409
    assert response.json()["error"] == "empty_collection"
    assert "ingest" in response.json()["detail"]


def test_search_finds_the_right_document(ingested, client):
    response = client.post("/api/search", json={"query": "capital of Japan", "k": 2})
    results = response.json()["results"]
    assert results[0]["source"] == "tokyo.txt"
    assert set(results[0]) >= {"chunk_id", "text", "source", "page", "score"}


def test_ask_returns_numbered_sources_and_filters_bad_citations(ingested, services, client):
    services.generator.answer = "Tokyo is the capital of Japan [1]. Also [7]."
    body = client.post("/api/ask", json={"question": "capital of Japan?"}).json()
    assert body["answer"] == "Tokyo is the capital of Japan [1]. Also."
    assert body["invalid_citations_removed"] == 1
    first = body["sources"][0]
    assert (first["n"], first["source"], first["cited"]) == (1, "tokyo.txt", True)
    assert first["quote"] == "Tokyo is the capital of Japan."
    assert body["context"]["used"][0] == first["chunk_id"]


def test_sse_sends_sources_then_tokens_then_done(ingested, client):
    with client.stream(
        "POST", "/api/ask", json={"question": "capital of Japan?", "stream": True}
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = list(r.iter_lines())
    events = [line.split(":", 1)[1].strip() for line in lines if line.startswith("event:")]
    data = [json.loads(line.split(":", 1)[1]) for line in lines if line.startswith("data:")]
    assert events[0] == "sources" and events[-1] == "done"
    assert set(events[1:-1]) == {"token"} and len(events) >= 3
    # Tokens may come several to an event (coalesced): together they are all the model said.
    assert "".join(d["text"] for d in data[1:-1]) == FakeGenerator().answer


def test_documents_upload_list_delete(services, client):
    files = [
        ("file", ("../../evil/notes.md", b"# Notes\n\nUploaded text.")),
        ("file", ("photo.gif", b"GIF89a")),
    ]
    summary = client.post("/api/documents", files=files).json()
    assert (summary["added"], summary["skipped"]) == (1, 1)
    docs = client.get("/api/documents").json()["documents"]
    assert [d["source"] for d in docs] == ["notes.md"]
    assert client.delete(f"/api/documents/{docs[0]['id']}").json()["deleted"] == docs[0]["id"]
    assert client.get("/api/documents").json()["documents"] == []
    assert client.delete("/api/documents/nope").status_code == 404


def test_upload_over_the_limit_is_413(services, client):
    services.settings.max_upload_mb = 0.001
    response = client.post("/api/documents", files=[("file", ("big.txt", b"x" * 5000))])
    assert response.status_code == 413
    assert client.get("/api/documents").json()["documents"] == []


def test_health_reports_models_and_collections(ingested, client):
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert health["models"]["generation"]["device"] == "cpu"
    assert health["collections"]["default"] == {"documents": 2, "chunks": 2}


def test_invalid_collection_name_is_422(client):
    response = client.post("/api/search", json={"query": "q", "collection": "../etc"})
    assert response.status_code == 422 and "collection name" in response.json()["detail"]


def test_server_refuses_an_index_built_by_another_model(ingested, settings, library):
    other = Services(settings, FakeEmbedder(name="another-model"), FakeGenerator(), library)
    with (
        pytest.raises(ModelMismatch, match="ingest --rebuild"),
        TestClient(create_app(services=other)),
    ):
        pass


def test_openapi_documents_the_api(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/ask", "/api/search", "/api/documents", "/health"} <= set(paths)
    assert json.dumps(paths["/api/ask"]).count("text/event-stream") >= 1
