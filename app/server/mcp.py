"""POST /mcp: the MCP server over streamable HTTP, behind the same Guard (keys, roles) as /api."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from app.mcp.server import build_server

MCP_PATH = "/mcp"


class Endpoint:
    """The ASGI app at /mcp; its session manager lives for one run of the app's lifespan."""

    def __init__(self, app: FastAPI) -> None:
        self.server = build_server(lambda: app.state.answerer)
        self.manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """A fresh session manager per lifespan (the SDK runs each manager once)."""
        self.server.streamable_http_app(
            stateless_http=True,  # each request stands alone: no session state to lose
            json_response=True,
            # The Guard already refuses untrusted hosts and cross-origin posts.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        manager = self.server.session_manager
        async with manager.run():
            self.manager = manager
            try:
                yield
            finally:
                self.manager = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.manager is None:
            unavailable = {"detail": "the MCP server is not running", "error": "unavailable"}
            await JSONResponse(unavailable, 503)(scope, receive, send)
            return
        await self.manager.handle_request(scope, receive, send)


def mount(app: FastAPI) -> Endpoint:
    """Route /mcp to the MCP server; the lifespan runs `endpoint.running()` around serving."""
    endpoint = Endpoint(app)
    app.router.routes.append(Route(MCP_PATH, endpoint))
    return endpoint
