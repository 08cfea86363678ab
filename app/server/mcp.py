"""POST /mcp: the MCP server over streamable HTTP, behind the same Guard (keys, roles) as /api."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import Route

from app.mcp.server import build_server

MCP_PATH = "/mcp"


def mount(app: FastAPI) -> AbstractAsyncContextManager[Any]:
    """Route /mcp to the MCP server; returns what the lifespan must run around serving."""
    server = build_server(lambda: app.state.answerer)
    server.streamable_http_app(
        stateless_http=True,  # each request stands alone: no session state to lose or share
        json_response=True,
        # The Guard already refuses untrusted hosts (RAGD_ALLOWED_HOSTS) and cross-origin posts.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    manager = server.session_manager
    app.router.routes.append(Route(MCP_PATH, StreamableHTTPASGIApp(manager)))
    return manager.run()
