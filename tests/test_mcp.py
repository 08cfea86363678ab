"""The MCP server driven by the SDK's own client, over stdio (`ragd mcp`) and streamable HTTP
(`/mcp` on `ragd serve`, behind the API keys), on the real packaged models and the samples."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.support import ROOT, env_for, running_ragd

pytestmark = pytest.mark.e2e
READ_KEY = "read-key-0123456789abcdef"
ADMIN_KEY = "admin-key-0123456789abcdef"
MEETING = "When do the ragd maintainers meet?"


def stdio_server(data: Path) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=["-m", "app.cli", "mcp"], env=env_for(data), cwd=ROOT
    )


def http_client(url: str, key: str | None, statuses: list[int] | None = None) -> Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    http = create_mcp_http_client(headers=headers)
    if statuses is not None:

        async def record(response: Any) -> None:
            statuses.append(response.status_code)

        http.event_hooks["response"].append(record)
    return Client(streamable_http_client(f"{url}/mcp", http_client=http))


def drive(client: Client, session: Callable[[Client], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        async with client as connected:
            return await session(connected)

    return asyncio.run(asyncio.wait_for(run(), 300))


async def tour(client: Client) -> dict[str, Any]:
    """What an assistant would do: list tools, search, ask, list documents, read resources."""
    tools = {t.name: t for t in (await client.list_tools()).tools}
    search = await client.call_tool("search", {"query": "name of the lock file", "k": 3})
    ask = await client.call_tool("ask", {"question": MEETING})
    docs = await client.call_tool("list_documents", {})
    listed = await client.read_resource("ragd://collections")
    one = await client.read_resource("ragd://collections/default")
    missing = await client.call_tool("search", {"query": "anything", "collection": "nope"})
    return {
        "tools": tools, "search": search, "ask": ask, "docs": docs, "missing": missing,
        "collections": listed.contents[0].text, "collection": one.contents[0].text,
    }  # fmt: skip


def check_tour(seen: dict[str, Any]) -> None:
    assert set(seen["tools"]) == {"search", "ask", "list_documents"}
    assert seen["tools"]["ask"].input_schema["required"] == ["question"]
    top = seen["search"].structured_content["results"][0]
    assert (top["source"], top["page"]) == ("architecture.pdf", 2) and "write.lock" in top["text"]
    answer = seen["ask"].structured_content
    cited = [s for s in answer["sources"] if s["cited"]]
    assert answer["answer"].strip() and answer["answerable"]
    assert "team-faq.docx" in {s["source"] for s in cited} and all(s["quote"] for s in cited)
    assert len(seen["docs"].structured_content["documents"]) == 5
    assert '"name": "default"' in seen["collections"] and "team-faq.docx" in seen["collection"]
    assert seen["missing"].is_error and "nope" in seen["missing"].content[0].text


def test_stdio_server_searches_answers_with_citations_and_lists(samples_data_dir):
    check_tour(drive(Client(stdio_server(samples_data_dir)), tour))


@pytest.fixture(scope="module")
def keyed_server(samples_data_dir: Path) -> Iterator[str]:
    keys = f"{READ_KEY}:read,{ADMIN_KEY}:admin"
    with running_ragd(env_for(samples_data_dir, RAGD_API_KEYS=keys)) as url:
        yield url


def test_http_server_with_a_read_key_searches_answers_and_lists(keyed_server):
    check_tour(drive(http_client(keyed_server, READ_KEY), tour))


def test_http_mcp_refuses_a_client_without_a_key(keyed_server):
    statuses: list[int] = []
    with pytest.raises(Exception, match="unhandled errors"):
        drive(http_client(keyed_server, None, statuses), lambda c: c.list_tools())
    assert statuses and set(statuses) == {401}


@pytest.mark.parametrize("key", [None, "wrong-key-0123456789abcdef"])
def test_http_mcp_answers_401_without_a_valid_key(keyed_server, key):
    headers = {"Accept": "application/json, text/event-stream"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    response = httpx.post(f"{keyed_server}/mcp", json=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
