"""API keys, roles, the route walk, CORS, origin and host checks, headers, rate and body limits."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Mount

from app.answering.services import Services
from app.cli.main import guard_bind, is_loopback
from app.server.auth import KeyRing, bearer_token, key_file_line
from app.server.deps import get_principal
from app.server.errors import Unauthorized
from app.server.main import create_app
from config.errors import SettingsError
from config.settings import Settings
from tests.fakes import FakeGenerator

ADMIN = "admin-key-0123456789abcdef"
READER = "reader-key-0123456789abcdef"
FILE_KEY = "file-key-0123456789abcdef"
STRANGER = "another-servers-key-0123456789"  # valid-looking, issued by some other deployment
PUBLIC = {("GET", "/health"), ("GET", "/"), ("GET", "/static/app.js")}


def settings_with(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", _env_file=None, **values)  # type: ignore[call-arg]


def client_for(settings: Settings, embedder) -> TestClient:
    services = Services(settings, embedder, FakeGenerator(), _library(settings))
    return TestClient(create_app(services=services))


def _library(settings: Settings):
    from index.faiss_store.store import FaissStore

    return FaissStore(settings.index_dir)


@pytest.fixture
def keyed(tmp_path: Path, embedder) -> TestClient:
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"# team keys\n{key_file_line(FILE_KEY, 'read', 'ci bot')}\n")
    settings = settings_with(
        tmp_path, api_keys=f"{ADMIN},{READER}:read", api_keys_file=keys_file, rate_limit=""
    )
    with client_for(settings, embedder) as client:
        yield client


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_keys_come_from_the_setting_and_the_hashed_file(tmp_path: Path):
    keys_file = tmp_path / "keys"
    keys_file.write_text(key_file_line(FILE_KEY, "read", "ci bot") + "  # comment\n\n")
    ring = KeyRing.from_settings(
        settings_with(tmp_path, api_keys=f" {ADMIN} , {READER}:read ", api_keys_file=keys_file)
    )
    assert ring.identify(ADMIN).role == "admin"
    assert ring.identify(READER).role == "read"
    assert (ring.identify(FILE_KEY).role, ring.identify(FILE_KEY).name) == ("read", "ci bot")
    assert ring.identify(STRANGER) is None and ring.identify("") is None
    assert FILE_KEY not in keys_file.read_text()  # the file holds only the digest


@pytest.mark.parametrize(
    ("keys", "line", "message"),
    [
        ("short", "", "shorter than 16"),
        ("", "not-a-digest admin", "64 hex digits"),
        ("", f"{hashlib.sha256(b'x').hexdigest()} root", "role must be"),
    ],
)
def test_bad_key_settings_stop_startup(tmp_path: Path, keys: str, line: str, message: str):
    keys_file = tmp_path / "keys"
    keys_file.write_text(line)
    with pytest.raises(SettingsError, match=message):
        KeyRing.from_settings(settings_with(tmp_path, api_keys=keys, api_keys_file=keys_file))


def test_missing_keys_file_stops_startup(tmp_path: Path):
    with pytest.raises(SettingsError, match="cannot read RAGD_API_KEYS_FILE"):
        KeyRing.from_settings(settings_with(tmp_path, api_keys_file=tmp_path / "nope"))


def test_bearer_header_parsing():
    assert bearer_token({"authorization": "Bearer abc"}) == "abc"
    assert bearer_token({"authorization": "bearer  abc "}) == "abc"
    assert bearer_token({"authorization": "Basic abc"}) is None
    assert bearer_token({"authorization": "Bearer "}) is None
    assert bearer_token({}) is None


@pytest.mark.parametrize(
    "headers",
    [{}, auth(STRANGER), auth(ADMIN + "x"), {"Authorization": f"Basic {ADMIN}"}, auth("")],
    ids=["missing", "other-server", "near-miss", "basic-scheme", "empty"],
)
def test_requests_without_a_valid_key_get_401_json(keyed: TestClient, headers):
    response = keyed.post("/api/search", json={"query": "q"}, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized" and response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_valid_keys_get_through(keyed: TestClient):
    for key in (ADMIN, READER, FILE_KEY):
        response = keyed.post("/api/search", json={"query": "q"}, headers=auth(key))
        assert response.status_code == 409  # past auth: nothing is ingested yet


def test_read_only_keys_cannot_upload_or_delete(keyed: TestClient):
    files = [("file", ("a.txt", b"text"))]
    for key in (READER, FILE_KEY):
        upload = keyed.post("/api/documents", files=files, headers=auth(key))
        delete = keyed.delete("/api/documents/abc", headers=auth(key))
        assert (upload.status_code, delete.status_code) == (403, 403)
        assert upload.json()["error"] == "forbidden"
        assert keyed.get("/api/documents", headers=auth(key)).status_code == 200
    assert keyed.post("/api/documents", files=files, headers=auth(ADMIN)).status_code == 200
    assert keyed.delete("/api/documents/abc", headers=auth(ADMIN)).status_code == 404


ANY_METHOD = {"GET", "POST", "PUT", "PATCH", "DELETE"}  # a bare ASGI route (/mcp) takes any


def walk(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app serves, path parameters filled in: the OpenAPI schema's
    operations, plus every route and mount however it was added (schema or not)."""
    found = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    for route in _all_routes(app):
        if isinstance(route, Mount):
            found.add(("GET", route.path + "/app.js"))
        elif isinstance(getattr(route, "path", None), str):
            found |= {(m, route.path) for m in getattr(route, "methods", None) or ANY_METHOD}
    return {(m, re.sub(r"\{[^}]+\}", "abc", p)) for m, p in found if m != "HEAD"}


def _all_routes(app: FastAPI) -> list[object]:
    try:  # FastAPI >= 0.135 wraps included routers; this public helper unwraps them
        from fastapi.routing import iter_route_contexts
    except ImportError:
        return list(app.routes)
    return [c.original_route for c in iter_route_contexts(app.routes)]


def test_route_walk_only_health_and_the_page_answer_without_a_key(keyed: TestClient):
    """Fails when any route, including one added later, answers without a key."""
    routes = walk(keyed.app)
    assert {"/", "/api/ask", "/api/search", "/api/documents", "/openapi.json", "/docs"} <= {
        p for _, p in routes
    }
    assert ("DELETE", "/api/documents/abc") in routes
    assert {("GET", "/mcp"), ("POST", "/mcp"), ("DELETE", "/mcp")} <= routes
    open_routes = set()
    for method, path in routes:
        status = keyed.request(method, path).status_code
        if status != 401:
            open_routes.add((method, path))
    assert open_routes == PUBLIC


def test_a_route_added_later_fails_closed(keyed: TestClient):
    router = APIRouter()

    @router.post("/api/new-feature")
    def new_feature() -> dict[str, str]:
        return {"ok": "yes"}

    @router.get("/v1/models-later")
    def listed() -> dict[str, str]:
        return {"ok": "yes"}

    keyed.app.include_router(router)
    assert keyed.post("/api/new-feature").status_code == 401
    assert keyed.post("/api/new-feature", headers=auth(READER)).status_code == 403
    assert keyed.post("/api/new-feature", headers=auth(ADMIN)).status_code == 200
    assert keyed.get("/v1/models-later").status_code == 401
    assert keyed.get("/no/such/path").status_code == 401  # no route enumeration either


def test_the_app_dependency_refuses_a_request_the_guard_never_saw():
    class Bare:
        scope: ClassVar[dict[str, object]] = {}

    with pytest.raises(Unauthorized):
        get_principal(Bare())  # type: ignore[arg-type]


def test_without_keys_everything_is_open_on_loopback(client_no_keys: TestClient):
    assert client_no_keys.post("/api/search", json={"query": "q"}).status_code == 409


@pytest.fixture
def client_no_keys(tmp_path: Path, embedder) -> TestClient:
    with client_for(settings_with(tmp_path), embedder) as client:
        yield client


def test_security_headers_on_page_api_static_and_errors(keyed: TestClient):
    for response in (
        keyed.get("/"),
        keyed.get("/static/app.js"),
        keyed.get("/health"),
        keyed.post("/api/search", json={"query": "q"}),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in keyed.get("/").headers["content-security-policy"]


def test_cors_is_off_by_default(client_no_keys: TestClient):
    preflight = client_no_keys.options(
        "/api/ask",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    simple = client_no_keys.get("/api/documents", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_cors_allowlist_answers_only_listed_origins(tmp_path: Path, embedder):
    settings = settings_with(tmp_path, cors_origins="https://intranet.example", api_keys=ADMIN)
    with client_for(settings, embedder) as client:
        ok = client.options(
            "/api/ask",
            headers={
                "Origin": "https://intranet.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://intranet.example"
        assert "access-control-allow-credentials" not in ok.headers
        bad = client.options(
            "/api/ask",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in bad.headers
        allowed_post = client.post(
            "/api/search",
            json={"query": "q"},
            headers={"Origin": "https://intranet.example", **auth(ADMIN)},
        )
        assert allowed_post.status_code == 409


@pytest.mark.parametrize("origins", ["*", "intranet.example", "https://a.example,*"])
def test_wildcard_or_malformed_cors_origins_are_refused(tmp_path: Path, embedder, origins: str):
    with pytest.raises(SettingsError, match="RAGD_CORS_ORIGINS"):
        client_for(settings_with(tmp_path, cors_origins=origins), embedder)


def test_cross_origin_writes_are_refused_even_without_keys(client_no_keys: TestClient):
    """A page on another site cannot make a local browser upload or ask (CSRF)."""
    evil = {"Origin": "https://evil.example"}
    upload = client_no_keys.post("/api/documents", files=[("file", ("a.txt", b"x"))], headers=evil)
    assert (upload.status_code, upload.json()["error"]) == (403, "cross_origin")
    same = {"Origin": "http://testserver"}
    assert client_no_keys.post("/api/search", json={"query": "q"}, headers=same).status_code == 409


def test_untrusted_host_is_refused(tmp_path: Path, embedder):
    """DNS rebinding: a page served as evil.example resolving to 127.0.0.1 is refused."""
    settings = settings_with(tmp_path, allowed_hosts="localhost,127.0.0.1")
    with client_for(settings, embedder) as client:
        response = client.get("/health", headers={"Host": "evil.example:8000"})
        assert (response.status_code, response.json()["error"]) == (421, "untrusted_host")
        assert client.get("/health", headers={"Host": "127.0.0.1:8000"}).status_code == 200


def test_rate_limit_is_per_key_with_retry_after(tmp_path: Path, embedder):
    settings = settings_with(
        tmp_path,
        api_keys=f"{ADMIN},{READER}:read",
        rate_limit="3/minute",
        search_rate_limit="3/minute",
    )
    with client_for(settings, embedder) as client:
        statuses = [client.get("/api/documents", headers=auth(ADMIN)).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.get("/api/documents", headers=auth(ADMIN))
        assert limited.json()["error"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert client.get("/api/documents", headers=auth(READER)).status_code == 200
        assert client.get("/health").status_code == 200  # never limited


def test_bad_rate_limit_setting_is_refused(tmp_path: Path, embedder):
    with pytest.raises(SettingsError, match="RAGD_RATE_LIMIT"):
        client_for(settings_with(tmp_path, rate_limit="lots"), embedder)


def test_serve_refuses_a_network_address_without_keys(tmp_path: Path):
    settings = settings_with(tmp_path)
    with pytest.raises(SettingsError, match="--insecure"):
        guard_bind("0.0.0.0", False, settings)
    insecure = guard_bind("0.0.0.0", True, settings).allowed_hosts.split(",")  # loudly warned
    assert "localhost" in insecure and "evil.example" not in insecure  # never any host
    assert guard_bind("127.0.0.1", False, settings).allowed_hosts == "localhost,127.0.0.1,::1,[::1]"
    keyed = settings_with(tmp_path, api_keys=ADMIN)
    assert guard_bind("0.0.0.0", False, keyed) is keyed
    assert [is_loopback(h) for h in ("localhost", "127.0.0.5", "::1", "0.0.0.0", "10.0.0.2")] == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_ragd_serve_cli_refuses_and_warns(tmp_path: Path):
    env = {"RAGD_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin", "RAGD_API_KEYS": ""}
    refused = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--host", "0.0.0.0", "--port", "9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert refused.returncode == 2
    assert "refusing to serve 0.0.0.0 with no API key" in refused.stderr


def test_key_new_prints_a_usable_key(tmp_path: Path, embedder):
    made = subprocess.run(
        [sys.executable, "-m", "app.cli", "key", "new", "--role", "read", "--name", "alice"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    key = made.stdout.split()[1]
    line = made.stdout.strip().splitlines()[-1]
    assert line.endswith("read alice") and key not in line
    (tmp_path / "keys").write_text(line + "\n")
    settings = settings_with(tmp_path, api_keys_file=tmp_path / "keys")
    with client_for(settings, embedder) as client:
        assert client.get("/api/documents", headers=auth(key)).status_code == 200
        assert client.delete("/api/documents/x", headers=auth(key)).status_code == 403
