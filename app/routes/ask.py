"""POST /api/ask: a cited answer as JSON, or as a Server-Sent Events stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse

from app.answer import Answerer, Clock, Prepared, source_of
from app.deps import AnswererDep
from app.errors import ROOTS, error_body
from app.schemas import AskRequest, AskResponse
from models.generator import Message

router = APIRouter(prefix="/api", tags=["ask"])

STREAM_DOC = {
    200: {
        "description": "JSON, or with `stream: true` an SSE stream of events `sources` "
        "(before any token), `token` ({text}), then `done` (the full JSON answer) or `error`.",
        "content": {"text/event-stream": {}},
    }
}


@router.post("/ask", response_model=AskResponse, responses=STREAM_DOC)  # type: ignore[arg-type]
async def ask(body: AskRequest, answerer: AnswererDep, request: Request) -> Any:
    history: list[Message] = [{"role": t.role, "content": t.content} for t in body.history]
    answerer.queue.check_capacity()
    prepared = await answerer.prepare(body.question, body.collection, history)
    if body.stream or "text/event-stream" in request.headers.get("accept", ""):
        return EventSourceResponse(answer_events(answerer, prepared))
    return await answerer.complete(prepared)


async def answer_events(answerer: Answerer, prepared: Prepared) -> AsyncIterator[dict[str, str]]:
    used = prepared.budget.used
    sources = [source_of(n, p, "", False).model_dump() for n, p in enumerate(used, 1)]
    yield {"event": "sources", "data": json.dumps({"sources": sources})}
    clock, text = Clock(prepared.started), ""
    try:
        async for piece in answerer.stream(prepared):
            clock.tick()
            text += piece
            yield {"event": "token", "data": json.dumps({"text": piece})}
    except ROOTS as exc:
        yield {"event": "error", "data": json.dumps(error_body(exc))}
        return
    yield {"event": "done", "data": answerer.finish(prepared, text, clock).model_dump_json()}
