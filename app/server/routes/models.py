"""The generation model: GET /api/models (catalogue, local files), POST /api/models/current."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from app.answering.models import catalogue, demo_notice, local_models, switch_model
from app.server.audit import audited
from app.server.deps import AnswererDep, ServicesDep

router = APIRouter(prefix="/api", tags=["models"])


class ModelChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = Field(
        min_length=1,
        max_length=500,
        description="A catalogue name, owner/repo:file.gguf, or a .gguf path, already downloaded.",
    )


@router.get("/models")
def models(services: ServicesDep) -> dict[str, Any]:
    return {
        "current": services.generator.name,
        "notice": demo_notice(services.settings),
        "catalogue": catalogue(services.settings),
        "local": local_models(services.settings),
    }


@router.post("/models/current")
async def use_model(body: ModelChoice, answerer: AnswererDep, request: Request) -> dict[str, Any]:
    """Switch the generation model without a restart (admin keys only): requests arriving
    while it loads wait in the queue, then run on it; the choice is kept across restarts."""
    async with audited(request, "model.switch", model=body.model):
        return await switch_model(answerer, body.model)
