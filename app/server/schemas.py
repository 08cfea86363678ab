"""HTTP request and response models (answers' own: app.answering.schemas): the API docs.

/api/ask, /api/search and /v1/chat/completions share one set of limits (app.answering.limits):
the question's length, control characters and lone surrogates removed, the history's turns and
their length. A /v1 request is reduced to the same question and history as /api/ask.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.answering.limits import (
    MAX_HISTORY_TURNS,
    MAX_QUESTION_CHARS,
    MAX_TURN_CHARS,
    clean_question,
    clean_text,
)
from app.answering.schemas import SearchResult
from models.generator import Message


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Turn(Strict):
    role: Literal["user", "assistant"] = Field(description="Who said it.")
    content: str = Field(max_length=MAX_TURN_CHARS, description="What was said.")

    _clean = field_validator("content")(clean_text)


class SearchRequest(Strict):
    query: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, description="What to look for.")
    k: int = Field(5, ge=1, le=100, description="How many chunks to return.")
    collection: str | None = Field(None, description="Collection to search (default: default).")
    mode: Literal["hybrid", "dense", "keyword"] | None = Field(
        None,
        description="hybrid (BM25 + embeddings, fused), dense (embeddings) or keyword (BM25); "
        "default RAGD_RETRIEVAL_MODE.",
    )

    _check = field_validator("query")(clean_question)


class SearchResponse(BaseModel):
    results: list[SearchResult]


class AskRequest(Strict):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, description="The question.")
    collection: str | None = Field(None, description="Collection to answer from.")
    history: list[Turn] = Field(
        default_factory=list,
        max_length=MAX_HISTORY_TURNS,
        description="Earlier turns, oldest first.",
    )
    stream: bool = Field(False, description="Stream Server-Sent Events instead of one JSON.")

    _check = field_validator("question")(clean_question)

    def messages(self) -> list[Message]:
        return [{"role": t.role, "content": t.content} for t in self.history]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: keep the text ones
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """An OpenAI chat request, held to /api/ask's limits: the last message is the question,
    earlier user and assistant messages the history."""

    model_config = ConfigDict(extra="allow")  # temperature, top_p, ... are accepted and ignored
    model: str = Field("ragd", description="`ragd` (default collection) or `ragd/<collection>`.")
    messages: list[ChatMessage] = Field(min_length=1, max_length=2 * MAX_HISTORY_TURNS)
    stream: bool = False
    max_tokens: int | None = Field(None, ge=1, description="Capped at RAGD_MAX_ANSWER_TOKENS.")
    max_completion_tokens: int | None = Field(None, ge=1)
    stream_options: dict[str, Any] | None = None

    @field_validator("messages")
    @classmethod
    def _as_ask(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        *turns, last = messages
        if last.role != "user":
            raise ValueError("the last message must be a non-empty user message: the question")
        question = _question(last.text())
        history = [m for m in turns if m.role in ("user", "assistant")]
        if len(history) > MAX_HISTORY_TURNS:
            raise ValueError(
                f"at most {MAX_HISTORY_TURNS} user and assistant turns before the question"
            )
        return [*(_turn(m) for m in history), ChatMessage(role="user", content=question)]

    def question(self) -> str:
        return self.messages[-1].text()

    def history(self) -> list[Message]:
        return [{"role": m.role, "content": m.text()} for m in self.messages[:-1]]


def _question(text: str) -> str:
    if len(text) > MAX_QUESTION_CHARS:
        raise ValueError(f"the question should have at most {MAX_QUESTION_CHARS} characters")
    try:
        return clean_question(text)
    except ValueError:
        raise ValueError(
            "the last message must be a non-empty user message: the question"
        ) from None


def _turn(message: ChatMessage) -> ChatMessage:
    text = message.text()
    if len(text) > MAX_TURN_CHARS:
        raise ValueError(f"each earlier turn should have at most {MAX_TURN_CHARS} characters")
    return ChatMessage(role=message.role, content=clean_text(text))


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
