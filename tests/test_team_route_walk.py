"""Every route and method of the app, with a key scoped to collection A, aimed at collection B:
refused (404/403) wherever a collection is named, and B's name, files, ids and sizes appear in
no response body; the same for /v1 model names, /health and the MCP tools and resources."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from tests.team_support import ADMIN, B_FILES, A, B, add_key, bearer, client, team_box

SCOPES = {  # key -> its keys-file line: role, scope, name
    "scoped-read-key-0123456789": f"read collections={A}:read reader-a",
    "scoped-admin-key-0123456789": f"admin collections={A}:admin admin-a",
    "mixed-scope-key-0123456789": f"read collections={A}:admin,default:read mixed-a",
}
# Routes that name a collection (query, form, JSON body, model name or resource): refused.
COLLECTION_ROUTES = {
    ("POST", "/api/search"),
    ("POST", "/api/ask"),
    ("GET", "/api/documents"),
    ("POST", "/api/documents"),
    ("DELETE", "/api/documents/{doc_id}"),
    ("PATCH", "/api/documents/{doc_id}"),
    ("POST", "/v1/chat/completions"),
}
# Routes that name none: they must answer without a word about B (or refuse).
OTHER_ROUTES = {
    ("GET", "/api/collections"),
    ("GET", "/health"),
    ("GET", "/v1/models"),
    ("GET", "/metrics"),
    ("GET", "/"),
    ("GET", "/docs"),
    ("GET", "/openapi.json"),
    ("GET", "/api/models"),
    ("POST", "/api/models/current"),
    ("GET", "/api/conversations"),
    ("POST", "/api/conversations"),
    ("GET", "/api/conversations/{conversation_id}"),
    ("PATCH", "/api/conversations/{conversation_id}"),
    ("DELETE", "/api/conversations/{conversation_id}"),
    ("GET", "/api/conversations/{conversation_id}/export"),
    ("POST", "/mcp"),
    ("GET", "/mcp"),
    ("DELETE", "/mcp"),
    ("GET", "/static"),
}


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("walk")
    settings, services = team_box(tmp)
    for key, line in SCOPES.items():
        add_key(settings, key, line)
    with client(settings, services) as http:
        admin = http.get("/api/documents", params={"collection": B}, headers=bearer(ADMIN))
        docs = admin.json()["documents"]
        sizes = http.get("/api/collections", headers=bearer(ADMIN)).json()["collections"]
        yield {"http": http, "doc_ids": [d["id"] for d in docs], "sizes": sizes, "walked": []}


def all_routes(app: Any) -> list[Any]:
    try:  # FastAPI >= 0.135 wraps included routers; this public helper unwraps them
        from fastapi.routing import iter_route_contexts
    except ImportError:
        return list(app.routes)
    return [c.original_route for c in iter_route_contexts(app.routes)]


# GET /mcp opens the MCP server's standalone notification stream (no tool, no collection);
# under TestClient it never ends, so the walk skips it (counted in the classification).
UNWALKED = {("GET", "/mcp")}


def routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path) of app.routes, included routers unwrapped, mounts as GET."""
    found = []
    for route in all_routes(app):
        if isinstance(route, APIRoute | Route):
            methods = route.methods or {"GET", "POST", "DELETE"}  # a bare ASGI endpoint: any
            found += [(m, route.path) for m in sorted(methods) if m != "HEAD"]
        elif isinstance(route, Mount):
            found.append(("GET", route.path))
    return found


def secrets_of(box: dict[str, Any]) -> list[str]:
    """What would tell a key about B: its name, file names, document ids, exact sizes."""
    size = next(c for c in box["sizes"] if c["name"] == B)
    marks = [B, *B_FILES, *(n.split(".")[0] for n in B_FILES), *box["doc_ids"], "quokka"]
    return [*marks, f'"documents": {size["documents"]}, "chunks": {size["chunks"]}']


def attempts(method: str, path: str, doc_id: str) -> list[dict[str, Any]]:
    """Ways to aim one route at B: query, JSON body, form, model name, path parameter."""
    url = path.replace("{doc_id}", doc_id).replace("{conversation_id}", "c0ffee")
    url = "/static/app.js" if path == "/static" else url
    query = {"collection": B, "format": "json"}
    bodies = BODIES.get(path, [{"title": B, "collection": B}])
    files = {"file": ("note.txt", b"quokka note", "text/plain")}
    tries: list[dict[str, Any]] = [{"method": method, "url": url, "params": query}]
    if method in ("POST", "PATCH", "DELETE"):
        tries += [{"method": method, "url": url, "params": query, "json": b} for b in bodies]
    if (method, path) == ("POST", "/api/documents"):
        tries.append({"method": method, "url": url, "data": {"collection": B}, "files": files})
    if path == "/mcp" and method == "POST":
        tries += [{"method": "POST", "url": url, "json": rpc, "headers": MCP} for rpc in MCP_CALLS]
    return tries


ASK = {"question": "quokka payroll?", "collection": B}
CHAT = {"model": f"ragd/{B}", "messages": [{"role": "user", "content": "quokka?"}]}
BODIES = {  # each valid for its route, so only the scope can refuse it
    "/api/search": [{"query": "quokka payroll", "collection": B}],
    "/api/ask": [ASK, {**ASK, "stream": True}],
    "/api/documents/{doc_id}": [{"tags": {"team": "hr"}}],
    "/v1/chat/completions": [CHAT, {**CHAT, "stream": True}],
}
MCP = {"Accept": "application/json, text/event-stream"}
MCP_CALLS = (
    [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": tool, "arguments": {**args, "collection": B}},
        }
        for tool, args in (
            ("search", {"query": "quokka"}),
            ("ask", {"question": "quokka?"}),
            ("list_documents", {}),
        )
    ]
    + [
        {"jsonrpc": "2.0", "id": 2, "method": "resources/read", "params": {"uri": uri}}
        for uri in ("ragd://collections", f"ragd://collections/{B}")
    ]
    + [{"jsonrpc": "2.0", "id": 3, "method": "resources/list", "params": {}}]
)


def send(http: TestClient, key: str, attempt: dict[str, Any]) -> Any:
    headers = {**bearer(key), **attempt.pop("headers", {})}
    return http.request(headers=headers, **attempt)


def leaks(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if re.search(re.escape(s), text, re.IGNORECASE)]


def test_every_route_is_classified(box):
    """A new route must be put in one list or the other: the walk then covers it."""
    assert set(routes(box["http"].app)) == COLLECTION_ROUTES | OTHER_ROUTES


@pytest.mark.parametrize("key", list(SCOPES))
def test_a_key_scoped_to_a_learns_nothing_about_b_on_any_route(box, key):
    http, secrets, found = box["http"], secrets_of(box), []
    for method, path in sorted(set(routes(http.app)) - UNWALKED):
        statuses = []
        for attempt in attempts(method, path, box["doc_ids"][0]):
            response = send(http, key, dict(attempt))
            box["walked"].append((method, path, key))
            body = response.text
            statuses.append(response.status_code)
            if (method, path) in COLLECTION_ROUTES:  # refused, or not even a valid request
                assert response.status_code in (403, 404, 422), (method, path, body[:300])
            if path == "/mcp" and "method" in attempt.get("json", {}):
                assert _mcp_refused_or_clean(attempt["json"], body), (attempt, body[:300])
            # A refusal may echo what the client sent (a 422 lists its input), nothing more.
            sent = json.dumps(attempt, default=str)
            unsent = [x for x in secrets if x.lower() not in sent.lower()]
            found += [(method, path, leak) for leak in leaks(body, unsent)]
            if not refused(response.status_code, body):
                found += [(method, path, leak, body[:400]) for leak in leaks(body, secrets)]
        if (method, path) in COLLECTION_ROUTES:
            assert {403, 404} & set(statuses), (method, path, statuses)  # a real refusal
    assert found == []


def refused(status: int, body: str) -> bool:
    """An HTTP error, or a JSON-RPC error (MCP answers those with 200)."""
    return status >= 400 or (body.startswith('{"jsonrpc":"2.0","id":') and '"error":{' in body)


def _mcp_refused_or_clean(call: dict[str, Any], body: str) -> bool:
    """A tool or resource aimed at B is an error; a listing simply leaves B out."""
    reply = json.loads(body)
    if call["method"] == "resources/list" or call["params"].get("uri") == "ragd://collections":
        return "error" not in reply
    result = reply.get("result", {})
    return "error" in reply or bool(result.get("isError"))


def test_the_admin_key_sees_b_so_the_walk_can_fail(box):
    """The same requests with an unscoped admin key do reveal B: the walk's checks bite."""
    http = box["http"]
    listed = http.get("/api/collections", headers=bearer(ADMIN)).text
    models = http.get("/v1/models", headers=bearer(ADMIN)).text
    found = http.post(
        "/api/search", json={"query": "quokka", "collection": B}, headers=bearer(ADMIN)
    )
    assert B in listed and f"ragd/{B}" in models and "quokka" in found.text.lower()
    assert leaks(found.text, secrets_of(box))


def test_scoped_keys_still_reach_their_own_collection(box):
    http = box["http"]
    for key in SCOPES:
        searched = http.post(
            "/api/search", json={"query": "tea", "collection": A}, headers=bearer(key)
        )
        models = http.get("/v1/models", headers=bearer(key)).json()["data"]
        health = http.get("/health", headers=bearer(key)).json()["collections"]
        assert searched.status_code == 200 and searched.json()["results"]
        assert f"ragd/{A}" in [m["id"] for m in models] and A in health


def test_health_without_a_key_lists_no_collection_on_a_keyed_server(box):
    assert box["http"].get("/health").json()["collections"] == {}


def test_walk_count(box, capsys):
    """Printed for the report: routes x methods x scopes tried."""
    walked = box["walked"]
    pairs = {(m, p) for m, p, _ in walked}
    with capsys.disabled():
        print(
            f"\nroute walk: {len(pairs)} route-methods x {len(SCOPES)} scopes, "
            f"{len(walked)} requests, 0 leaks"
        )
    assert len(pairs) == len(COLLECTION_ROUTES | OTHER_ROUTES) - len(UNWALKED)
