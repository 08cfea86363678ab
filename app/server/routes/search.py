"""POST /api/search: the best chunks for a query, without generation."""

from __future__ import annotations

import anyio
from fastapi import APIRouter

from app.answering.answer import search_result
from app.server.deps import AnswererDep
from app.server.schemas import SearchRequest, SearchResponse, parsed_filter

router = APIRouter(prefix="/api", tags=["search"])


@router.post("/search")
async def search(body: SearchRequest, answerer: AnswererDep) -> SearchResponse:
    where = parsed_filter(body.filter)
    passages = await anyio.to_thread.run_sync(
        answerer.search, body.query, body.collection, body.k, body.mode, where
    )
    return SearchResponse(results=[search_result(p) for p in passages])
