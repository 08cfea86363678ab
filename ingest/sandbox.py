"""Parsing in reused worker processes, each file under memory, CPU-time and wall-clock limits.

A decompression bomb, a parser hang or a parser crash costs one file, never the caller: the
worker that hit a limit is killed and replaced (pebble.ProcessPool), the others carry on.
"""

from __future__ import annotations

import logging
import multiprocessing
import resource
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, TimeoutError
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pebble import ProcessExpired, ProcessPool

from ingest.errors import IngestError, TooMuchText, UnreadableFile
from ingest.loaders import load
from ingest.loaders.context import Loaded, LoadOptions, OcrMode

if TYPE_CHECKING:  # workers import this module: keep them light
    from config.settings import Settings

T = TypeVar("T")
MIB = 1024 * 1024
TASKS_PER_WORKER = 1000  # a fresh worker now and then: parsers may leak


@dataclass(frozen=True)
class ParseLimits:
    """What one file may cost its worker."""

    memory_mb: int = 1024  # address space on top of the worker's baseline
    cpu_seconds: int = 60
    timeout_seconds: float = 120
    max_chars: int = 20_000_000
    workers: int = 2
    ocr: OcrMode = "auto"
    ocr_max_pages: int = 50

    @classmethod
    def from_settings(cls, settings: Settings) -> ParseLimits:
        return cls(
            memory_mb=settings.parse_memory_mb,
            cpu_seconds=settings.parse_cpu_seconds,
            timeout_seconds=settings.parse_timeout_seconds,
            max_chars=settings.max_document_chars,
            workers=settings.parse_workers,
            ocr=settings.ocr,
            ocr_max_pages=settings.ocr_max_pages,
        )

    def load_options(self) -> LoadOptions:
        """What the loaders may do; OCR stops early enough to return what it read."""
        return LoadOptions(self.ocr, self.ocr_max_pages, ocr_seconds=self.timeout_seconds * 0.8)


class Sandbox:
    """A pool of worker processes that parse documents; started on first use."""

    def __init__(self, limits: ParseLimits) -> None:
        self.limits = limits
        self._pool: ProcessPool | None = None
        self._lock = threading.Lock()

    def submit(self, name: str, data: bytes) -> Future[Loaded]:
        """Start parsing `data` (a file called `name`); `result()` collects it."""
        return self.call(parse_in_worker, name, data, self.limits)

    def call(self, function: Callable[..., T], *args: Any) -> Future[T]:
        """Run a module-level function in a worker, under the CPU and wall-clock limits."""
        limits = self.limits
        future: Future[T] = self._workers().submit(
            _limited, limits.timeout_seconds, limits, function, *args
        )
        return future

    def result(self, future: Future[T]) -> T:
        """The function's result, or an IngestError that says which limit the file hit."""
        try:
            return future.result()
        except TimeoutError:
            raise UnreadableFile(self._timeout_message()) from None
        except ProcessExpired as exc:
            raise UnreadableFile(self._crash_message(exc.exitcode)) from None
        except BrokenProcessPool as exc:
            raise UnreadableFile(f"the parser workers could not start: {exc}") from None

    def parse(self, name: str, data: bytes) -> Loaded:
        return self.result(self.submit(name, data))

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()  # type: ignore[no-untyped-call]
            pool.join()

    def _workers(self) -> ProcessPool:
        with self._lock:
            if self._pool is None or not self._pool.active:
                self._pool = ProcessPool(
                    max_workers=self.limits.workers,
                    max_tasks=TASKS_PER_WORKER,
                    initializer=init_worker,
                    initargs=(self.limits.memory_mb,),
                    context=_context(),
                )
            return self._pool

    def _timeout_message(self) -> str:
        return (
            f"parsing took longer than {self.limits.timeout_seconds:g} s and was stopped "
            "(RAGD_PARSE_TIMEOUT_SECONDS)"
        )

    def _crash_message(self, exitcode: int | None) -> str:
        if exitcode == -signal.SIGXCPU:
            return (
                f"parsing used more than {self.limits.cpu_seconds} s of CPU and was stopped "
                "(RAGD_PARSE_CPU_SECONDS)"
            )
        if exitcode == -signal.SIGKILL:
            return "the parser was killed, likely for using too much memory"
        if exitcode == -signal.SIGABRT:  # PDFium and libxml2 abort when an allocation fails
            return (
                f"the parser crashed (exit code {exitcode}): out of memory (more than "
                f"{self.limits.memory_mb} MB, RAGD_PARSE_MEMORY_MB) or a damaged file"
            )
        return f"the parser crashed (exit code {exitcode}) on this file"


def _context() -> multiprocessing.context.BaseContext:
    """forkserver on Linux: workers never inherit the parent's threads or loaded models."""
    if sys.platform.startswith("linux"):
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["ingest.sandbox"])
        return context
    return multiprocessing.get_context("spawn")


def init_worker(memory_mb: int) -> None:
    """Runs once in each worker: no core files, an address-space cap, quiet parser logs."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    baseline = _address_space()
    if baseline is not None:
        cap = baseline + memory_mb * MIB
        resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    logging.getLogger("pypdfium2").setLevel(logging.ERROR)


def _address_space() -> int | None:
    """This process's virtual size in bytes (Linux); None where RLIMIT_AS is not enforced."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except OSError:
        return None


def _limited(limits: ParseLimits, function: Callable[..., T], *args: Any) -> T:
    """Runs in a worker: `function` under this task's CPU budget; out of memory is an error."""
    _cpu_budget(limits.cpu_seconds)
    try:
        return function(*args)
    except MemoryError:
        raise UnreadableFile(
            f"parsing needs more than {limits.memory_mb} MB of memory (RAGD_PARSE_MEMORY_MB)"
        ) from None


def parse_in_worker(name: str, data: bytes, limits: ParseLimits) -> Loaded:
    """Runs in a worker: parse; every failure becomes a picklable IngestError."""
    try:
        blocks = load(name, data, limits.load_options())
    except (IngestError, MemoryError):
        raise
    except Exception as exc:  # library errors may not pickle: send the message only
        raise UnreadableFile(f"could not read the file: {type(exc).__name__}: {exc}") from None
    chars = sum(len(b.text) for b in blocks)
    if chars > limits.max_chars:
        raise TooMuchText(
            f"the document yields {chars:,} characters of text, more than the "
            f"{limits.max_chars:,} allowed (RAGD_MAX_DOCUMENT_CHARS)"
        )
    return blocks


def _cpu_budget(seconds: int) -> None:
    """Past this task's CPU budget the kernel sends SIGXCPU, which ends the worker."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    soft = used + seconds
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


_SHARED: dict[ParseLimits, Sandbox] = {}
_SHARED_LOCK = threading.Lock()


def shared(limits: ParseLimits) -> Sandbox:
    """One sandbox per set of limits per process: its workers are reused across ingests."""
    with _SHARED_LOCK:
        if limits not in _SHARED:
            _SHARED[limits] = Sandbox(limits)
        return _SHARED[limits]


def close_all() -> None:
    with _SHARED_LOCK:
        sandboxes = list(_SHARED.values())
    for sandbox in sandboxes:
        sandbox.close()
