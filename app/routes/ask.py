"""POST /api/ask: a cited answer as JSON, or as a Server-Sent Events stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import aclosing
from typing import Any, TypeVar

import anyio
from fastapi import APIRouter, Request, Response
from sse_starlette import EventSourceResponse
from starlette.background import BackgroundTask

from app.answer import Answerer, Clock, Prepared, source_of
from app.deps import AnswererDep
from app.errors import ROOTS, error_body
from app.metrics import Metrics
from app.schemas import AskRequest, AskResponse
from models.generator import Message

router = APIRouter(prefix="/api", tags=["ask"])
T = TypeVar("T")
CLIENT_GONE = 499  # nginx's code for a request the client abandoned; nobody reads it

STREAM_DOC = {
    200: {
        "description": "JSON, or with `stream: true` an SSE stream of events `sources` "
        "(before any token), `token` ({text}), then `done` (the full JSON answer, with usage "
        "and timings) or `error`. Closing the stream stops generation within one token.",
        "content": {"text/event-stream": {}},
    },
    429: {"description": "The model queue is full; retry after `Retry-After` seconds."},
}


@router.post("/ask", response_model=AskResponse, responses=STREAM_DOC)  # type: ignore[arg-type]
async def ask(body: AskRequest, answerer: AnswererDep, request: Request) -> Any:
    history: list[Message] = [{"role": t.role, "content": t.content} for t in body.history]
    prepared = await admit(answerer, body.question, body.collection, history)
    metrics: Metrics = request.app.state.metrics
    if body.stream or "text/event-stream" in request.headers.get("accept", ""):
        events = answer_events(answerer, prepared, metrics)
        return EventSourceResponse(events, background=release_task(prepared))
    with prepared.slot:
        response = await until_disconnected(request, answerer.complete(prepared))
    if isinstance(response, AskResponse):
        metrics.observe_answer(response)
    return response


async def admit(
    answerer: Answerer,
    question: str,
    collection: str | None,
    history: Sequence[Message],
    max_tokens: int | None = None,
) -> Prepared:
    """Take a place in the model queue (or 429 at once), then retrieve and budget."""
    slot = answerer.queue.reserve()  # first, before any await: admission is atomic
    try:
        return await answerer.prepare(question, collection, history, slot, max_tokens)
    except BaseException:
        slot.release()
        raise


def release_task(prepared: Prepared) -> BackgroundTask:
    """Frees the queue place even if the client left before the stream began."""
    return BackgroundTask(prepared.slot.release)


async def answer_events(
    answerer: Answerer, prepared: Prepared, metrics: Metrics
) -> AsyncIterator[dict[str, str]]:
    with prepared.slot:
        used = prepared.budget.used
        sources = [source_of(n, p, "", False).model_dump() for n, p in enumerate(used, 1)]
        yield {"event": "sources", "data": json.dumps({"sources": sources})}
        clock, text = Clock(prepared.started), ""
        try:
            async with aclosing(answerer.stream(prepared)) as pieces:
                async for piece in pieces:
                    clock.tick()
                    text += piece
                    yield {"event": "token", "data": json.dumps({"text": piece})}
        except ROOTS as exc:
            yield {"event": "error", "data": json.dumps(error_body(exc))}
            return
        done = answerer.finish(prepared, text, clock)
        metrics.observe_answer(done)
        yield {"event": "done", "data": done.model_dump_json()}


async def until_disconnected(request: Request, work: Awaitable[T]) -> T | Response:
    """Run `work`, cancelling it (and so the generation) if the client goes away first."""
    result: list[T] = []
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            while (await request.receive())["type"] != "http.disconnect":
                pass
            group.cancel_scope.cancel()

        group.start_soon(watch)
        result.append(await work)
        group.cancel_scope.cancel()
    return result[0] if result else Response(status_code=CLIENT_GONE)
