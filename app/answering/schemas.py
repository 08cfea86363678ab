"""What answering returns (search results, sources, answers): the API documentation of both."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class SearchResult(BaseModel):
    chunk_id: int = Field(description="Stable id of the chunk.")
    doc_id: str = Field(description="Id of the document the chunk belongs to.")
    text: str
    source: str = Field(description="File path relative to the folder it was ingested from.")
    page: int | None = Field(description="1-based page for paged formats (PDF), else null.")
    heading: str | None = Field(None, description="Nearest heading above the chunk.")
    score: float = Field(
        description="Higher is better; comparable within one response only (its scale depends "
        "on the mode: cosine for dense, BM25 for keyword, fused for hybrid)."
    )


class Source(BaseModel):
    n: int = Field(description="The number the answer cites as [n].")
    chunk_id: int
    doc_id: str
    source: str
    page: int | None
    heading: str | None = None
    quote: str = Field(description="The sentence(s) of the chunk that best support the answer.")
    text: str = Field(description="The whole chunk given to the model.")
    score: float
    cited: bool = Field(description="Whether the answer cites this source.")


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    cached_prompt_tokens: int = Field(
        0, description="Prompt tokens reused from llama.cpp's KV cache (the shared prefix)."
    )


class Timings(BaseModel):
    retrieval_ms: float = Field(description="Embedding the query and searching the index.")
    rewrite_ms: float = Field(0.0, description="Making a follow-up standalone (model or keywords).")
    queue_ms: float = Field(0.0, description="Waiting for the model behind other requests.")
    time_to_first_token_ms: float | None = Field(
        description="From the request's arrival to the first answer token."
    )
    generation_ms: float = Field(description="From the request's arrival to the last token.")
    tokens_per_second: float | None = Field(description="Decode rate after the first token.")


class Context(BaseModel):
    used: list[int] = Field(description="Chunk ids put in the prompt, as sources 1..n.")
    dropped: list[int] = Field(description="Retrieved chunk ids that did not fit the window.")


class AskResponse(BaseModel):
    answer: str
    sources: list[Source]
    answerable: bool = Field(description="False when ragd could not answer from the documents.")
    evidence: float | None = Field(
        None,
        description="Cosine similarity of the chunk nearest to the question; below "
        "RAGD_ABSTAIN_BELOW ragd answers that the documents cannot answer it.",
    )
    invalid_citations_removed: int = Field(0, description="[n] markers naming no source.")
    attributed_citations: int = Field(
        0,
        description="[n] markers ragd added to sentences the model left uncited, where one "
        "passage holds at least half of the sentence's content words.",
    )
    context: Context
    usage: Usage
    timings: Timings
    retrieval_query: str = Field(
        "", description="What retrieval searched for: the question, or a follow-up made standalone."
    )
    query_rewrite: Literal["none", "keywords", "model"] = Field(
        "none", description="How a follow-up was made standalone (RAGD_QUERY_REWRITE)."
    )
