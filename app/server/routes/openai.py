"""OpenAI-compatible chat completions answered with retrieval; the model name picks the collection.

`model: "ragd"` answers from the default collection, `"ragd/<name>"` from collection <name>;
any other name is a 404 that lists what to use. The last message is the question, earlier
user/assistant turns are the history (follow-ups are made standalone for retrieval); system
messages are ignored (ragd keeps its own grounding prompt), and so are sampling options.
Responses carry the numbered `sources` and a `ragd` object (context, timings, checked answer).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse

from app.answering.answer import Answerer, Failed, Prepared
from app.answering.errors import UnknownModel
from app.answering.schemas import AskResponse
from app.server.deps import AnswererDep, ServicesDep
from app.server.errors import error_body
from app.server.metrics import Metrics
from app.server.routes.ask import admit, release_task, until_disconnected
from app.server.schemas import ChatRequest, parsed_filter

router = APIRouter(prefix="/v1", tags=["openai"])
MODEL = "ragd"
REPLACED_NOTE = "\n\n(ragd: the text above failed the support check; the documents say:) "


@router.get("/models")
def models(services: ServicesDep) -> dict[str, Any]:
    """`ragd` for the default collection and `ragd/<name>` for each collection."""
    visible = services.store.names()  # only the caller's collections (app/answering/access.py)
    default = [MODEL] if services.settings.collection in visible else []
    names = [*default, *(f"{MODEL}/{n}" for n in visible)]
    cards = [{"id": n, "object": "model", "created": 0, "owned_by": "ragd"} for n in names]
    return {"object": "list", "data": cards}


@router.post("/chat/completions")
async def chat_completions(body: ChatRequest, answerer: AnswererDep, request: Request) -> Any:
    """A retrieval-grounded chat completion, streamed as `chat.completion.chunk`s or not."""
    collection = collection_for(body.model)
    limit = body.max_completion_tokens or body.max_tokens
    where = parsed_filter(body.filter)
    prepared = await admit(answerer, body.question(), collection, body.history(), limit, where)
    metrics: Metrics = request.app.state.metrics
    reply = Reply(body)
    if body.stream:
        chunks = chunk_events(answerer, prepared, metrics, reply)
        return EventSourceResponse(chunks, background=release_task(prepared))
    with prepared.slot:
        answer = await until_disconnected(request, answerer.complete(prepared))
    if not isinstance(answer, AskResponse):
        return answer
    metrics.observe_answer(answer)
    return reply.completion(answer, prepared)


def collection_for(model: str) -> str | None:
    if model == MODEL:
        return None
    if model.startswith(f"{MODEL}/") and len(model) > len(MODEL) + 1:
        return model[len(MODEL) + 1 :]
    raise UnknownModel(
        f"unknown model {model!r}: use `ragd` for the default collection or "
        "`ragd/<collection>` for another; GET /v1/models lists them"
    )


class Reply:
    """The OpenAI response envelope shared by a completion and its chunks."""

    def __init__(self, body: ChatRequest) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = body.model
        self.include_usage = bool((body.stream_options or {}).get("include_usage"))

    def envelope(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    def completion(self, answer: AskResponse, prepared: Prepared) -> dict[str, Any]:
        message = {"role": "assistant", "content": answer.answer}
        choice = {"index": 0, "message": message, "finish_reason": finish(answer, prepared)}
        return {
            **self.envelope("chat.completion"),
            "choices": [choice],
            "usage": usage(answer),
            **extras(answer),
        }

    def chunk(self, delta: dict[str, str], reason: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": reason}
        return json.dumps({**self.envelope("chat.completion.chunk"), "choices": [choice], **extra})


async def chunk_events(
    answerer: Answerer, prepared: Prepared, metrics: Metrics, reply: Reply
) -> AsyncIterator[dict[str, str]]:
    async with aclosing(answerer.events(prepared)) as events:
        async for event in events:
            if isinstance(event, list):
                sources = [source.model_dump() for source in event]
                yield {"data": reply.chunk({"role": "assistant", "content": ""}, sources=sources)}
            elif isinstance(event, str):
                yield {"data": reply.chunk({"content": event})}
            elif isinstance(event, Failed):
                body = {"message": str(event.error), **error_body(event.error)}
                yield {"data": json.dumps({"error": body})}
                return
            else:
                metrics.observe_answer(event)
                for data in final_chunks(event, prepared, reply):
                    yield {"data": data}


def final_chunks(answer: AskResponse, prepared: Prepared, reply: Reply) -> list[str]:
    """The finish chunk with the checked answer's extras, usage if asked, then [DONE]; when
    auto mode replaced the streamed text, a last content chunk says so and gives the answer
    ragd stands behind (also in `ragd.answer`, with `ragd.replaced`)."""
    chunks = [reply.chunk({}, finish(answer, prepared), **extras(answer))]
    if answer.replaced:
        chunks.insert(0, reply.chunk({"content": REPLACED_NOTE + answer.answer}))
    if reply.include_usage:
        envelope = reply.envelope("chat.completion.chunk")
        chunks.append(json.dumps({**envelope, "choices": [], "usage": usage(answer)}))
    return [*chunks, "[DONE]"]


def finish(answer: AskResponse, prepared: Prepared) -> str:
    return "length" if answer.usage.completion_tokens >= prepared.max_tokens else "stop"


def usage(answer: AskResponse) -> dict[str, Any]:
    prompt, completion = answer.usage.prompt_tokens, answer.usage.completion_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": answer.usage.cached_prompt_tokens},
    }


def extras(answer: AskResponse) -> dict[str, Any]:
    """The fields OpenAI has no place for: numbered sources and ragd's own report."""
    report = answer.model_dump(exclude={"sources"})
    return {"sources": [s.model_dump() for s in answer.sources], "ragd": report}
