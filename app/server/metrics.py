"""Prometheus metrics: requests by route and status, retrieval, TTFT, tokens/s, the model queue."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
)
from prometheus_client import generate_latest as render_registry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.answering.queue import GenerationQueue
from app.answering.schemas import AskResponse

# The *_created series only add noise to every scrape.
disable_created_metrics()  # type: ignore[no-untyped-call]
SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
RATES = (5, 10, 20, 40, 80, 160, 320, 640, 1280)
# Label values come from fixed sets only: nothing a client sends becomes a new series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Metrics:
    """One registry per app, so several apps (tests) never collide in a global one."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.queue: GenerationQueue | None = None
        r = self.registry
        self.requests = Counter(
            "ragd_requests",
            "HTTP requests by method, route template and status class (2xx, 4xx...).",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "ragd_request_seconds",
            "HTTP request duration, to the last byte.",
            ["route"],
            buckets=SECONDS,
            registry=r,
        )
        self.retrieval = Histogram(
            "ragd_retrieval_seconds",
            "Query embedding and index search.",
            buckets=SECONDS,
            registry=r,
        )
        self.ttft = Histogram(
            "ragd_time_to_first_token_seconds",
            "Request arrival to the first answer token.",
            buckets=SECONDS,
            registry=r,
        )
        self.tps = Histogram(
            "ragd_tokens_per_second", "Decode rate of an answer.", buckets=RATES, registry=r
        )
        self.tokens = Counter("ragd_tokens", "Tokens by kind.", ["kind"], registry=r)
        r.register(_QueueCollector(self))

    def observe_answer(self, response: AskResponse) -> None:
        t = response.timings
        self.retrieval.observe(t.retrieval_ms / 1000)
        if t.time_to_first_token_ms is not None:
            self.ttft.observe(t.time_to_first_token_ms / 1000)
        if t.tokens_per_second is not None:
            self.tps.observe(t.tokens_per_second)
        self.tokens.labels("prompt").inc(response.usage.prompt_tokens)
        self.tokens.labels("completion").inc(response.usage.completion_tokens)

    def render(self) -> tuple[bytes, str]:
        return render_registry(self.registry), CONTENT_TYPE_LATEST


class _QueueCollector(Collector):
    """Reads the model queue's live state at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        queue = self.metrics.queue
        if queue is None:
            return
        yield GaugeMetricFamily(
            "ragd_queue_depth",
            "Admitted requests not generating yet.",
            value=queue.admitted - queue.busy,
        )
        yield GaugeMetricFamily("ragd_queue_capacity", "RAGD_QUEUE_DEPTH.", value=queue.depth)
        yield GaugeMetricFamily("ragd_generating", "1 while the model generates.", value=queue.busy)
        yield CounterMetricFamily(
            "ragd_queue_rejections", "Requests refused with 429.", value=queue.rejected
        )
        yield CounterMetricFamily(
            "ragd_generations_cancelled",
            "Generations stopped early (client gone).",
            value=queue.cancelled,
        )


class MetricsMiddleware:
    """Counts every request by its route template (not the raw path) and final status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status, started = [500], time.perf_counter()

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self._count(scope, status[0], time.perf_counter() - started)

    def _count(self, scope: Scope, status: int, seconds: float) -> None:
        route = _route_path(scope)
        method = scope["method"] if scope["method"] in METHODS else "other"
        self.metrics.requests.labels(method, route, status_class(status)).inc()
        self.metrics.latency.labels(route).observe(seconds)


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status <= 599 else "other"


def _route_path(scope: Scope) -> str:
    """The matched route's template (a fixed set, the app's own), else "unmatched"."""
    route: Any = scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")
