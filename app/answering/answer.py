"""Answer orchestration: retrieve -> budget -> prompt -> generate -> cite."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field

import anyio

from app.answering.citations import attribute, best_quote, citing_sentences, filter_citations
from app.answering.conversation import standalone_query
from app.answering.errors import ROOTS
from app.answering.prompt import STOP, Budgeted, Passage, fit_context
from app.answering.queue import GenerationQueue, Slot
from app.answering.retrieval import Mode, Retriever
from app.answering.schemas import AskResponse, Context, SearchResult, Source, Timings, Usage
from app.answering.services import Services
from index.filters import Filter
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
    slot: Slot  # the request's place in the model queue
    retrieval_ms: float
    started: float = field(default_factory=time.perf_counter)
    query: str = ""  # what retrieval ran: the question, or a follow-up made standalone
    rewrite: str = "none"  # how the query was made: none | keywords | model
    rewrite_ms: float = 0.0
    max_tokens: int = 256
    evidence: float | None = None  # the nearest chunk's cosine similarity to the question
    abstain: bool = False  # evidence too weak: say so instead of generating


class Answerer:
    def __init__(self, services: Services, queue: GenerationQueue) -> None:
        self.services = services
        self.queue = queue
        self.retriever = Retriever(services.settings, services.embedder, services.store)

    def search(
        self,
        query: str,
        collection: str | None,
        k: int,
        mode: Mode | None = None,
        where: Filter | None = None,
    ) -> list[Passage]:
        """The `k` best chunks of the collection's current generation (blocking)."""
        return self.retriever.retrieve(query, collection, k, mode, where=where).passages

    async def prepare(
        self,
        question: str,
        collection: str | None,
        history: Sequence[Message],
        slot: Slot,
        max_tokens: int | None = None,
        where: Filter | None = None,
    ) -> Prepared:
        """Rewrite a follow-up, retrieve, and fit the prompt; `slot` admits the request."""
        settings, started = self.services.settings, time.perf_counter()
        query, how = await standalone_query(slot, question, history, settings.query_rewrite)
        searched = time.perf_counter()
        retrieval = await anyio.to_thread.run_sync(
            lambda: self.retriever.retrieve(
                query, collection, settings.top_k, evidence=True, where=where
            )
        )
        retrieval_ms = (time.perf_counter() - searched) * 1000
        limit = min(max_tokens or settings.max_answer_tokens, settings.max_answer_tokens)
        budget = await anyio.to_thread.run_sync(
            self._budget, question, retrieval.passages, history, limit
        )
        evidence = retrieval.evidence
        return Prepared(
            question,
            budget,
            slot,
            retrieval_ms,
            started,
            query=query,
            rewrite=how,
            rewrite_ms=(searched - started) * 1000,
            max_tokens=limit,
            evidence=evidence,
            abstain=evidence is not None and evidence < settings.abstain_below,
        )

    def _budget(
        self, question: str, passages: list[Passage], history: Sequence[Message], limit: int
    ) -> Budgeted:
        generator = self.services.generator
        window = generator.context_window
        return fit_context(generator.count_tokens, question, passages, history, window, limit)

    async def stream(self, prepared: Prepared) -> AsyncGenerator[str, None]:
        if not prepared.budget.used:
            yield NO_CONTEXT_ANSWER
            return
        if prepared.abstain:
            yield ABSTAIN_ANSWER  # the model is never asked: it would invent an answer
            return
        messages = prepared.budget.messages
        async with aclosing(prepared.slot.stream(messages, prepared.max_tokens, STOP)) as pieces:
            async for piece in pieces:
                yield piece

    async def answer(
        self,
        question: str,
        collection: str | None,
        history: Sequence[Message] = (),
        where: Filter | None = None,
    ) -> AskResponse:
        with self.queue.reserve() as slot:
            prepared = await self.prepare(question, collection, history, slot, where=where)
            return await self.complete(prepared)

    async def complete(self, prepared: Prepared) -> AskResponse:
        clock = Clock(prepared.started)
        text = ""
        async with aclosing(self.stream(prepared)) as pieces:
            async for piece in pieces:
                clock.tick()
                text += piece
        return self.finish(prepared, text, clock)

    async def events(self, prepared: Prepared) -> AsyncGenerator[StreamEvent, None]:
        """The sources (before any token), each piece, then the answer or a Failed, holding
        the request's place in the queue throughout; closing it stops the generation."""
        with prepared.slot:
            yield [source_of(n, p, "", False) for n, p in enumerate(prepared.budget.used, 1)]
            clock, text = Clock(prepared.started), ""
            try:
                async with aclosing(self.stream(prepared)) as pieces:
                    async for piece in pieces:
                        clock.tick()
                        text += piece
                        yield piece
            except ROOTS as exc:
                yield Failed(exc)
                return
            yield self.finish(prepared, text, clock)

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
            usage=Usage(
                prompt_tokens=prepared.budget.prompt_tokens,
                completion_tokens=completion,
                cached_prompt_tokens=prepared.slot.last.cached_tokens if prepared.slot.last else 0,
            ),
            timings=clock.timings(prepared, completion),
            retrieval_query=prepared.query or prepared.question,
            query_rewrite=prepared.rewrite,
        )

    def _count_answer(self, text: str) -> int:
        if not text:
            return 0
        message: Message = {"role": "assistant", "content": text}
        empty: Message = {"role": "assistant", "content": ""}
        counted = self.services.generator.count_tokens
        return max(0, counted([message]) - counted([empty]))


@dataclass(frozen=True)
class Failed:
    """The last event of a stream whose generation failed; each route renders it its own way."""

    error: Exception


# What Answerer.events yields: the sources, then text pieces, then the answer or a Failed.
StreamEvent = list[Source] | str | Failed | AskResponse


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

    def timings(self, prepared: Prepared, tokens: int) -> Timings:
        decode = (self.last - self.first) if self.first else 0.0
        queued = prepared.slot.queue_seconds
        return Timings(
            retrieval_ms=round(prepared.retrieval_ms, 1),
            rewrite_ms=round(prepared.rewrite_ms, 1),
            queue_ms=round(queued * 1000, 1),
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
