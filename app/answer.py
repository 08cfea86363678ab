"""Answer orchestration: retrieve -> budget -> prompt -> generate -> cite."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import anyio

from app.citations import attribute, best_quote, citing_sentences, filter_citations
from app.generation import GenerationQueue
from app.prompt import STOP, Budgeted, Passage, fit_context
from app.retrieval import Mode, Retriever
from app.schemas import AskResponse, Context, SearchResult, Source, Timings, Usage
from app.services import Services
from models.generator import Message

NO_CONTEXT_ANSWER = "I could not find anything about this in the documents."
# Said instead of generating when the nearest chunk is below RAGD_ABSTAIN_BELOW.
ABSTAIN_ANSWER = (
    "I cannot answer this from the documents: none of them is close enough to the question."
)


@dataclass
class Prepared:
    """Everything decided before the model runs."""

    question: str
    budget: Budgeted
    retrieval_ms: float
    started: float = field(default_factory=time.perf_counter)
    evidence: float | None = None  # the nearest chunk's cosine similarity to the question
    abstain: bool = False  # evidence too weak: say so instead of generating


class Answerer:
    def __init__(self, services: Services, queue: GenerationQueue) -> None:
        self.services = services
        self.queue = queue
        self.retriever = Retriever(services.settings, services.embedder, services.library)

    def search(
        self, query: str, collection: str | None, k: int, mode: Mode | None = None
    ) -> list[Passage]:
        """The `k` best chunks of the collection's current generation (blocking)."""
        return self.retriever.retrieve(query, collection, k, mode).passages

    async def prepare(
        self, question: str, collection: str | None, history: Sequence[Message] = ()
    ) -> Prepared:
        started = time.perf_counter()
        generator, settings = self.services.generator, self.services.settings
        retrieval = await anyio.to_thread.run_sync(
            lambda: self.retriever.retrieve(question, collection, settings.top_k, evidence=True)
        )
        passages = retrieval.passages
        retrieval_ms = (time.perf_counter() - started) * 1000
        budget = await anyio.to_thread.run_sync(
            lambda: fit_context(
                generator.count_tokens,
                question,
                passages,
                history,
                generator.context_window,
                settings.max_answer_tokens,
            )
        )
        evidence = retrieval.evidence
        abstain = evidence is not None and evidence < settings.abstain_below
        return Prepared(question, budget, retrieval_ms, started, evidence, abstain)

    async def stream(self, prepared: Prepared) -> AsyncIterator[str]:
        if not prepared.budget.used:
            yield NO_CONTEXT_ANSWER
            return
        if prepared.abstain:
            yield ABSTAIN_ANSWER  # the model is never asked: it would invent an answer
            return
        limit = self.services.settings.max_answer_tokens
        async for piece in self.queue.stream(prepared.budget.messages, limit, STOP):
            yield piece

    async def answer(
        self, question: str, collection: str | None, history: Sequence[Message] = ()
    ) -> AskResponse:
        return await self.complete(await self.prepare(question, collection, history))

    async def complete(self, prepared: Prepared) -> AskResponse:
        clock = Clock(prepared.started)
        text = ""
        async for piece in self.stream(prepared):
            clock.tick()
            text += piece
        return self.finish(prepared, text, clock)

    def finish(self, prepared: Prepared, text: str, clock: Clock) -> AskResponse:
        used = prepared.budget.used
        answerable = bool(used) and not prepared.abstain
        citable = len(used) if answerable else 0  # a fixed refusal cites nothing
        completion = self._count_answer(text) if answerable else 0
        checked = filter_citations(text, citable)
        text, attributed = attribute(checked.answer, [p.chunk.text for p in used[:citable]])
        cited = filter_citations(text, citable)
        return AskResponse(
            answer=cited.answer,
            sources=[
                source_of(n, p, cited.answer, n in cited.cited) for n, p in enumerate(used, 1)
            ],
            answerable=answerable,
            evidence=None if prepared.evidence is None else round(prepared.evidence, 4),
            invalid_citations_removed=checked.removed,
            attributed_citations=attributed,
            context=Context(
                used=[p.chunk.id for p in used],
                dropped=[p.chunk.id for p in prepared.budget.dropped],
            ),
            usage=Usage(prompt_tokens=prepared.budget.prompt_tokens, completion_tokens=completion),
            timings=clock.timings(prepared.retrieval_ms, completion),
        )

    def _count_answer(self, text: str) -> int:
        if not text:
            return 0
        message: Message = {"role": "assistant", "content": text}
        empty: Message = {"role": "assistant", "content": ""}
        counted = self.services.generator.count_tokens
        return max(0, counted([message]) - counted([empty]))


class Clock:
    """Time to first token and decode rate of one answer."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.first: float | None = None
        self.last = started

    def tick(self) -> None:
        self.last = time.perf_counter()
        if self.first is None:
            self.first = self.last

    def timings(self, retrieval_ms: float, tokens: int) -> Timings:
        decode = (self.last - self.first) if self.first else 0.0
        return Timings(
            retrieval_ms=round(retrieval_ms, 1),
            time_to_first_token_ms=round((self.first - self.started) * 1000, 1)
            if self.first
            else None,
            generation_ms=round((self.last - self.started) * 1000, 1),
            tokens_per_second=round((tokens - 1) / decode, 1)
            if decode > 0 and tokens > 1
            else None,
        )


def source_of(n: int, passage: Passage, answer: str, cited: bool) -> Source:
    chunk = passage.chunk
    return Source(
        n=n,
        chunk_id=chunk.id,
        doc_id=chunk.doc_id,
        source=chunk.source,
        page=chunk.page,
        heading=chunk.heading,
        quote=best_quote(chunk.text, citing_sentences(answer, n)) if answer else "",
        text=chunk.text,
        score=round(passage.score, 4),
        cited=cited,
    )


def search_result(passage: Passage) -> SearchResult:
    chunk = passage.chunk
    return SearchResult(
        chunk_id=chunk.id,
        doc_id=chunk.doc_id,
        text=chunk.text,
        source=chunk.source,
        page=chunk.page,
        heading=chunk.heading,
        score=round(passage.score, 4),
    )
