"""ASGI middleware that guards every request before any route runs, and security headers."""

from __future__ import annotations

import time
from typing import NoReturn
from urllib.parse import urlsplit

import anyio
from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.answering.access import NOBODY, Principal, acting_as
from app.answering.errors import RequestError
from app.server.auth import ANONYMOUS, KeyRing, bearer_token, is_public, may
from app.server.errors import (
    CrossOrigin,
    Forbidden,
    RequestTimeout,
    RequestTooLarge,
    Unauthorized,
    UntrustedHost,
    error_response,
)
from app.server.ratelimit import RateLimiter
from config.errors import SettingsError
from config.settings import Settings

MULTIPART_SLACK = 64 * 1024  # multipart boundaries and part headers around the file bytes
UPLOAD_PATH = "/api/documents"
SEARCH_PATH = "/api/search"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
FRAME_POLICY = "frame-ancestors 'none'"  # for responses that set no Content-Security-Policy


def install(app: FastAPI, settings: Settings) -> None:
    """Guard (host, origin, key, role, rate, body size), then CORS if allowed, then headers."""
    origins = cors_origins(settings)  # settings errors surface here, at startup
    keys, limiter = KeyRing.from_settings(settings), CostLimiter(settings)
    app.state.keys = keys
    app.add_middleware(Guard, settings=settings, keys=keys, limiter=limiter)
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Accept"],
            allow_credentials=False,  # keys travel in a header, never in cookies
            max_age=600,
        )
    app.add_middleware(SecurityHeaders)


def cors_origins(settings: Settings) -> list[str]:
    origins = [o.strip().rstrip("/") for o in settings.cors_origins.split(",") if o.strip()]
    for origin in origins:
        parts = urlsplit(origin)
        if origin == "*" or parts.scheme not in ("http", "https") or not parts.netloc:
            raise SettingsError(
                f"RAGD_CORS_ORIGINS entry {origin!r} is not an origin like https://host:port "
                "(`*` is refused: list the pages that may call ragd)"
            )
    return origins


class CostLimiter:
    """Rate limits by what a request costs: cheap reads and searches count against
    RAGD_SEARCH_RATE_LIMIT, answers and writes against RAGD_RATE_LIMIT."""

    def __init__(self, settings: Settings) -> None:
        self.cheap = RateLimiter(settings.search_rate_limit, "RAGD_SEARCH_RATE_LIMIT")
        self.costly = RateLimiter(settings.rate_limit)

    def hit(self, bucket: str, method: str, path: str) -> None:
        cheap = method in ("GET", "HEAD") or path == SEARCH_PATH
        (self.cheap if cheap else self.costly).hit(bucket)


def split_list(value: str) -> frozenset[str]:
    return frozenset(v.strip().lower() for v in value.split(",") if v.strip())


class SecurityHeaders:
    """Adds nosniff, no framing and no referrer to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", FRAME_POLICY)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Guard:
    """Refuses a request before any route runs: bad host or origin, no key, wrong role, too
    many requests, or a body over the limit (by Content-Length, or counted as it streams in).
    Every path not explicitly public needs a key, so forgotten routes fail closed."""

    def __init__(
        self, app: ASGIApp, settings: Settings, keys: KeyRing, limiter: CostLimiter
    ) -> None:
        self.app = app
        self.settings = settings
        self.keys = keys
        self.limiter = limiter
        self.hosts = split_list(settings.allowed_hosts)
        self.origins = frozenset(cors_origins(settings))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            principal = scope.setdefault("state", {})["principal"] = self.admit(scope)
        except RequestError as exc:
            await error_response(exc)(scope, receive, send)
            return
        timeout = self.settings.body_timeout_seconds
        # Everything the request touches (retrieval, the store, MCP tools) acts as this key.
        with acting_as(principal):
            await BodyCounter(self.app, self.body_limit(scope), timeout).run(scope, receive, send)

    def admit(self, scope: Scope) -> Principal:
        headers, method, path = Headers(scope=scope), scope["method"], scope["path"]
        self.check_host(headers)
        self.check_origin(headers, method)
        if is_public(method, path):
            return self.public(headers)
        principal = self.authenticate(headers)
        if not may(principal, method, path):
            raise Forbidden(
                "this API key may not do this: uploading and deleting need an admin key, and "
                "changing the server a key that is admin over every collection"
            )
        self.limiter.hit(principal.id if self.keys.enabled else _client(scope), method, path)
        self.check_length(headers, self.body_limit(scope))
        return principal

    def check_host(self, headers: Headers) -> None:
        host = urlsplit("//" + headers.get("host", "")).hostname or ""
        if self.hosts and "*" not in self.hosts and host not in self.hosts:
            raise UntrustedHost(
                f"this server does not answer to host {host!r}; allowed: "
                f"{', '.join(sorted(self.hosts))}. To answer to it, add it to "
                "RAGD_ALLOWED_HOSTS (comma-separated; * answers any host where keys are set)"
            )

    def check_origin(self, headers: Headers, method: str) -> None:
        """A browser page of another origin may not change anything (CSRF), unless allowed."""
        origin = headers.get("origin")
        if origin is None or method in ("GET", "HEAD", "OPTIONS"):
            return
        if urlsplit(origin).netloc != headers.get("host") and origin not in self.origins:
            raise CrossOrigin(
                f"requests from pages at {origin} are not allowed; add the origin to "
                "RAGD_CORS_ORIGINS to allow it"
            )

    def public(self, headers: Headers) -> Principal:
        """A public path shows a known key its own collections, and no one else any."""
        if not self.keys.enabled:
            return ANONYMOUS
        token = bearer_token(headers)
        return (self.keys.identify(token) if token else None) or NOBODY

    def authenticate(self, headers: Headers) -> Principal:
        if not self.keys.enabled:
            return ANONYMOUS
        token = bearer_token(headers)
        if token is None:
            raise Unauthorized("an API key is required: send the header Authorization: Bearer KEY")
        principal = self.keys.identify(token)
        if principal is None:
            raise Unauthorized("unknown API key: check the key, or ask an admin for one")
        return principal

    def body_limit(self, scope: Scope) -> int:
        if scope["method"] == "POST" and scope["path"] == UPLOAD_PATH:
            return int(self.settings.max_upload_mb * 1024 * 1024) + MULTIPART_SLACK
        return self.settings.max_request_kb * 1024

    def check_length(self, headers: Headers, limit: int) -> None:
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise RequestTooLarge(too_large(limit))


def too_large(limit: int) -> str:
    return (
        f"the request body is larger than the {limit / 1048576:.1f} MB limit "
        "(RAGD_MAX_UPLOAD_MB for uploads, RAGD_MAX_REQUEST_KB otherwise)"
    )


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class BodyCounter:
    """Counts request body bytes as the app reads them, and times them: past the size limit
    the client gets 413, past the time limit (the whole body in `timeout` seconds, a quarter
    of it at most between two pieces) 408, so an oversized body is never buffered whole and a
    stalled one never holds its connection."""

    def __init__(self, app: ASGIApp, limit: int, timeout: float = 120) -> None:
        self.app, self.limit, self.timeout = app, limit, timeout
        self.received, self.started, self.complete = 0, False, False
        self.refused: RequestError | None = None
        self.deadline = time.monotonic() + timeout

    async def run(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Message:
            if self.complete:
                return await receive()  # e.g. waiting for the client to disconnect
            message = await self._in_time(receive)
            self.received += len(message.get("body", b""))
            self.complete = not message.get("more_body", False)
            if self.received > self.limit:
                self._refuse(RequestTooLarge(too_large(self.limit)))
            return message

        async def tracked(message: Message) -> None:
            if self.refused is not None and not self.started:
                return  # the app's own error for the aborted read: ours is sent instead
            self.started |= message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except Exception:
            if self.refused is None:
                raise
        if self.refused is not None and not self.started:
            await error_response(self.refused)(scope, receive, send)

    async def _in_time(self, receive: Receive) -> Message:
        wait = min(self.timeout / 4, self.deadline - time.monotonic())
        with anyio.move_on_after(max(wait, 0)):
            return await receive()
        self._refuse(
            RequestTimeout(
                f"the request body did not arrive within {self.timeout:g} s "
                "(RAGD_BODY_TIMEOUT_SECONDS); send it at once"
            )
        )

    def _refuse(self, error: RequestError) -> NoReturn:
        self.refused = error
        raise error
