"""GET /health: liveness, models, devices and collection sizes. Never requires auth."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from app.answering.models import demo_notice
from app.server.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(services: ServicesDep, request: Request) -> dict[str, Any]:
    embedder, generator = services.embedder, services.generator
    queue = request.app.state.answerer.queue
    return {
        "status": "ok",
        "models": {
            "embedding": {
                "name": embedder.name,
                "device": embedder.device,
                "dimension": embedder.dimension,
            },
            "generation": {
                "name": generator.name,
                "device": generator.device,
                "gpu_layers": generator.gpu_layers,
                "context_window": generator.context_window,
                "backend": getattr(generator, "backend", "custom"),
                "token_count": getattr(generator, "token_count", "exact"),
            },
        },
        "device": generator.device,
        "queue": queue.state(),
        "collections": collection_sizes(services),
        "notice": demo_notice(services.settings),
        "watch": [w.watch.status() for w in getattr(request.app.state, "watches", [])],
    }


def collection_sizes(services: ServicesDep) -> dict[str, dict[str, int]]:
    sizes = {}
    for name in services.store.names():
        manifest = services.store.collection(name).state()
        if manifest is not None:
            sizes[name] = {"documents": manifest.documents, "chunks": manifest.rows}
    return sizes
