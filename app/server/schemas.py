"""HTTP request and response models (answers' own: app.answering.schemas): the API docs."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.answering.schemas import SearchResult


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Turn(Strict):
    role: Literal["user", "assistant"] = Field(description="Who said it.")
    content: str = Field(max_length=20_000, description="What was said.")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab and newlines stay


def _not_blank(value: str) -> str:
    value = _CONTROL.sub("", value)
    if not value.strip():
        raise ValueError("must not be empty or whitespace: ask a question")
    return value.strip()


class SearchRequest(Strict):
    query: str = Field(min_length=1, max_length=4000, description="What to look for.")
    k: int = Field(5, ge=1, le=100, description="How many chunks to return.")
    collection: str | None = Field(None, description="Collection to search (default: default).")
    mode: Literal["hybrid", "dense", "keyword"] | None = Field(
        None,
        description="hybrid (BM25 + embeddings, fused), dense (embeddings) or keyword (BM25); "
        "default RAGD_RETRIEVAL_MODE.",
    )

    _check = field_validator("query")(_not_blank)


class SearchResponse(BaseModel):
    results: list[SearchResult]


class AskRequest(Strict):
    question: str = Field(min_length=1, max_length=4000, description="The question.")
    collection: str | None = Field(None, description="Collection to answer from.")
    history: list[Turn] = Field(
        default_factory=list, max_length=50, description="Earlier turns, oldest first."
    )
    stream: bool = Field(False, description="Stream Server-Sent Events instead of one JSON.")

    _check = field_validator("question")(_not_blank)


class DocumentOut(BaseModel):
    id: str
    source: str
    pages: int | None
    chunks: int
    hash: str
    ingested_at: str


class DocumentsResponse(BaseModel):
    collection: str
    documents: list[DocumentOut]
