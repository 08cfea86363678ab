"""POST /api/ask: a cited answer as JSON, or as a Server-Sent Events stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from typing import Any, TypeVar

import anyio
from fastapi import APIRouter, Request, Response
from sse_starlette import EventSourceResponse
from starlette.background import BackgroundTask

from app.answering.answer import Answerer, Failed, Prepared
from app.answering.conversations import Conversations
from app.answering.limits import MAX_HISTORY_TURNS
from app.answering.schemas import AskResponse
from app.server.deps import AnswererDep, PrincipalDep
from app.server.errors import error_body
from app.server.metrics import Metrics
from app.server.schemas import AskRequest, parsed_filter
from index.filters import Filter
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
async def ask(
    body: AskRequest, answerer: AnswererDep, request: Request, principal: PrincipalDep
) -> Any:
    """With `conversation_id`, the conversation's turns are the history and the answer is
    appended to it (for the calling key only)."""
    keep = await conversation_keeper(request, body, principal.id)
    history = body.messages() or (await keep.history() if keep else [])
    where = parsed_filter(body.filter)
    prepared = await admit(answerer, body.question, body.collection, history, None, where)
    metrics: Metrics = request.app.state.metrics
    done = keep.append if keep else None
    if body.stream or "text/event-stream" in request.headers.get("accept", ""):
        events = answer_events(answerer, prepared, metrics, done)
        return EventSourceResponse(events, background=release_task(prepared))
    with prepared.slot:
        response = await until_disconnected(request, answerer.complete(prepared))
    if isinstance(response, AskResponse):
        metrics.observe_answer(response)
        if done:
            await done(response)
    return response


class Keeper:
    """Reads and extends one stored conversation on behalf of one key."""

    def __init__(self, store: Conversations, owner: str, cid: str, body: AskRequest) -> None:
        self.store, self.owner, self.cid, self.body = store, owner, cid, body

    async def history(self) -> list[Message]:
        kept = await anyio.to_thread.run_sync(self.store.history, self.owner, self.cid)
        return kept[-2 * MAX_HISTORY_TURNS :]

    async def append(self, response: AskResponse) -> None:
        sources = [s.model_dump() for s in response.sources]  # with text: the page shows it
        turn = {
            "question": self.body.question,
            "answer": response.answer,
            "collection": self.body.collection,
            "sources": sources,
        }
        await anyio.to_thread.run_sync(self.store.append, self.owner, self.cid, turn)


async def conversation_keeper(request: Request, body: AskRequest, owner: str) -> Keeper | None:
    if not body.conversation_id:
        return None
    store: Conversations = request.app.state.conversations
    await anyio.to_thread.run_sync(store.get, owner, body.conversation_id)  # 404 if not ours
    return Keeper(store, owner, body.conversation_id, body)


async def admit(
    answerer: Answerer,
    question: str,
    collection: str | None,
    history: Sequence[Message],
    max_tokens: int | None = None,
    where: Filter | None = None,
) -> Prepared:
    """Take a place in the model queue (or 429 at once), then retrieve and budget."""
    slot = answerer.queue.reserve()  # first, before any await: admission is atomic
    try:
        return await answerer.prepare(question, collection, history, slot, max_tokens, where)
    except BaseException:
        slot.release()
        raise


def release_task(prepared: Prepared) -> BackgroundTask:
    """Frees the queue place even if the client left before the stream began."""
    return BackgroundTask(prepared.slot.release)


async def answer_events(
    answerer: Answerer,
    prepared: Prepared,
    metrics: Metrics,
    done: Callable[[AskResponse], Awaitable[None]] | None = None,
) -> AsyncIterator[dict[str, str]]:
    async with aclosing(answerer.events(prepared)) as events:
        async for event in events:
            if isinstance(event, list):
                sources = [source.model_dump() for source in event]
                yield {"event": "sources", "data": json.dumps({"sources": sources})}
            elif isinstance(event, str):
                yield {"event": "token", "data": json.dumps({"text": event})}
            elif isinstance(event, Failed):
                yield {"event": "error", "data": json.dumps(error_body(event.error))}
            else:
                metrics.observe_answer(event)
                if done:
                    await done(event)
                yield {"event": "done", "data": event.model_dump_json()}


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
