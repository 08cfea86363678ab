"""Conversations kept per key: list, read, rename, delete, export as Markdown or JSON."""

from __future__ import annotations

from typing import Any, Literal

import anyio
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from app.answering.conversations import Conversations, as_markdown
from app.server.deps import PrincipalDep

router = APIRouter(prefix="/api/conversations", tags=["conversations"])


class NewConversation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field("", max_length=200, description="A title (default: the first question).")


class Rename(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200, description="The new title.")


def store(request: Request) -> Conversations:
    conversations: Conversations = request.app.state.conversations
    return conversations


@router.get("")
async def list_conversations(request: Request, principal: PrincipalDep) -> dict[str, Any]:
    found = await anyio.to_thread.run_sync(store(request).listing, principal.id)
    return {"conversations": found}


@router.post("", status_code=201)
async def create(body: NewConversation, request: Request, principal: PrincipalDep) -> Any:
    return await anyio.to_thread.run_sync(store(request).create, principal.id, body.title)


@router.get("/{conversation_id}")
async def read(conversation_id: str, request: Request, principal: PrincipalDep) -> Any:
    return await anyio.to_thread.run_sync(store(request).get, principal.id, conversation_id)


@router.patch("/{conversation_id}")
async def rename(
    conversation_id: str, body: Rename, request: Request, principal: PrincipalDep
) -> Any:
    conversations = store(request)
    return await anyio.to_thread.run_sync(
        conversations.rename, principal.id, conversation_id, body.title
    )


@router.delete("/{conversation_id}")
async def delete(conversation_id: str, request: Request, principal: PrincipalDep) -> Any:
    await anyio.to_thread.run_sync(store(request).delete, principal.id, conversation_id)
    return {"deleted": conversation_id}


@router.get("/{conversation_id}/export")
async def export(
    conversation_id: str,
    request: Request,
    principal: PrincipalDep,
    format: Literal["md", "json"] = Query("md", description="md (Markdown) or json."),
) -> Response:
    """The conversation with its citations, as a download."""
    found = await anyio.to_thread.run_sync(store(request).get, principal.id, conversation_id)
    if format == "json":
        disposition = f'attachment; filename="conversation-{conversation_id}.json"'
        return JSONResponse(found, headers={"Content-Disposition": disposition})
    disposition = f'attachment; filename="conversation-{conversation_id}.md"'
    return Response(
        as_markdown(found),
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": disposition},
    )
