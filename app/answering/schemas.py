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


class SentenceSupport(BaseModel):
    text: str = Field(description="The answer sentence as shown (markers only when supported).")
    supported: bool = Field(
        description="Whether the support check found it in the passages it cites (or, uncited, "
        "in any used passage); an unsupported sentence carries no citation."
    )
    score: float | None = Field(
        description="Support score 0..1 (RAGD_SUPPORT_THRESHOLD cuts it); null when there was "
        "nothing to check (no topic words) or the sentence is the model declining to answer."
    )
    citations: list[int] = Field(description="Source numbers the sentence cites.")


AnswerMode = Literal["generative", "extractive", "abstained", "no_context"]


class AskResponse(BaseModel):
    answer: str
    sources: list[Source]
    answerable: bool = Field(description="False when ragd could not answer from the documents.")
    evidence: float | None = Field(
        None, description="Cosine similarity of the chunk nearest to the question."
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
    sentences: list[SentenceSupport] = Field(
        default_factory=list, description="Each answer sentence with its support check."
    )
    grounded: float | None = Field(
        None, description="Share of the answer's sentences that passed the support check."
    )
    answer_mode: AnswerMode = Field(
        "generative",
        description="How the answer was made: generative (the model's words, checked), "
        "extractive (passage sentences quoted verbatim), abstained, or no_context.",
    )
    replaced: bool = Field(
        False,
        description="True when RAGD_ANSWER_MODE=auto replaced the generated (and streamed) "
        "answer because it failed the support check; `answer` holds the replacement.",
    )
    generated_answer: str | None = Field(
        None, description="The model's own answer when it was replaced, for inspection."
    )
    answerability: float | None = Field(
        None,
        description="Sentence-level evidence that the documents answer the question; below "
        "`abstain_threshold` ragd abstains without calling the model.",
    )
    abstain_threshold: float | None = Field(
        None,
        description="The threshold in force: the collection's calibrated one (ragd eval "
        "--write-threshold) or RAGD_ABSTAIN_BELOW.",
    )
