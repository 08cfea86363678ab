"""The parser sandbox: CPU, memory and wall-clock limits cost one file and a worker, not the run."""

from __future__ import annotations

import pytest

from ingest.errors import UnreadableFile
from ingest.sandbox import ParseLimits, Sandbox
from tests import hostile_workers as w


@pytest.fixture(scope="module")
def sandbox():
    box = Sandbox(ParseLimits(memory_mb=256, cpu_seconds=1, timeout_seconds=60, workers=1))
    yield box
    box.close()


def run(box: Sandbox, function, *args):
    return box.result(box.call(function, *args))


def test_workers_are_reused(sandbox: Sandbox):
    assert run(sandbox, w.pid) == run(sandbox, w.pid)


@pytest.mark.slow
def test_a_cpu_spin_is_stopped_by_the_cpu_limit_and_the_worker_replaced(sandbox: Sandbox):
    before = run(sandbox, w.pid)
    with pytest.raises(UnreadableFile, match=r"more than 1 s of CPU .*RAGD_PARSE_CPU_SECONDS"):
        run(sandbox, w.spin)
    assert run(sandbox, w.pid) != before


def test_memory_over_the_limit_is_an_error_not_a_dead_server(sandbox: Sandbox):
    assert run(sandbox, w.hog, 64) == 64 * 1024 * 1024
    with pytest.raises(UnreadableFile, match=r"more than 256 MB of memory"):
        run(sandbox, w.hog, 1024)


def test_a_crashing_parser_costs_one_file(sandbox: Sandbox):
    with pytest.raises(UnreadableFile, match="the parser crashed"):
        run(sandbox, w.crash)
    assert run(sandbox, w.hog, 1) == 1024 * 1024


@pytest.mark.slow
def test_a_hang_is_stopped_by_the_wall_clock_limit():
    box = Sandbox(ParseLimits(cpu_seconds=60, timeout_seconds=2, workers=1))
    try:
        with pytest.raises(UnreadableFile, match=r"longer than 2 s .*RAGD_PARSE_TIMEOUT_SECONDS"):
            run(box, w.hang)
        assert run(box, w.hog, 1) == 1024 * 1024
    finally:
        box.close()
