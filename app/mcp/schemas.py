"""What the MCP tools return: their output schemas, as MCP clients see them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.answering.schemas import SearchResult


class SearchOutput(BaseModel):
    collection: str = Field(description="The collection searched.")
    results: list[SearchResult] = Field(description="The best chunks, best first.")


class CitedSource(BaseModel):
    n: int = Field(description="The number the answer cites as [n].")
    source: str = Field(description="File path relative to the folder it was ingested from.")
    page: int | None = Field(description="1-based page for paged formats (PDF), else null.")
    quote: str = Field(description="The sentence(s) of the source that best support the answer.")
    cited: bool = Field(description="Whether the answer cites this source.")


class AskOutput(BaseModel):
    answer: str = Field(description="The answer, citing sources as [n].")
    answerable: bool = Field(description="False when the documents do not answer the question.")
    sources: list[CitedSource] = Field(description="The passages the answer was made from.")


class DocumentInfo(BaseModel):
    id: str
    source: str = Field(description="File path relative to the folder it was ingested from.")
    pages: int | None
    chunks: int
    ingested_at: str


class DocumentsOutput(BaseModel):
    collection: str
    documents: list[DocumentInfo]


class CollectionInfo(BaseModel):
    name: str
    documents: int
    chunks: int
    uri: str = Field(description="The resource listing this collection's documents.")
