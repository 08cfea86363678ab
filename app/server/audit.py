"""Writing the audit log from routes: who (key name, client address) did what, and how it went."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import Request

from app.answering.audit import AuditLog
from app.server.errors import error_body


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def record(request: Request, action: str, outcome: str, **fields: Any) -> None:
    log: AuditLog = request.app.state.audit
    principal = request.scope.get("state", {}).get("principal")
    key = principal.name if principal is not None else "unknown"
    await anyio.to_thread.run_sync(
        lambda: log.write(action, key=key, client=client_of(request), outcome=outcome, **fields)
    )


@asynccontextmanager
async def audited(request: Request, action: str, **fields: Any) -> AsyncIterator[dict[str, Any]]:
    """One line per admin action, whatever its outcome: `ok`, or the error's kind. The body
    may add details to the yielded dict."""
    details: dict[str, Any] = {}
    try:
        yield details
    except Exception as exc:
        await record(request, action, error_body(exc)["error"], **fields)
        raise
    await record(request, action, "ok", **fields, **details)
