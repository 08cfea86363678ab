"""Filters and metadata over HTTP and the CLI: 422s, search/ask/v1 filtering, PATCH tags,
upload tag fields, `ingest --tag` and Markdown front matter, an old chunk store migrated."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.answering.services import Services
from app.cli.ingest import parse_args, tag_pair
from app.server.main import create_app
from index.faiss_store.chunkstore import ChunkStore
from ingest.pipeline import build_ingestor, discover
from tests.fakes import FakeGenerator
from tests.support import write_files


@pytest.fixture
def services(settings, embedder, library, tmp_path: Path) -> Services:
    services = Services(settings, embedder, FakeGenerator(), library)
    root = write_files(
        tmp_path / "docs",
        {
            "legal/lease.md": "---\ntitle: The lease\nclient: acme\ntags: [signed]\n---\n"
            "# Rent\n\nThe rent of the flat is due monthly.",
            "notes/rent.txt": "The rent of the garage is due weekly.",
        },
    )
    build_ingestor(settings, embedder, library).ingest(discover([root]))
    return services


@pytest.fixture
def client(services) -> TestClient:
    with TestClient(create_app(services=services)) as c:
        yield c


def test_search_with_a_filter_returns_only_matching_documents(client):
    body = {"query": "rent due", "k": 5, "filter": {"field": "source", "prefix": "notes/"}}
    results = client.post("/api/search", json=body).json()["results"]
    assert results and {r["source"] for r in results} == {"notes/rent.txt"}


def test_front_matter_gives_title_and_tags_and_is_not_indexed(client):
    docs = {d["source"]: d for d in client.get("/api/documents").json()["documents"]}
    lease = docs["legal/lease.md"]
    assert lease["title"] == "The lease" and lease["type"] == "md"
    assert lease["tags"] == {"client": "acme", "signed": "yes"}
    assert lease["size"] > 0 and lease["modified"].startswith("20")
    body = {"query": "acme", "k": 5, "mode": "keyword"}
    assert client.post("/api/search", json=body).json()["results"] == []
    tagged = {"query": "rent", "filter": {"field": "tags.client", "eq": "acme"}}
    assert [r["source"] for r in client.post("/api/search", json=tagged).json()["results"]] == [
        "legal/lease.md"
    ]


@pytest.mark.parametrize("route", ["/api/search", "/api/ask", "/v1/chat/completions"])
def test_an_invalid_filter_is_a_422_naming_the_problem(client, route: str):
    bad = {"field": "colour", "eq": "red"}
    bodies = {
        "/api/search": {"query": "rent", "filter": bad},
        "/api/ask": {"question": "rent?", "filter": bad},
        "/v1/chat/completions": {"messages": [{"role": "user", "content": "rent?"}], "filter": bad},
    }
    response = client.post(route, json=bodies[route])
    assert response.status_code == 422
    assert "unknown field 'colour'" in response.text


def test_ask_and_v1_answer_from_the_filtered_documents_only(client):
    where = {"field": "type", "eq": "txt"}
    ask = client.post("/api/ask", json={"question": "When is rent due?", "filter": where})
    assert {s["source"] for s in ask.json()["sources"]} == {"notes/rent.txt"}
    chat = {"messages": [{"role": "user", "content": "When is rent due?"}], "filter": where}
    assert client.post("/v1/chat/completions", json=chat).status_code == 200


def test_patch_replaces_tags_and_the_next_search_sees_them(client):
    doc = next(d for d in client.get("/api/documents").json()["documents"] if d["type"] == "txt")
    patched = client.patch(f"/api/documents/{doc['id']}", json={"tags": {"client": "globex"}})
    assert patched.status_code == 200 and patched.json()["tags"] == {"client": "globex"}
    body = {"query": "rent", "filter": {"field": "tags.client", "eq": "globex"}}
    assert [r["source"] for r in client.post("/api/search", json=body).json()["results"]] == [
        "notes/rent.txt"
    ]
    assert client.patch("/api/documents/nope", json={"tags": {}}).status_code == 404
    bad = client.patch(f"/api/documents/{doc['id']}", json={"tags": {"bad key": "x"}})
    assert bad.status_code == 422


def test_upload_tag_fields_tag_the_uploaded_files(client):
    files = {"file": ("memo.txt", b"The memo says the rent rises in May.", "text/plain")}
    response = client.post("/api/documents", files=files, data={"tag": ["dept=hr", "year=2025"]})
    assert response.status_code == 200, response.text
    docs = {d["source"]: d for d in client.get("/api/documents").json()["documents"]}
    assert docs["memo.txt"]["tags"] == {"dept": "hr", "year": "2025"}
    bad = client.post("/api/documents", files=files, data={"tag": ["no-equals"]})
    assert bad.status_code == 422 and "KEY=VALUE" in bad.text


def test_ingest_tag_flag_parses_pairs_and_refuses_bad_keys():
    args = parse_args(["docs", "--tag", "year=2024", "--tag", "team=legal"])
    assert dict(args.tag) == {"year": "2024", "team": "legal"}
    assert tag_pair("a=b=c") == ("a", "b=c")
    with pytest.raises(SystemExit):
        parse_args(["docs", "--tag", "bad key=1"])


def test_a_chunk_store_from_before_metadata_gains_the_columns(tmp_path: Path):
    path = tmp_path / "chunks.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE documents (rowid INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, "
        "source TEXT NOT NULL, hash TEXT NOT NULL, pages INTEGER, chunks INTEGER NOT NULL, "
        "ingested_at TEXT NOT NULL, added_gen INTEGER NOT NULL, deleted_gen INTEGER);"
        "INSERT INTO documents (id, source, hash, pages, chunks, ingested_at, added_gen) "
        "VALUES ('d1', 'old.txt', 'h', NULL, 0, '2024-01-01T00:00:00+00:00', 1);"
    )
    db.commit()
    db.close()
    store = ChunkStore(path)
    (doc,) = store.documents(1)
    assert (doc.source, doc.type, doc.tags) == ("old.txt", "", {})
    assert store.set_tags(1, "d1", {"k": "v"}).tags == {"k": "v"}  # type: ignore[union-attr]
