"""The model queue: bounded admission, then one generation at a time, in arrival order."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import anyio

from app.answering.errors import QueueFull
from models.generator import Generator, Message

_DONE = object()


@dataclass(frozen=True)
class RunStats:
    """What one generation did: pieces the model produced, and whether it was cut short."""

    produced: int
    cancelled: bool
    seconds: float
    cached_tokens: int = 0  # prompt tokens reused from the KV cache (in-process llama.cpp)


class Slot:
    """One admitted request's place in the queue, held from admission until its answer ends."""

    def __init__(self, queue: GenerationQueue) -> None:
        self._queue = queue
        self.released = False
        self.queue_seconds = 0.0  # time spent waiting for the model, over all its generations
        self.last: RunStats | None = None  # this request's latest generation

    def stream(
        self, messages: Sequence[Message], max_tokens: int, stop: Sequence[str] = ()
    ) -> AsyncGenerator[str, None]:
        """Generate for this request; closing the iterator cancels within one token."""
        return self._queue._stream(self, messages, max_tokens, stop)

    def release(self) -> None:
        """Give the place back; safe to call more than once."""
        if not self.released:
            self.released = True
            self._queue.admitted -= 1

    def __enter__(self) -> Slot:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class Pieces:
    """Pieces handed from the generating thread to the event loop, coalesced: the thread wakes
    the loop only when the buffer goes from empty to not, and the loop takes everything that
    arrived since its last look, so a burst of tokens costs one wake-up, not one each."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._items: list[object] = []
        self._ready = asyncio.Event()  # touched on the loop's thread only

    def put(self, item: object) -> None:
        """From the generating thread."""
        with self._lock:
            wake = not self._items
            self._items.append(item)
        if wake:
            self._loop.call_soon_threadsafe(self._ready.set)

    async def take(self) -> list[object]:
        """Everything put since the last take, in order (at least one item)."""
        await self._ready.wait()
        with self._lock:
            items, self._items = self._items, []
            self._ready.clear()
        return items


def joined(items: list[object]) -> tuple[str, object | None]:
    """The text pieces before the first non-text item, joined, and that item (the end or
    an error) if there is one: the text before an error still reaches the client."""
    text: list[str] = []
    for item in items:
        if not isinstance(item, str):
            return "".join(text), item
        text.append(item)
    return "".join(text), None


class GenerationQueue:
    """Serializes one Generator; admits at most `depth` requests beyond the one generating.

    Streamed text is coalesced: after the first piece (sent at once), the stream yields at
    most every `interval` seconds whatever the model produced meanwhile, so a fast model costs
    the event loop, the SSE writer and the client a wake-up per few tokens, not per token.
    """

    def __init__(self, generator: Generator, depth: int = 8, interval: float = 0.0) -> None:
        self.generator = generator
        self.depth = depth
        self.interval = interval
        self.admitted = 0  # requests holding a Slot: retrieving, waiting or generating
        self.waiting = 0  # requests waiting for the model itself
        self.busy = False
        self.rejected = 0
        self.cancelled = 0
        self.last: RunStats | None = None
        self._lock: asyncio.Lock | None = None
        self._mean_seconds = 5.0  # moving average of one generation, for Retry-After

    def reserve(self) -> Slot:
        """Admit a request or refuse it at once (429).

        Synchronous on purpose: no await between the check and the count, so two requests
        arriving together can never both take the last place.
        """
        if self.admitted > self.depth:
            self.rejected += 1
            retry = max(1, math.ceil(self._mean_seconds * self.admitted))
            raise QueueFull(
                f"the model is busy: {self.admitted} requests are ahead and the queue holds "
                f"{self.depth}; retry in {retry} s",
                retry,
            )
        self.admitted += 1
        return Slot(self)

    def state(self) -> dict[str, Any]:
        return {
            "depth": self.depth,
            "admitted": self.admitted,
            "waiting": self.waiting,
            "busy": self.busy,
            "rejected": self.rejected,
            "cancelled": self.cancelled,
            "last": self.last.__dict__ if self.last else None,
        }

    async def swap(self, load: Callable[[], Generator]) -> Generator:
        """Load another model between generations: requests arriving meanwhile wait in the
        queue, then run on it. Returns the model it replaced (kept if loading fails)."""
        async with self._get_lock():
            self.busy = True
            try:
                loaded = await anyio.to_thread.run_sync(load)
            finally:
                self.busy = False
            replaced, self.generator = self.generator, loaded
        return replaced

    def _get_lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()  # FIFO: waiters are served in arrival order
        return self._lock

    async def _stream(
        self, slot: Slot, messages: Sequence[Message], max_tokens: int, stop: Sequence[str]
    ) -> AsyncGenerator[str, None]:
        lock, queued = self._get_lock(), time.perf_counter()
        self.waiting += 1
        try:
            await lock.acquire()
        finally:
            self.waiting -= 1
        slot.queue_seconds += time.perf_counter() - queued
        self.busy, started = True, time.perf_counter()
        try:
            async with aclosing(self._run(messages, max_tokens, stop, started)) as pieces:
                async for piece in pieces:
                    yield piece
        finally:
            self.busy = False
            slot.last = self.last
            lock.release()

    async def _run(
        self, messages: Sequence[Message], max_tokens: int, stop: Sequence[str], started: float
    ) -> AsyncGenerator[str, None]:
        loop = asyncio.get_running_loop()
        pieces = Pieces(loop)
        cancel = threading.Event()
        produced = [0]

        def work() -> None:
            try:
                for piece in self.generator.stream(messages, max_tokens, cancel, stop):
                    produced[0] += 1
                    pieces.put(piece)
            except BaseException as exc:
                pieces.put(exc)
            finally:
                pieces.put(_DONE)

        worker = loop.run_in_executor(None, work)
        finished = False
        try:
            async for text, end in self._paced(pieces):
                if isinstance(end, BaseException):
                    finished = True  # failed, not cancelled
                    if text:
                        yield text
                    raise end
                if text:
                    yield text
            finished = True
        finally:
            cancel.set()
            with anyio.CancelScope(shield=True):
                await worker  # the model is free before the lock is released
            cached = int(getattr(self.generator, "last_cached_tokens", 0))
            seconds = time.perf_counter() - started
            self._record(RunStats(produced[0], not finished, seconds, cached))

    async def _paced(self, pieces: Pieces) -> AsyncGenerator[tuple[str, object | None], None]:
        """(text, end) at most every `interval` seconds after the first, until the end."""
        loop, sent = asyncio.get_running_loop(), None
        while True:
            if sent is not None and self.interval > 0:
                await asyncio.sleep(max(0.0, sent + self.interval - loop.time()))
            text, end = joined(await pieces.take())
            yield text, end
            if end is not None:
                return
            sent = loop.time()

    def _record(self, stats: RunStats) -> None:
        self.last = stats
        self.cancelled += stats.cancelled
        if not stats.cancelled:
            self._mean_seconds = 0.8 * self._mean_seconds + 0.2 * stats.seconds
