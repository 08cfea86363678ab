"""GET /health: liveness, models, devices and collection sizes. Never requires auth."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from app.answering.access import current
from app.answering.models import demo_notice
from app.server.deps import ServicesDep
from index.errors import EmptyCollection, IndexCorrupt
from index.protocol import StoreCollection
from index.space import disk_space

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
        "watch": watch_status(request),
        "index": {name: serving_state(services.store.collection(name)) for name in names(services)},
        "storage": disk_space(services.settings.data_dir).as_dict(services.settings.min_free_mb),
    }


def watch_status(request: Request) -> list[dict[str, Any]]:
    """The folder watches filling collections the caller may see."""
    found = [w.watch.status() for w in getattr(request.app.state, "watches", [])]
    return [s for s in found if current().role_on(s["collection"]) is not None]


def names(services: ServicesDep) -> list[str]:
    """The collections the caller may see, with the default one if it may."""
    found = {*services.store.names(), services.settings.collection}
    return sorted(n for n in found if current().role_on(n) is not None)


def serving_state(collection: StoreCollection) -> dict[str, Any]:
    """What readers get: empty, ok, degraded (the previous generation) or broken. Cheap: the
    loaded generation's checksums were verified when it loaded (`ragd index check` re-reads all)."""
    try:
        committed = collection.state()
        reader = collection.snapshot()
    except EmptyCollection:
        return {"state": "empty", "generation": 0, "serving": None}
    except IndexCorrupt as exc:
        return {"state": "broken", "generation": None, "serving": None, "detail": str(exc)}
    generation = committed.generation if committed else 0
    serving = getattr(reader, "generation", generation)  # Milvus has no older one to serve
    state = "ok" if serving == generation else "degraded"
    return {"state": state, "generation": generation, "serving": serving}


def collection_sizes(services: ServicesDep) -> dict[str, dict[str, int]]:
    sizes = {}
    for name in services.store.names():
        manifest = services.store.collection(name).state()
        if manifest is not None:
            sizes[name] = {"documents": manifest.documents, "chunks": manifest.rows}
    return sizes
