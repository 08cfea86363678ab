"""How uvicorn serves ragd: time limits and a connection bound for slow or idle clients."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from config.settings import Settings

MAX_HEAD_BYTES = 16 * 1024  # request line and headers; more is answered 400 by h11
KEEP_ALIVE_SECONDS = 5  # an idle kept-alive connection is closed after this


class HeadTimedH11(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's head: uvicorn has none, so a
    client that sends half its headers (slowloris) would hold its connection forever."""

    head_timeout: float = 10.0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_head_timer()  # the next request's head has the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _head_timed_out(self) -> None:
        waiting = self.cycle is None or self.cycle.response_complete
        if waiting and not self.transport.is_closing():
            self.transport.close()  # no complete request head in time: drop the connection


def protocol(head_timeout: float) -> type[HeadTimedH11]:
    return type("HeadTimedH11", (HeadTimedH11,), {"head_timeout": head_timeout})


def server_config(
    app: Any, host: str, port: int, settings: Settings, **extra: Any
) -> uvicorn.Config:
    """uvicorn's settings for ragd: h11 with a head deadline, short keep-alive, a bounded
    head size and at most RAGD_MAX_CONNECTIONS connections (more get 503)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol(settings.header_timeout_seconds),
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        limit_concurrency=settings.max_connections,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        **extra,
    )
