"""Types every store shares: rows, hits, what built an index, names, and the model check."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class IndexSpec:
    """What the vectors were made with; a query must be embedded the same way."""

    embed_model: str
    dimension: int
    normalized: bool = True
    chunker: str = ""
    embed_backend: str = "torch"  # torch, onnx, onnx-int8: vectors differ slightly between them


@dataclass(frozen=True)
class DocumentRow:
    """A document and its metadata (what filters select on)."""

    id: str
    source: str
    hash: str
    pages: int | None
    chunks: int
    ingested_at: str
    type: str = ""  # the file's suffix, lower case, without the dot ("pdf", "md")
    size: int = 0  # bytes
    modified: str = ""  # the file's modification time (ISO 8601, UTC); uploads: when received
    title: str = ""
    tags: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class ChunkRow:
    id: int
    doc_id: str
    source: str
    ord: int
    text: str
    page: int | None
    heading: str | None


@dataclass(frozen=True)
class NewChunk:
    text: str
    page: int | None = None
    heading: str | None = None


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk and its score (higher is better)."""

    chunk: ChunkRow
    score: float


def keyword_text(text: str, heading: str | None) -> str:
    """What the keyword index reads of a chunk: its heading path, then its text."""
    return f"{heading}\n{text}" if heading else text


def valid_name(name: str) -> bool:
    """Whether `name` can name a collection (never a path, nor an engine's reserved word)."""
    return bool(_NAME.match(name))


def mismatch_message(name: str, built: IndexSpec, wanted: IndexSpec) -> str:
    return (
        f"collection {name!r} was built with embedding model {built.embed_model!r} "
        f"(backend {built.embed_backend}, dimension {built.dimension}, chunker {built.chunker!r}) "
        f"but ragd is configured for {wanted.embed_model!r} (backend {wanted.embed_backend}, "
        f"dimension {wanted.dimension}, chunker {wanted.chunker!r}). "
        f"Set RAGD_EMBED_MODEL={built.embed_model} RAGD_EMBED_BACKEND={built.embed_backend} to "
        f"use the index as it is, or re-embed it with `ingest --rebuild PATH --collection {name}`."
    )


HealthState = Literal["empty", "ok", "degraded", "broken"]


@dataclass(frozen=True)
class Health:
    """A collection's state on disk: empty (never committed), ok, degraded (readers get the
    previous generation), or broken (nothing good to serve); with what to do about it."""

    state: HealthState
    generation: int = 0  # the newest committed generation (0: none)
    serving: int | None = None  # the generation readers get, None when nothing
    problems: list[str] = field(default_factory=list)
    advice: str = ""

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)
