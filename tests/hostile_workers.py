"""Functions the sandbox tests run inside parser workers (module level, so workers import them)."""

from __future__ import annotations

import os
import time


def spin() -> None:
    while True:
        pass


def hang() -> None:
    time.sleep(3600)


def hog(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def crash() -> None:
    os.abort()


def pid() -> int:
    return os.getpid()
