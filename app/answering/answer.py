"""Answer orchestration: retrieve -> budget -> prompt -> generate -> cite."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace

import anyio

from app.answering import hyde
from app.answering.answerability import Baselines
from app.answering.calibration import collection_threshold
from app.answering.checking import Verdict, judge
from app.answering.citations import best_quote, citing_sentences
from app.answering.conversation import standalone_query
from app.answering.errors import ROOTS
from app.answering.evidence import Features, SentenceEvidence, agreement
from app.answering.extractive import extract, given_rows
from app.answering.prompt import STOP, Budgeted, Passage, fit_context
from app.answering.queue import GenerationQueue, Slot
from app.answering.rarity import weighted_coverage
from app.answering.retrieval import Mode, Retrieval, Retriever
from app.answering.schemas import (
    AskResponse,
    Context,
    SearchResult,
    SentenceSupport,
    Source,
    Timings,
    Usage,
)
from app.answering.services import Services
from config.settings import Settings
from index.filters import Filter
from models.generator import Message

NO_CONTEXT_ANSWER = "I could not find anything about this in the documents."
# Said instead of generating when the answerability score is below the threshold in force.
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
    sentences: SentenceEvidence | None = None  # the used passages, sentence by sentence
    features: Features | None = None
    threshold: float | None = None  # the abstention threshold in force
    extractive: bool = False  # RAGD_ANSWER_MODE=extractive: quote, do not generate


class Answerer:
    def __init__(self, services: Services, queue: GenerationQueue) -> None:
        self.services = services
        self.queue = queue
        self.retriever = Retriever(services.settings, services.embedder, services.store)
        self.baselines = Baselines(services.settings.data_dir)

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
        hypothesis = await _hypothesis(slot, query, settings)
        retrieval = await anyio.to_thread.run_sync(
            lambda: self.retriever.retrieve(
                query,
                collection,
                settings.top_k,
                evidence=True,
                where=where,
                neighbours=settings.neighbours,
                hypothesis=hypothesis,
            )
        )
        sentences, features = await anyio.to_thread.run_sync(
            self._judged, query, retrieval, collection
        )
        retrieval_ms = (time.perf_counter() - searched) * 1000
        limit = min(max_tokens or settings.max_answer_tokens, settings.max_answer_tokens)
        passages = self._compressed(sentences)
        budget = await anyio.to_thread.run_sync(self._budget, question, passages, history, limit)
        threshold = self.threshold(collection)
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
            evidence=retrieval.evidence,
            abstain=bool(passages) and features.score() < threshold,
            sentences=sentences.only([p.chunk.id for p in budget.used]),
            features=features,
            threshold=threshold,
            extractive=settings.answer_mode == "extractive",
        )

    def threshold(self, collection: str | None) -> float:
        """The collection's calibrated abstention threshold, else RAGD_ABSTAIN_BELOW."""
        settings = self.services.settings
        found = collection_threshold(settings.data_dir, collection or settings.collection)
        return settings.abstain_below if found is None else found

    def _judged(
        self, query: str, retrieval: Retrieval, collection: str | None
    ) -> tuple[SentenceEvidence, Features]:
        """The evidence, its features measured against the collection's off-topic baseline."""
        sentences, features = self._sentences(query, retrieval)
        if not retrieval.passages:
            return sentences, features
        baseline = self.baseline(collection or self.services.settings.collection)
        return sentences, replace(features, baseline=baseline)

    def baseline(self, name: str) -> float:
        """The mean raw answerability of off-topic probe questions on this collection, once
        per committed generation (blocking: a dozen retrievals the first time)."""
        return self.baselines.get(name, self._generation(name), lambda q: self._raw(q, name))

    def _generation(self, name: str) -> int:
        collection = self.services.store.collection(name)
        generation = getattr(collection.snapshot(), "generation", None)  # FAISS: free
        if isinstance(generation, int):
            return generation
        state = collection.state()  # Milvus: its meta row
        return state.generation if state else 0

    def _raw(self, question: str, name: str) -> float:
        top_k = self.services.settings.top_k
        neighbours = self.services.settings.neighbours  # as questions are searched (no HyDE)
        retrieval = self.retriever.retrieve(
            question, name, top_k, evidence=True, neighbours=neighbours
        )
        return self._sentences(question, retrieval)[1].raw() if retrieval.passages else 0.0

    def _sentences(self, query: str, retrieval: Retrieval) -> tuple[SentenceEvidence, Features]:
        """Split and embed the retrieved passages' sentences once: for the prompt, the
        abstention decision, the support check and the extractive answer."""
        sentences = SentenceEvidence(self.services.embedder, query, retrieval.passages)
        features = Features(
            dense=retrieval.evidence or 0.0,
            sentence=sentences.best_sentence_cosine(),
            coverage=weighted_coverage(
                query, [p.chunk.text for p in retrieval.passages], retrieval.frequency
            ),
            agreement=agreement(retrieval.dense_docs, retrieval.keyword_docs),
            unknown=len(retrieval.unknown),
            passing=len(retrieval.passing),
        )
        return sentences, features

    def _compressed(self, sentences: SentenceEvidence) -> list[Passage]:
        keep = self.services.settings.context_sentences
        if not keep:
            return sentences.passages
        return [
            replace(p, context=sentences.compressed(i, keep, also=given_rows(sentences, i, keep)))
            for i, p in enumerate(sentences.passages)
        ]

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
        if prepared.extractive and prepared.sentences is not None:
            yield extractive_text(prepared.sentences)
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
        generated = answerable and not prepared.extractive
        completion = self._count_answer(text) if generated else 0
        verdict = self._judge(prepared, text) if answerable else None
        final = verdict.answer if verdict else text
        features = prepared.features
        return AskResponse(
            answer=final,
            sources=[source_of(n, p, final, cited_in(final, n)) for n, p in enumerate(used, 1)],
            answerable=answerable and not (verdict and verdict.mode == "abstained"),
            evidence=None if prepared.evidence is None else round(prepared.evidence, 4),
            invalid_citations_removed=verdict.invalid if verdict else 0,
            attributed_citations=verdict.attributed if verdict else 0,
            context=Context(
                used=[p.chunk.id for p in used],
                dropped=[p.chunk.id for p in prepared.budget.dropped],
            ),
            usage=Usage(
                prompt_tokens=prepared.budget.prompt_tokens if generated else 0,
                completion_tokens=completion,
                cached_prompt_tokens=prepared.slot.last.cached_tokens if prepared.slot.last else 0,
            ),
            timings=clock.timings(prepared, completion),
            retrieval_query=prepared.query or prepared.question,
            query_rewrite=prepared.rewrite,
            **_checked_fields(prepared, verdict, features),
        )

    def _judge(self, prepared: Prepared, text: str) -> Verdict | None:
        if prepared.sentences is None:
            return None
        return judge(text, prepared.sentences, self.services.settings, prepared.extractive)

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


def _checked_fields(
    prepared: Prepared, verdict: Verdict | None, features: Features | None
) -> dict[str, object]:
    mode = "no_context" if not prepared.budget.used else "abstained"
    return {
        "sentences": [
            SentenceSupport(
                text=c.text, supported=c.supported, score=c.score, citations=c.citations
            )
            for c in (verdict.sentences if verdict else [])
        ],
        "grounded": verdict.grounded if verdict else None,
        "answer_mode": verdict.mode if verdict else mode,
        "replaced": bool(verdict and verdict.replaced),
        "generated_answer": verdict.generated if verdict and verdict.replaced else None,
        "answerability": features.score() if features else None,
        "abstain_threshold": prepared.threshold,
    }


def extractive_text(sentences: SentenceEvidence) -> str:
    return " ".join(c.text for c in extract(sentences)) or NO_CONTEXT_ANSWER


def cited_in(answer: str, n: int) -> bool:
    return f"[{n}]" in answer


async def _hypothesis(slot: Slot, query: str, settings: Settings) -> str:
    """RAGD_HYDE: the model's hypothetical answer to search with, else nothing."""
    if settings.hyde == "off":
        return ""
    return await hyde.write_queued(slot, query, settings.hyde_tokens)


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
