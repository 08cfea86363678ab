"""Proof by attack: hostile uploads and requests against a real uvicorn server on a socket.

Each rejected input must get its exact status and error kind, leave /health answering, and
leave the index byte-for-byte as it was (manifest generation and checksums, documents).
Models are the small fakes (the sandbox, FAISS, the middleware and the server are real);
tests/test_security_ingest.py runs the real `ingest` CLI over hostile folders.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.answering.services import Services
from app.server.main import create_app
from config.settings import Settings
from index.faiss_store.manifest import MANIFEST
from index.faiss_store.store import FaissStore
from ingest.pipeline import build_ingestor, discover
from tests import hostile as h
from tests.fakes import FakeEmbedder, FakeGenerator
from tests.support import ThreadedServer, write_files

ADMIN = "admin-key-0123456789abcdef"
READER = "reader-key-0123456789abcdef"
LIMIT_MB = 4


@dataclass
class Live:
    url: str
    services: Services
    secret: Path

    def index_state(self) -> tuple[bytes, list[str]]:
        folder = self.services.store.collection("default").folder
        docs = self.services.store.collection("default").snapshot().documents()
        return (folder / MANIFEST).read_bytes(), sorted(f"{d.source}:{d.hash}" for d in docs)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("attack")
    settings = Settings(  # type: ignore[call-arg]
        data_dir=root / "data",
        api_keys=f"{ADMIN},{READER}:read",
        max_upload_mb=LIMIT_MB,
        rate_limit="",
        allowed_hosts="127.0.0.1,localhost",
        _env_file=None,
    )
    services = Services(settings, FakeEmbedder(), FakeGenerator(), FaissStore(settings.index_dir))
    docs = write_files(root / "docs", {"rota.md": "# Rota\n\nThe rota starts on Monday."})
    build_ingestor(settings, services.embedder, services.store).ingest(discover([docs]))
    secret = root / "secret.txt"
    secret.write_text(h.SECRET)
    with ThreadedServer(create_app(services=services)) as server:
        yield Live(server.url, services, secret)


def key(value: str = ADMIN) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@dataclass(frozen=True)
class Attack:
    """One hostile request and exactly how it must be refused."""

    name: str
    method: str
    path: str
    status: int
    error: str
    detail: str = ""  # a phrase the error's detail must contain
    files: tuple[tuple[str, bytes], ...] = ()
    body: object = None
    raw: bytes | None = None
    headers: tuple[tuple[str, str], ...] = (("Authorization", f"Bearer {ADMIN}"),)


def upload(name: str, filename: str, data: bytes, status: int, error: str, detail: str) -> Attack:
    return Attack(name, "POST", "/api/documents", status, error, detail, files=((filename, data),))


def ask(name: str, body: object, status: int = 422, error: str = "", detail: str = "") -> Attack:
    return Attack(name, "POST", "/api/ask", status, error, detail, body=body)


def search(name: str, raw: bytes, status: int = 422, detail: str = "") -> Attack:
    return Attack(name, "POST", "/api/search", status, "", detail, raw=raw)


def tags(name: str, value: object, status: int = 422, error: str = "", detail: str = "") -> Attack:
    body = {"tags": value}
    return Attack(name, "PATCH", "/api/documents/nosuch", status, error, detail, body=body)


def switch(name: str, body: object, status: int = 422, error: str = "", detail: str = "") -> Attack:
    return Attack(name, "POST", "/api/models/current", status, error, detail, body=body)


def chat(name: str, body: object, status: int = 422, error: str = "", detail: str = "") -> Attack:
    return Attack(name, "POST", "/v1/chat/completions", status, error, detail, body=body)


USER = {"role": "user", "content": "When does the rota start?"}
ATTACKS = [
    # Documents: parsed in the sandbox, refused with the reason, nothing staged.
    upload("empty file", "empty.txt", b"", 422, "empty_document", "empty file"),
    upload(
        "truncated PDF", "cut.pdf", h.truncated_pdf(), 422, "unreadable_file", "could not read PDF"
    ),
    upload(
        "encrypted PDF", "locked.pdf", h.encrypted_pdf(), 422, "unreadable_file", "needs a password"
    ),
    upload("image-only PDF", "scan.pdf", h.image_only_pdf(), 422, "empty_document", "OCR"),
    upload(
        "PDF FlateDecode bomb",
        "bomb.pdf",
        h.pdf_flate_bomb(),
        422,
        "unreadable_file",
        "likely a decompression bomb",
    ),
    upload("not a PDF", "fake.pdf", b"hello, not a pdf", 422, "unreadable_file", "not a PDF"),
    upload("corrupt DOCX", "bad.docx", h.corrupt_docx(), 422, "unreadable_file", "not a DOCX"),
    upload("zip-bomb DOCX", "bomb.docx", h.zip_bomb_docx(), 422, "unreadable_file", "zip bomb"),
    upload(
        "billion-laughs DOCX",
        "lol.docx",
        h.billion_laughs_docx(),
        422,
        "unreadable_file",
        "amplification",
    ),
    upload("PNG named .txt", "photo.txt", h.png(), 422, "unreadable_file", "image/png"),
    upload("ELF named .md", "tool.md", h.elf(), 422, "unreadable_file", "x-executable"),
    upload("random bytes .txt", "noise.txt", h.random_bytes(), 422, "unreadable_file", "binary"),
    upload("unsupported type", "photo.gif", b"GIF89a" * 9, 415, "unsupported_file", "'.gif'"),
    upload("no extension", "README", b"text", 415, "unsupported_file", "(none)"),
    upload("a model file", "evil.gguf", b"GGUF\x03\x00" * 100, 415, "unsupported_file", "gguf"),
    upload(
        "an index manifest", "manifest.json", b'{"generation": 99}', 415, "unsupported_file", ""
    ),
    upload(
        "path traversal name",
        "../../../etc/cron.d/evil.gif",
        b"x",
        415,
        "unsupported_file",
        "evil.gif:",
    ),
    Attack(
        "NUL in name",
        "POST",
        "/api/documents",
        415,
        "unsupported_file",
        "evil.gif:",
        raw=b'--x\r\nContent-Disposition: form-data; name="file"; filename="evil\x00.gif"\r\n'
        b"\r\nx\r\n--x--\r\n",
        headers=(
            ("Authorization", f"Bearer {ADMIN}"),
            ("Content-Type", "multipart/form-data; boundary=x"),
        ),
    ),
    upload(
        "over the size limit", "big.txt", b"a " * LIMIT_MB * 2**20, 413, "request_too_large", ""
    ),
    upload("whitespace only", "blank.md", b" \n\t \n", 422, "empty_document", "empty file"),
    Attack(
        "two files over the limit together",
        "POST",
        "/api/documents",
        413,
        "request_too_large",
        files=(("a.txt", b"a " * 1_300_000), ("b.txt", b"b " * 1_300_000)),
    ),
    Attack("upload without a file", "POST", "/api/documents", 422, "", "file"),
    Attack(
        "upload with a read-only key",
        "POST",
        "/api/documents",
        403,
        "forbidden",
        "read-only",
        files=(("ok.txt", b"fine text"),),
        headers=(("Authorization", f"Bearer {READER}"),),
    ),
    Attack(
        "upload without a key",
        "POST",
        "/api/documents",
        401,
        "unauthorized",
        "API key is required",
        files=(("ok.txt", b"fine text"),),
        headers=(),
    ),
    Attack(
        "upload from another origin",
        "POST",
        "/api/documents",
        403,
        "cross_origin",
        "evil.example",
        files=(("ok.txt", b"fine text"),),
        headers=(("Authorization", f"Bearer {ADMIN}"), ("Origin", "https://evil.example")),
    ),
    Attack("delete with a traversal id", "DELETE", "/api/documents/..%2F..%2Fetc", 404, ""),
    # Questions and parameters.
    ask("empty question", {"question": ""}),
    ask("whitespace question", {"question": "   \n "}, detail="must not be empty"),
    ask("control-character question", {"question": "\x00\x01\x1b\x7f"}, detail="must not be"),
    ask("1 MB question", {"question": "a" * 1_000_000}, detail="at most 4000"),
    ask("2 MB body", {"question": "a" * 2_000_000}, 413, "request_too_large"),
    ask("question not a string", {"question": 42}),
    ask("unknown field", {"question": "q", "admin": True}, detail="Extra inputs"),
    ask(
        "system turn in history", {"question": "q", "history": [{"role": "system", "content": "x"}]}
    ),
    ask("history too long", {"question": "q", "history": [{"role": "user", "content": "x"}] * 51}),
    ask("stream not a boolean", {"question": "q", "stream": "maybe"}),
    ask(
        "collection traversal",
        {"question": "q", "collection": "../../etc"},
        422,
        "invalid_collection_name",
    ),
    search("NaN k", b'{"query": "q", "k": NaN}'),
    search("negative k", b'{"query": "q", "k": -1}'),
    search("zero k", b'{"query": "q", "k": 0}'),
    search("huge k", b'{"query": "q", "k": 1e308}'),
    search("invalid JSON", b'{"query": '),
    Attack(
        "ask as text/plain",
        "POST",
        "/api/ask",
        422,
        "",
        raw=b'{"question": "q"}',
        headers=(("Authorization", f"Bearer {ADMIN}"), ("Content-Type", "text/plain")),
    ),
    # Keys, origins and hosts.
    Attack(
        "ask without a key",
        "POST",
        "/api/ask",
        401,
        "unauthorized",
        body={"question": "q"},
        headers=(),
    ),
    Attack(
        "ask with a wrong key",
        "POST",
        "/api/ask",
        401,
        "unauthorized",
        "unknown API key",
        body={"question": "q"},
        headers=(("Authorization", "Bearer another-servers-key-0123456789"),),
    ),
    Attack(
        "ask with a key in the wrong scheme",
        "POST",
        "/api/ask",
        401,
        "unauthorized",
        body={"question": "q"},
        headers=(("Authorization", f"Basic {ADMIN}"),),
    ),
    Attack(
        "ask from another origin",
        "POST",
        "/api/ask",
        403,
        "cross_origin",
        body={"question": "q"},
        headers=(("Authorization", f"Bearer {ADMIN}"), ("Origin", "null")),
    ),
    Attack(
        "DNS rebinding host",
        "GET",
        "/api/documents",
        421,
        "untrusted_host",
        "evil.example",
        headers=(("Authorization", f"Bearer {ADMIN}"), ("Host", "evil.example")),
    ),
    Attack("docs without a key", "GET", "/openapi.json", 401, "unauthorized", headers=()),
    # Retagging a document: names and sizes checked before any lookup, admin keys only.
    tags("tag name with a path", {"../x": "y"}, detail="tag name"),
    tags("tag value over 256 characters", {"k": "v" * 300}, detail="at most 256 characters"),
    tags("100 tags", {f"k{i}": "v" for i in range(100)}, detail="at most 32 items"),
    tags("tags not an object", "x", detail="valid dictionary"),
    tags("tags for no such document", {"a": "b"}, 404, "document_not_found"),
    Attack(
        "retag with a read key",
        "PATCH",
        "/api/documents/nosuch",
        403,
        "forbidden",
        body={"tags": {"a": "b"}},
        headers=(("Authorization", f"Bearer {READER}"),),
    ),
    # Switching the model: only files already in data/models, only with an admin key.
    switch("switch to a system file", {"model": "/etc/passwd"}, 404, "model_not_downloaded"),
    switch(
        "switch by a traversal path",
        {"model": "../../../etc/shadow.gguf"},
        404,
        "model_not_downloaded",
    ),
    switch("switch to an empty name", {"model": ""}, detail="at least 1 character"),
    Attack(
        "switch with a read key",
        "POST",
        "/api/models/current",
        403,
        "forbidden",
        body={"model": "/etc/passwd"},
        headers=(("Authorization", f"Bearer {READER}"),),
    ),
    # The OpenAI-compatible route.
    chat("chat with no messages", {"model": "ragd", "messages": []}, detail="at least 1"),
    chat("chat content not a string", {"model": "ragd", "messages": [USER | {"content": 42}]}),
    chat(
        "chat ending on a system message",
        {"model": "ragd", "messages": [{"role": "system", "content": "x"}]},
        detail="the last message must be a non-empty user message",
    ),
    chat(
        "chat with an unknown model", {"model": "gpt-4", "messages": [USER]}, 404, "unknown_model"
    ),
    chat(
        "chat with a traversal collection",
        {"model": "ragd/../../etc", "messages": [USER]},
        422,
        "invalid_collection_name",
    ),
]


def send(live: Live, attack: Attack) -> httpx.Response:
    kwargs: dict[str, object] = {"headers": dict(attack.headers), "timeout": 120}
    if attack.files:
        kwargs["files"] = [("file", f) for f in attack.files]
    elif attack.body is not None:
        kwargs["json"] = attack.body
    elif attack.raw is not None:
        kwargs["content"] = attack.raw
        kwargs["headers"] = {"Content-Type": "application/json", **dict(attack.headers)}
    return httpx.request(attack.method, live.url + attack.path, **kwargs)  # type: ignore[arg-type]


def test_every_route_that_takes_a_body_is_attacked_under_a_name_of_its_own(tmp_path: Path):
    """A route added later fails this until its hostile inputs are listed above."""
    app = create_app(Settings(data_dir=tmp_path, _env_file=None))  # type: ignore[call-arg]
    operations = {
        (method.upper(), path)
        for path, methods in app.openapi()["paths"].items()
        for method in methods
        if method != "get"
    }
    assert {("POST", "/api/ask"), ("DELETE", "/api/documents/{doc_id}")} <= operations
    attacked = {
        (method, path)
        for method, path in operations
        for a in ATTACKS
        if a.method == method and re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", path), a.path)
    }
    assert attacked == operations
    assert len({a.name for a in ATTACKS}) == len(ATTACKS)


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_hostile_input_is_refused_and_changes_nothing(live: Live, attack: Attack):
    before = live.index_state()
    response = send(live, attack)
    body = response.json()
    assert response.status_code == attack.status, body
    if attack.error:
        assert body["error"] == attack.error, body
    assert attack.detail in json.dumps(body, ensure_ascii=False), body
    assert httpx.get(f"{live.url}/health", timeout=30).json()["status"] == "ok"
    assert live.index_state() == before


def chunked_upload(size: int) -> Iterator[bytes]:
    """A multipart body sent in pieces with no Content-Length: it is counted as it arrives."""
    yield b'--x\r\nContent-Disposition: form-data; name="file"; filename="s.txt"\r\n\r\n'
    for _ in range(size // 65536):
        yield b"a " * 32768
    yield b"\r\n--x--\r\n"


def test_a_streamed_body_over_the_limit_is_cut_off(live: Live):
    before = live.index_state()
    response = httpx.post(
        f"{live.url}/api/documents",
        content=chunked_upload(4 * LIMIT_MB * 2**20),
        headers={**key(), "Content-Type": "multipart/form-data; boundary=x"},
        timeout=60,
    )
    assert (response.status_code, response.json()["error"]) == (413, "request_too_large")
    assert httpx.get(f"{live.url}/health").status_code == 200
    assert live.index_state() == before


def texts(live: Live, query: str) -> list[tuple[str, str]]:
    results = httpx.post(
        f"{live.url}/api/search", json={"query": query, "k": 50}, headers=key(), timeout=30
    ).json()["results"]
    return [(r["source"], r["text"]) for r in results]


def test_names_are_display_names_and_encodings_are_detected(live: Live):
    files = [
        ("../../outside/notes.md", b"# Notes\n\nUploaded from a hostile path."),
        ("utf16.txt", "Grüße aus Köln, sagt die Datei.".encode("utf-16")),
        ("utf16-nobom.txt", ("Zürich liegt am See. " * 5).encode("utf-16-le")),
        ("cp1252.txt", "Café déjà vu, naïve façade.".encode("cp1252")),
        ("sjis.txt", "日本語のテキストファイルです。".encode("shift_jis")),
        ("controls.txt", b"Tab\tand bell\x07 and escape\x1b[31m red."),
    ]
    response = httpx.post(
        f"{live.url}/api/documents", files=[("file", f) for f in files], headers=key(), timeout=60
    )
    assert response.json()["added"] == 6, response.json()
    found = dict(texts(live, "Köln Zürich Café 日本語 notes escape"))
    assert found["notes.md"].endswith("Uploaded from a hostile path.")
    assert found["utf16.txt"] == "Grüße aus Köln, sagt die Datei."
    assert found["utf16-nobom.txt"].startswith("Zürich liegt am See.")
    assert found["cp1252.txt"] == "Café déjà vu, naïve façade."
    assert found["sjis.txt"] == "日本語のテキストファイルです。"
    assert found["controls.txt"] == "Tab and bell and escape[31m red."
    assert not (live.secret.parent / "outside").exists()


def test_external_entities_are_never_read(live: Live):
    files = [
        ("xxe.docx", h.xxe_docx(live.secret, with_text=True)),
        ("xxe.html", h.xxe_html(live.secret)),
    ]
    response = httpx.post(
        f"{live.url}/api/documents", files=[("file", f) for f in files], headers=key(), timeout=60
    )
    assert response.json()["added"] == 2, response.json()
    snap = live.services.store.collection("default").snapshot()
    rows = snap.chunk_store.chunks(
        snap.generation, snap.chunk_store.live_ids(snap.generation).tolist()
    )
    everything = " ".join(c.text for c in rows.values())
    assert "The rota starts on Monday." in everything and "The office opens at nine." in everything
    assert h.SECRET not in everything
