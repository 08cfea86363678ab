"""The app factory: one FastAPI object, built alike by `ragd serve` and by the tests."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.answering.answer import Answerer
from app.answering.audit import AuditLog
from app.answering.conversations import Conversations
from app.answering.queue import GenerationQueue
from app.answering.services import Services
from app.server import deps, errors, mcp, middleware
from app.server.metrics import Metrics, MetricsMiddleware
from app.server.routes import (
    ask,
    conversations,
    documents,
    health,
    metrics,
    models,
    openai,
    page,
    search,
)
from config.settings import Settings
from ingest.watch import Background, FolderWatch

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("ragd")


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """Build the service; models load in the lifespan unless `services` is given. What the app
    loads it owns, and its lifespan's end closes (parser workers, clients, the model); services
    handed in stay the caller's to close, so tests and `ragd serve` may share them."""
    settings = settings or (services.settings if services else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = app.state.services is None
        if owned:
            app.state.services = await anyio.to_thread.run_sync(Services.load, settings)
        ready: Services = app.state.services
        ready.check_all_collections()
        interval = ready.settings.stream_interval_ms / 1000
        queue = GenerationQueue(ready.generator, ready.settings.queue_depth, interval)
        app.state.answerer = Answerer(ready, queue)
        app.state.metrics.queue = queue
        app.state.watches = start_watches(ready, app.state.audit)
        try:
            async with app.state.mcp.running():
                yield
        finally:
            for watch in app.state.watches:
                await anyio.to_thread.run_sync(watch.stop)
            if owned:
                await anyio.to_thread.run_sync(ready.close)  # after the watches: they ingest

    app = FastAPI(
        title="ragd",
        version="0.1.0",
        summary="Question answering over your own documents, with citations.",
        lifespan=lifespan,
        docs_url=None,  # served by routes/page.py from packaged assets, never a CDN
        redoc_url=None,
        dependencies=[deps.ADMITTED],  # a second line behind the Guard middleware
    )
    app.state.services = services
    app.state.metrics = Metrics()
    app.state.audit = AuditLog.in_dir(settings.data_dir, settings.audit_max_mb, settings.audit_keep)
    app.state.conversations = Conversations.in_dir(
        settings.data_dir, settings.conversation_retention_days
    )
    errors.install(app)
    middleware.install(app, settings)  # auth for every route, old or new: see app/middleware.py
    # Added last, so outermost: requests the guard refuses are counted too.
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    for module in (search, ask, documents, openai, models, conversations):
        app.include_router(module.router, responses=errors.ERROR_RESPONSES)
    for module in (health, page, metrics):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.state.mcp = mcp.mount(app)
    app.state.watches = []
    return app


def start_watches(services: Services, audit: AuditLog) -> list[Background]:
    """RAGD_WATCH (`ragd serve --watch`): keep a collection in step with folders."""
    paths, settings = services.settings.watch_paths, services.settings
    if not paths:
        return []
    ingestor = services.ingestor(settings.watch_collection)
    watched = [str(p) for p in paths]
    collection = settings.watch_collection or settings.collection
    audit.write("watch.start", key="local", client="server", collection=collection, paths=watched)
    return [Background(FolderWatch(ingestor, paths)).start()]


def run(services: Services, host: str, port: int) -> None:
    """Serve the app over HTTP until interrupted (what `ragd serve` runs): slow clients are
    timed out and connections bounded (app/server/serving.py)."""
    import uvicorn

    from app.server.serving import server_config

    app = create_app(services.settings, services)
    uvicorn.Server(server_config(app, host, port, services.settings, log_level="info")).run()
