"""No request or document costs more than its own size (issue 16): query terms, one set of
question limits on every route, fixed metric labels, stored text, Milvus fields, rate limits.

Models are the small fakes; FAISS, milvus-lite, the sandbox, the middleware and the app are real.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.answering.services import Services
from app.server.main import create_app
from config.settings import Settings
from index.errors import RowTooLarge
from index.faiss_store.keyword import MAX_QUERY_TERMS, TermCounts, count_terms, query_terms
from index.faiss_store.keyword import KeywordIndex as Keyword
from index.faiss_store.manifest import MANIFEST
from index.faiss_store.store import FaissStore
from index.protocol import VectorStore
from index.types import DocumentRow, NewChunk
from ingest.chunker import Chunker
from ingest.normalize import (
    MAX_HEADING_CHARS,
    MAX_HEADING_DEPTH,
    MAX_HEADING_PART,
    MAX_INVISIBLE_RUN,
    clean,
)
from ingest.pipeline import Ingestor, discover
from ingest.sandbox import ParseLimits, shared
from tests.fakes import FakeEmbedder, FakeGenerator
from tests.support import write_files

# 1. Keyword search: repeats collapse into a weight, distinct terms are bounded.


def keyword_index(texts: list[str]) -> Keyword:
    ids = np.arange(len(texts), dtype=np.int64)
    return Keyword({"s": count_terms(ids, texts)}, ids)  # type: ignore[dict-item]


def test_a_repeated_query_term_is_looked_up_once_and_weighs_by_its_count(monkeypatch):
    index = keyword_index([f"budget report number {i}" for i in range(2000)] + ["holiday rota"])
    assert query_terms("budget " * 10_000) == {"budget": 10_000}
    once = index.scores({"budget": 1})[1]
    lookups: list[str] = []
    postings = TermCounts.postings
    monkeypatch.setattr(
        TermCounts,
        "postings",
        lambda self, term, alive: lookups.append(term) or postings(self, term, alive),
    )
    ids, repeated = index.scores(query_terms("budget " * 10_000))
    assert lookups == ["budget"]  # was 10,000 lookups (6 s, 1.3 GB): one per repeat
    assert len(ids) == 2000 and np.allclose(repeated, once * 10_000, rtol=1e-4)


def test_distinct_query_terms_are_capped_at_the_first_ones():
    words = [f"w{i}x" for i in range(5000)]
    terms = query_terms(" ".join(words))
    assert len(terms) == MAX_QUERY_TERMS == 64
    assert len(query_terms(" ".join(words), 10)) == 10
    index = keyword_index([" ".join(words[:64]), " ".join(words[64:])])
    ids, _ = index.search(" ".join(words), 5)
    assert ids.tolist() == [0]  # the terms past the cap were never looked up


def test_the_setting_reaches_the_faiss_store(tmp_path: Path, embedder):
    settings = Settings(data_dir=tmp_path, max_query_terms=3, _env_file=None)  # type: ignore[call-arg]
    from config.factories import open_store

    store = open_store(settings)
    assert isinstance(store, FaissStore) and store.max_query_terms == 3
    write_files(tmp_path / "d", {"a.txt": "alpha beta gamma delta"})
    Ingestor(embedder, Chunker(embedder), store.collection("default")).ingest(
        discover([tmp_path / "d"])
    )
    snap = store.collection("default").snapshot()
    assert snap.keyword_search("zeta eta theta delta", 5) == []  # delta is the 4th term
    assert len(snap.keyword_search("delta zeta eta theta", 5)) == 1


# 2 and 8. One set of question limits, whatever the route; lone surrogates are 4xx.


@pytest.fixture
def app_client(tmp_path: Path, embedder: FakeEmbedder):
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    generator = FakeGenerator()
    services = Services(settings, embedder, generator, FaissStore(settings.index_dir))
    docs = write_files(tmp_path / "docs", {"rota.md": "# Rota\n\nThe holiday rota starts Monday."})
    Ingestor(embedder, Chunker(embedder), services.store.collection("default")).ingest(
        discover([docs])
    )
    with TestClient(create_app(services=services)) as client:
        client.generator = generator  # type: ignore[attr-defined]
        yield client


def chat(client: TestClient, messages: list[dict[str, object]]):
    return client.post("/v1/chat/completions", json={"model": "ragd", "messages": messages})


def user(text: object) -> dict[str, object]:
    return {"role": "user", "content": text}


def test_chat_completions_refuse_what_ask_refuses(app_client: TestClient):
    big = "rota " * 200_000  # 1 MB: over the question limit, under the body limit
    cases = {
        "question over 4000 characters": [user(big[:4001])],
        "question of control characters only": [user("\x00\x01\x7f")],
        "question as content parts over the limit": [user([{"type": "text", "text": big[:5000]}])],
        "51 earlier turns": [user("hi"), {"role": "assistant", "content": "yo"}] * 26
        + [user("When?")],
        "a turn over 20,000 characters": [user("x" * 20_001), user("When?")],
    }
    for name, messages in cases.items():
        response = chat(app_client, messages)
        assert response.status_code == 422, (name, response.text[:300])
        ask = (
            {"question": messages[-1]["content"]}
            if isinstance(messages[-1]["content"], str)
            else None
        )
        if ask is not None and len(messages) == 1:
            assert app_client.post("/api/ask", json=ask).status_code == 422, name
    assert app_client.get("/health").json()["status"] == "ok"


def test_chat_strips_control_characters_like_ask(app_client: TestClient):
    response = chat(
        app_client, [user("Hi\x00 there\x1b"), user("When does\x07 the rota start?\x00")]
    )
    assert response.status_code == 200, response.text
    prompt = app_client.generator.prompts[-1]  # type: ignore[attr-defined]
    assert not any(ch in m["content"] for m in prompt for ch in "\x00\x07\x1b")
    assert "When does the rota start?" in prompt[-1]["content"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/search", b'{"query": "\\ud800"}'),
        ("/api/ask", b'{"question": "\\udfff"}'),
        ("/v1/chat/completions", b'{"messages": [{"role": "user", "content": "\\ud800"}]}'),
        ("/api/search", b'{"query": 1, "\\ud800": "\\ud800"}'),
        ("/api/ask", b'{"question": "rota", "history": [{"role": "x\\ud800", "content": "a"}]}'),
    ],
)
def test_a_lone_surrogate_is_a_4xx_with_an_encodable_body(app_client, path: str, body: bytes):
    response = app_client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_request"
    assert app_client.get("/health").status_code == 200


def test_the_refusal_echoes_a_lone_surrogate_as_a_replacement_character(app_client):
    body = b'{"question": "When\\ud800 is the rota?"}'
    response = app_client.post(
        "/api/ask", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["input"] == "When\ufffd is the rota?"


# 3. /metrics labels come from fixed sets.


def junk_round(client: TestClient, i: int) -> None:
    client.request(f"JUNK{i}{'X' * 2000}", "/health")
    client.get(f"/no/such/path/{i}{'y' * 2000}")
    client.post("/api/search", json={"query": "rota"})


def test_junk_methods_and_paths_add_no_metric_series(app_client: TestClient):
    junk_round(app_client, 0)  # the fixed series these requests fall into now exist
    app_client.get("/metrics")
    before = app_client.get("/metrics").text.splitlines()
    for i in range(1, 41):
        junk_round(app_client, i)
    after = app_client.get("/metrics").text
    assert "JUNK" not in after and "yyyy" not in after
    assert len(after.splitlines()) == len(before)  # 40 junk methods, 40 paths: no new series
    assert len(after) < 16_000  # was 2.4 MB after 40 junk methods
    assert 'method="other",route="/health",status="4xx"} 41.0' in after
    assert 'method="GET",route="unmatched",status="4xx"} 41.0' in after
    assert 'method="POST",route="/api/search",status="2xx"} 41.0' in after


# 4. Stored text is bounded: headings, characters per chunk, bytes per document.


def ingest_folder(ingestor: Ingestor, root: Path, files: dict[str, str | bytes]):
    return ingestor.ingest(discover([write_files(root, files)]))


def stored(store: VectorStore) -> list:
    snap = store.collection("default").snapshot()
    return [hit.chunk for hit in snap.search(np.ones(64, dtype=np.float32), 100_000)]


def test_huge_headings_are_stored_bounded_once_per_chunk(ingestor: Ingestor, library, tmp_path):
    headings = "".join(f"{'#' * (n + 1)} {chr(65 + n) * 100_000}\n\n" for n in range(6))
    text = headings + "\n\n".join(f"Paragraph {i} of the report." for i in range(300))
    summary = ingest_folder(ingestor, tmp_path / "d", {"deep.md": text})
    assert summary.count("added") == 1
    chunks = stored(library)
    for chunk in chunks:
        parts = chunk.heading.split(" > ")
        assert len(parts) <= MAX_HEADING_DEPTH and all(len(p) <= MAX_HEADING_PART for p in parts)
    assert all(len(c.heading) <= MAX_HEADING_CHARS for c in chunks)
    total = sum(len(c.text) + len(c.heading or "") for c in chunks)
    assert total < 2 * len(text), (total, len(text))  # was 373 times the file's size


def test_invisible_characters_cannot_inflate_a_chunk(ingestor: Ingestor, library, tmp_path):
    zalgo = "Minutes" + "\u0301" * 1_000_000 + " of" + "\u200d\u2060" * 500_000 + " the meeting."
    assert len(clean(zalgo)) <= len("Minutes of the meeting.") + 2 * MAX_INVISIBLE_RUN
    summary = ingest_folder(ingestor, tmp_path / "d", {"zalgo.txt": zalgo, "ok.txt": "Fine."})
    assert summary.count("added") == 2
    assert max(len(c.text) for c in stored(library)) <= ingestor.chunker.max_chars


def test_a_chunk_of_tokenless_characters_is_cut_by_characters(embedder: FakeEmbedder):
    chunker = Chunker(embedder, size=30)
    from ingest.loaders.blocks import Block

    chunks = chunker.chunk([Block("word" + "\u00b7" * 50_000 + " end.")])  # 2 fake tokens
    assert len(chunks) > 1 and all(len(c.text) <= chunker.max_chars for c in chunks)


def test_stored_text_over_the_document_limit_fails_that_file(embedder, library, tmp_path):
    limits = ParseLimits(max_chars=2000)
    ingestor = Ingestor(
        embedder, Chunker(embedder, 30, 6), library.collection("default"), parser=shared(limits)
    )
    long_heading = "# " + "Heading words " * 8 + "\n\n"
    text = long_heading + "\n\n".join(f"Line {i} here." for i in range(100))  # under 2000 parsed
    files = {"heavy.md": text[:1990], "good.txt": "A fine small file."}
    summary = ingest_folder(ingestor, tmp_path / "d", files)
    outcomes = {o.source: o for o in summary.outcomes}
    assert outcomes["good.txt"].status == "added"
    assert outcomes["heavy.md"].status == "failed"
    assert "would store" in outcomes["heavy.md"].reason
    assert "RAGD_MAX_DOCUMENT_CHARS" in outcomes["heavy.md"].reason


# 5. A document a store cannot hold fails alone, never the run.


def test_a_long_heading_is_stored_on_both_stores(store_ingestor: Ingestor, store, tmp_path):
    files = {"long.md": f"# {'H' * 5100}\n\nBody text.", "good.md": "# Ok\n\nGood text."}
    summary = ingest_folder(store_ingestor, tmp_path / "d", files)
    assert summary.count("added") == 2, summary.as_dict()
    headings = {c.source: c.heading for c in stored(store)}
    assert len(headings["long.md"]) == MAX_HEADING_PART and headings["good.md"] == "Ok"


def test_milvus_refuses_an_oversized_row_before_staging(milvus_client, embedder):
    from index.milvus_store.store import MilvusStore

    store = MilvusStore(milvus_client, "rowlimit_")
    ingestor = Ingestor(embedder, Chunker(embedder, 30, 6), store.collection("default"))
    doc = DocumentRow("d1", "a.txt", "h", None, 1, "now")
    with ingestor.writer() as writer:
        with pytest.raises(RowTooLarge, match="65535"):
            writer.put(doc, [NewChunk("x" * 70_000, None, None)], np.ones((1, 64), np.float32))
        name = "n" * 5000 + ".txt"
        failed = ingestor.ingest_bytes(writer, name, b"Some text in a file with a long name.")
        good = ingestor.ingest_bytes(writer, "good.txt", b"A good file beside it.")
        writer.commit()
    assert (failed.status, good.status) == ("failed", "added")
    assert "4096 bytes" in failed.reason
    assert [d.source for d in store.collection("default").documents()] == ["good.txt"]
    for name in milvus_client.list_collections():
        if name.startswith("rowlimit_"):
            milvus_client.drop_collection(name)


def test_an_upload_to_milvus_with_a_huge_heading_is_never_a_500(milvus_client, tmp_path, embedder):
    from index.milvus_store.store import MilvusStore

    settings = Settings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    store = MilvusStore(milvus_client, "upload_")
    services = Services(settings, embedder, FakeGenerator(), store)
    files = [("file", ("h.md", f"# {'H' * 5100}\n\nBody.".encode())), ("file", ("e.bin", b"x"))]
    with TestClient(create_app(services=services)) as client:
        response = client.post("/api/documents", files=files)
        assert response.status_code == 200 and response.json()["added"] == 1, response.text
        assert client.post("/api/documents", files=[files[1]]).status_code == 415
    for name in milvus_client.list_collections():
        if name.startswith("upload_"):
            milvus_client.drop_collection(name)


# 13. Rate limits by cost: a search loop is not an attacker; answers keep their own limit.


def test_an_evaluation_loop_of_540_searches_is_never_throttled(tmp_path: Path, embedder):
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    services = Services(settings, embedder, FakeGenerator(), FaissStore(settings.index_dir))
    docs = write_files(tmp_path / "docs", {"a.md": "# A\n\nThe rota starts on Monday."})
    Ingestor(embedder, Chunker(embedder), services.store.collection("default")).ingest(
        discover([docs])
    )
    with TestClient(create_app(services=services)) as client:
        statuses = [
            client.post("/api/search", json={"query": f"rota {i}"}).status_code for i in range(540)
        ]
        assert statuses.count(429) == 0 and set(statuses) == {200}


def test_answers_and_searches_are_limited_apart(tmp_path: Path, embedder):
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        rate_limit="2/minute",
        search_rate_limit="5/minute",
        _env_file=None,
    )
    services = Services(settings, embedder, FakeGenerator(), FaissStore(settings.index_dir))
    with TestClient(create_app(services=services)) as client:
        asks = [client.post("/api/ask", json={"question": "q"}).status_code for _ in range(3)]
        searches = [client.post("/api/search", json={"query": "q"}).status_code for _ in range(6)]
        assert asks[-1] == 429 and 429 not in asks[:2]
        assert searches[-1] == 429 and 429 not in searches[:5]
        assert int(client.post("/api/search", json={"query": "q"}).headers["retry-after"]) >= 1
        assert client.get("/health").status_code == 200  # never limited


def test_refused_inputs_leave_the_index_unchanged(app_client: TestClient, tmp_path: Path):
    folder = tmp_path / "data" / "index" / "default"
    before = (folder / MANIFEST).read_bytes()
    chat(app_client, [user("x" * 5000)])
    app_client.post(
        "/api/search", content=b'{"query": "\\ud800"}', headers={"Content-Type": "application/json"}
    )
    assert (folder / MANIFEST).read_bytes() == before


def test_mcp_tools_hold_questions_to_the_same_limits(tmp_path: Path, embedder):
    import anyio
    from mcp.server.mcpserver.exceptions import ToolError

    from app.answering.answer import Answerer
    from app.answering.queue import GenerationQueue
    from app.mcp.server import Tools

    settings = Settings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    generator = FakeGenerator()
    services = Services(settings, embedder, generator, FaissStore(settings.index_dir))
    tools = Tools(lambda: Answerer(services, GenerationQueue(generator)))
    for call in (lambda: tools.search("\x00\x01\x7f"), lambda: tools.ask("\x1b\x00")):
        with pytest.raises(ToolError, match="must not be empty"):
            anyio.run(call)
    assert generator.prompts == []
