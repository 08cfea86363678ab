"""The model queue: generation runs off the event loop, one request at a time, in arrival order."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Sequence

import anyio

from app.errors import QueueFull
from models.generator import Generator, Message

_DONE = object()


class GenerationQueue:
    """Serializes access to one Generator; refuses at once when too many are waiting."""

    def __init__(self, generator: Generator, max_waiting: int = 8) -> None:
        self.generator = generator
        self.max_waiting = max_waiting
        self.waiting = 0
        self.busy = False
        self._lock: asyncio.Lock | None = None
        self._last_seconds = 5.0

    def _get_lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()  # FIFO: waiters are served in arrival order
        return self._lock

    def check_capacity(self) -> None:
        """Refuse at once when the queue is full, before any work is done."""
        if self.waiting >= self.max_waiting:
            retry = max(1, round(self._last_seconds * (self.waiting + 1)))
            raise QueueFull(f"the model is busy with {self.waiting} queued requests", retry)

    async def stream(
        self, messages: Sequence[Message], max_tokens: int, stop: Sequence[str] = ()
    ) -> AsyncIterator[str]:
        """Yield answer pieces; closing this iterator cancels generation within one token."""
        lock = self._get_lock()
        self.check_capacity()
        self.waiting += 1
        try:
            await lock.acquire()
        finally:
            self.waiting -= 1
        self.busy, started = True, time.perf_counter()
        try:
            async for piece in self._run(messages, max_tokens, stop):
                yield piece
        finally:
            self.busy = False
            self._last_seconds = time.perf_counter() - started
            lock.release()

    async def _run(
        self, messages: Sequence[Message], max_tokens: int, stop: Sequence[str]
    ) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[object] = asyncio.Queue()
        cancel = threading.Event()

        def work() -> None:
            try:
                for piece in self.generator.stream(messages, max_tokens, cancel, stop):
                    loop.call_soon_threadsafe(pieces.put_nowait, piece)
            except BaseException as exc:
                loop.call_soon_threadsafe(pieces.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(pieces.put_nowait, _DONE)

        worker = loop.run_in_executor(None, work)
        try:
            while (item := await pieces.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                yield str(item)
        finally:
            cancel.set()
            with anyio.CancelScope(shield=True):
                await worker  # the model is free before the lock is released
