"""Metadata filters in the MCP tools, driven by the SDK's client over stdio (`ragd mcp`) on the
real packaged models and samples/ ingested by the real `ingest` CLI."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from tests.test_mcp import MEETING, drive, stdio_server

pytestmark = pytest.mark.e2e
QUERY = "name of the lock file"  # unfiltered, its best passage is in architecture.pdf


async def filtered_calls(client: Client) -> dict[str, Any]:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    only_md = {"field": "type", "eq": "md"}
    faq = {"field": "source", "eq": "team-faq.docx"}
    return {
        "tools": tools,
        "unfiltered": await client.call_tool("search", {"query": QUERY, "k": 5}),
        "md": await client.call_tool("search", {"query": QUERY, "k": 5, "filter": only_md}),
        "ask": await client.call_tool("ask", {"question": MEETING, "filter": faq}),
        "bad_field": await client.call_tool(
            "search", {"query": QUERY, "filter": {"field": "colour", "eq": "red"}}
        ),
        "bad_op": await client.call_tool(
            "ask", {"question": MEETING, "filter": {"field": "size", "prefix": "1"}}
        ),
        "not_object": await client.call_tool("search", {"query": QUERY, "filter": "type=md"}),
    }


@pytest.fixture(scope="module")
def seen(samples_data_dir) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return dict(drive(Client(stdio_server(samples_data_dir)), filtered_calls))


def sources(result: Any, key: str) -> list[str]:
    return [r["source"] for r in result.structured_content[key]]


def test_search_and_ask_advertise_an_optional_filter_object(seen):
    for name in ("search", "ask"):
        schema = seen["tools"][name].input_schema
        assert "filter" in schema["properties"] and "filter" not in schema["required"]
        assert "prefix" in schema["properties"]["filter"]["description"]


def test_search_with_a_type_filter_returns_only_that_type(seen):
    assert sources(seen["unfiltered"], "results")[0] == "architecture.pdf"
    found = sources(seen["md"], "results")
    assert found and set(found) == {"user-guide.md"}


def test_ask_with_a_source_filter_answers_from_that_document_only(seen):
    answer = seen["ask"].structured_content
    assert not seen["ask"].is_error and answer["answer"].strip()
    assert set(sources(seen["ask"], "sources")) == {"team-faq.docx"}


def test_an_invalid_filter_is_a_tool_error_naming_the_problem(seen):
    assert seen["bad_field"].is_error
    assert "unknown field 'colour'" in seen["bad_field"].content[0].text
    assert seen["bad_op"].is_error
    assert "operator 'prefix' does not apply to 'size'" in seen["bad_op"].content[0].text
    assert seen["not_object"].is_error and "filter" in seen["not_object"].content[0].text
