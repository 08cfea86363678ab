"""The MCP server: tools search, ask and list_documents; the collections as resources."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from app.answering.answer import Answerer, search_result
from app.answering.errors import ROOTS
from app.answering.limits import check_question
from app.answering.schemas import AskResponse
from app.mcp.schemas import (
    AskOutput,
    CitedSource,
    CollectionInfo,
    DocumentInfo,
    DocumentsOutput,
    SearchOutput,
)
from index.filters import Filter
from index.filters import parse as parse_filter

INSTRUCTIONS = (
    "ragd answers questions from the user's own documents. Use `search` to find passages, "
    "`ask` for an answer that cites its sources (file, page, quote), and `list_documents` to "
    "see what a collection holds. Collections are listed at ragd://collections."
)
READ_ONLY = ToolAnnotations(readOnlyHint=True, openWorldHint=False)
Query = Annotated[str, Field(min_length=1, max_length=4000, description="What to look for.")]
Question = Annotated[str, Field(min_length=1, max_length=4000, description="The question.")]
K = Annotated[int, Field(ge=1, le=50, description="How many passages to return.")]
CollectionArg = Annotated[
    str | None, Field(description="Collection name (default: the server's default collection).")
]
FilterArg = Annotated[
    dict[str, Any] | None,
    Field(
        description=(
            "Only passages of documents matching this metadata filter (applied before ranking). "
            'A condition: {"field": F, OP: VALUE}; fields source, type, title, tags.KEY (text: '
            "eq, ne, in, prefix, glob with * and ?), size, pages (numbers), modified, ingested "
            "(ISO dates; a bare date is the whole day; eq, ne, in, gt, gte, lt, lte); combine "
            'with {"and": [...]}, {"or": [...]}, {"not": ...}. Example: {"and": [{"field": '
            '"source", "prefix": "legal/"}, {"field": "modified", "gte": "2024-01-01"}]}'
        ),
    ),
]


class Tools:
    """The tools, over an Answerer found at call time (the server's, once its models load)."""

    def __init__(self, answerer: Callable[[], Answerer]) -> None:
        self.answerer = answerer

    def _name(self, collection: str | None) -> str:
        return collection or self.answerer().services.settings.collection

    async def search(
        self, query: Query, k: K = 5, collection: CollectionArg = None, filter: FilterArg = None
    ) -> SearchOutput:
        """Find the passages of the documents most relevant to a query (no generation)."""
        answerer = self.answerer()
        try:
            query = check_question(query)  # the limits of every route (app.answering.limits)
            where = parsed(filter)
            passages = await anyio.to_thread.run_sync(
                lambda: answerer.search(query, collection, k, where=where)
            )
        except ROOTS as exc:
            raise ToolError(str(exc)) from exc
        results = [search_result(p) for p in passages]
        return SearchOutput(collection=self._name(collection), results=results)

    async def ask(
        self, question: Question, collection: CollectionArg = None, filter: FilterArg = None
    ) -> AskOutput:
        """Answer a question from the documents, citing sources as [n] with file, page, quote."""
        try:
            where = parsed(filter)
            response = await self.answerer().answer(
                check_question(question), collection, where=where
            )
        except ROOTS as exc:
            raise ToolError(str(exc)) from exc
        return ask_output(response)

    def list_documents(self, collection: CollectionArg = None) -> DocumentsOutput:
        """List the documents of a collection: source file, pages, chunks, when ingested."""
        name = self._name(collection)
        try:
            return DocumentsOutput(collection=name, documents=documents(self.answerer(), name))
        except ROOTS as exc:
            raise ToolError(str(exc)) from exc

    def collections(self) -> str:
        """Every collection with its size, and the resource listing its documents."""
        return json.dumps([c.model_dump() for c in collections(self.answerer())], indent=1)

    def collection(self, name: str) -> str:
        """One collection's documents."""
        try:
            found = documents(self.answerer(), name)
        except ROOTS as exc:
            raise ResourceError(str(exc)) from exc
        output = DocumentsOutput(collection=name, documents=found)
        return output.model_dump_json(indent=1)


def parsed(raw: dict[str, Any] | None) -> Filter | None:
    """The filter tree, or InvalidFilter (a tool error) naming what is wrong, as on /api/ask."""
    return None if raw is None else parse_filter(raw)


def ask_output(response: AskResponse) -> AskOutput:
    sources = [
        CitedSource(n=s.n, source=s.source, page=s.page, quote=s.quote, cited=s.cited)
        for s in response.sources
    ]
    return AskOutput(answer=response.answer, answerable=response.answerable, sources=sources)


def documents(answerer: Answerer, name: str) -> list[DocumentInfo]:
    collection = answerer.services.store.collection(name)
    rows = collection.snapshot().documents() if collection.exists() else []
    return [
        DocumentInfo(
            id=d.id, source=d.source, pages=d.pages, chunks=d.chunks, ingested_at=d.ingested_at
        )
        for d in rows
    ]


def collections(answerer: Answerer) -> list[CollectionInfo]:
    store, found = answerer.services.store, []
    for name in store.names():
        state = store.collection(name).state()
        if state is not None:
            uri = f"ragd://collections/{name}"
            found.append(
                CollectionInfo(name=name, documents=state.documents, chunks=state.rows, uri=uri)
            )
    return found


def build_server(answerer: Callable[[], Answerer]) -> MCPServer:
    """The MCP server over `answerer` (called per request: the HTTP app builds it later)."""
    tools = Tools(answerer)
    server: MCPServer = MCPServer("ragd", instructions=INSTRUCTIONS, version="0.1.0")
    server.add_tool(tools.search, annotations=READ_ONLY)
    server.add_tool(tools.ask, annotations=READ_ONLY)
    server.add_tool(tools.list_documents, annotations=READ_ONLY)
    server.resource("ragd://collections", mime_type="application/json")(tools.collections)
    server.resource("ragd://collections/{name}", mime_type="application/json")(tools.collection)
    return server
