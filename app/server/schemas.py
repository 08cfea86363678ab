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
from index.errors import InvalidFilter
from index.filters import TAG_KEY, Filter
from index.filters import parse as parse_filter
from models.generator import Message


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Turn(Strict):
    role: Literal["user", "assistant"] = Field(description="Who said it.")
    content: str = Field(max_length=MAX_TURN_CHARS, description="What was said.")

    _clean = field_validator("content")(clean_text)


FILTER_DOC = (
    "Only chunks of documents matching this metadata filter (applied before ranking, so k "
    'results come back whenever k chunks match). A condition: {"field": F, OP: VALUE}; '
    "fields source, type, title, tags.KEY (text: eq, ne, in, prefix, glob with * and ?), "
    "size, pages (numbers), modified, ingested (ISO dates; a bare date is the whole day) "
    '(eq, ne, in, gt, gte, lt, lte); combine with {"and": [...]}, {"or": [...]}, '
    '{"not": ...}. An invalid filter is a 422 naming the problem.'
)
FILTER_EXAMPLE = {
    "and": [
        {"field": "type", "in": ["pdf", "docx"]},
        {"field": "source", "prefix": "legal/"},
        {"field": "modified", "gte": "2024-01-01"},
    ]
}


def check_filter(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    """Validate a filter at the edge (a ValueError is a 422 naming the problem)."""
    if raw is not None:
        try:
            parse_filter(raw)
        except InvalidFilter as exc:
            raise ValueError(str(exc)) from None
    return raw


def parsed_filter(raw: dict[str, Any] | None) -> Filter | None:
    return None if raw is None else parse_filter(raw)


FilterField = Field(None, description=FILTER_DOC, examples=[FILTER_EXAMPLE])


class SearchRequest(Strict):
    query: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, description="What to look for.")
    k: int = Field(5, ge=1, le=100, description="How many chunks to return.")
    collection: str | None = Field(None, description="Collection to search (default: default).")
    mode: Literal["hybrid", "dense", "keyword"] | None = Field(
        None,
        description="hybrid (BM25 + embeddings, fused), dense (embeddings) or keyword (BM25); "
        "default RAGD_RETRIEVAL_MODE.",
    )
    filter: dict[str, Any] | None = FilterField

    _check = field_validator("query")(clean_question)
    _filter = field_validator("filter")(check_filter)


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
    conversation_id: str | None = Field(
        None,
        max_length=64,
        description="A stored conversation of this key (POST /api/conversations): its turns "
        "are the history unless `history` is given, and this turn is appended to it.",
    )
    filter: dict[str, Any] | None = FilterField

    _check = field_validator("question")(clean_question)
    _filter = field_validator("filter")(check_filter)

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
    filter: dict[str, Any] | None = Field(
        None, description="ragd's extra field: a metadata filter, as on /api/ask."
    )

    _filter = field_validator("filter")(check_filter)

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
    type: str = Field("", description="The file's suffix, lower case (pdf, md, ...).")
    size: int = Field(0, description="Bytes.")
    modified: str = Field("", description="The file's modification time (uploads: received).")
    title: str = ""
    tags: dict[str, str] = Field(default_factory=dict)


MAX_TAGS = 32


class TagsUpdate(Strict):
    """PATCH /api/documents/{id}: the document's tags, replaced as a whole (admin keys)."""

    tags: dict[str, str] = Field(
        max_length=MAX_TAGS, description="Tag names 1-64 of [A-Za-z0-9_.-]; values 256 chars."
    )

    @field_validator("tags")
    @classmethod
    def _names(cls, tags: dict[str, str]) -> dict[str, str]:
        return valid_tags(tags)


def valid_tags(tags: dict[str, str]) -> dict[str, str]:
    for key, value in tags.items():
        if not TAG_KEY.match(key):
            raise ValueError(f"tag name {key!r}: use 1-64 letters, digits, '_', '.' or '-'")
        if len(value) > 256:
            raise ValueError(f"tag {key!r}: at most 256 characters")
    return tags


class DocumentsResponse(BaseModel):
    collection: str
    documents: list[DocumentOut]
