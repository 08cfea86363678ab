"""What a load may do (its OCR options) and what it tells besides its blocks (notes, OCR cost)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal

from ingest.loaders.blocks import Block

OcrMode = Literal["auto", "off"]


@dataclass(frozen=True)
class LoadOptions:
    """Chosen by the settings (RAGD_OCR...), passed to the sandbox workers with the limits."""

    ocr: OcrMode = "auto"
    ocr_max_pages: int = 50
    ocr_seconds: float = 90  # OCR stops here, before the sandbox's wall clock kills the file


@dataclass
class Report:
    """What a loader noticed: cuts it made (with their reasons) and pages read by OCR."""

    notes: list[str] = field(default_factory=list)
    ocr_pages: int = 0
    started: float = field(default_factory=time.monotonic)


class Loaded(list[Block]):
    """A file's blocks, with its report; pickles as a list with its attributes."""

    def __init__(self, blocks: list[Block], report: Report) -> None:
        super().__init__(blocks)
        self.notes = report.notes
        self.ocr_pages = report.ocr_pages


_DEFAULT = LoadOptions()  # frozen: safe to share
_OPTIONS: ContextVar[LoadOptions] = ContextVar("ragd_load_options", default=_DEFAULT)
_REPORT: ContextVar[Report | None] = ContextVar("ragd_load_report", default=None)


def options() -> LoadOptions:
    return _OPTIONS.get()


def note(text: str) -> None:
    """Tell the user something about this file (e.g. "sheet cut at 100,000 rows")."""
    report = _REPORT.get()
    if report is not None and text not in report.notes:
        report.notes.append(text)


def seconds_left() -> float:
    """Of this load's OCR time (LoadOptions.ocr_seconds), counted from the load's start."""
    report = _REPORT.get()
    started = report.started if report is not None else time.monotonic()
    return options().ocr_seconds - (time.monotonic() - started)


def ocr_page_done() -> None:
    report = _REPORT.get()
    if report is not None:
        report.ocr_pages += 1


@contextmanager
def loading(opts: LoadOptions) -> Iterator[Report]:
    """The options and a fresh report for one file's load."""
    report = Report()
    options_token, report_token = _OPTIONS.set(opts), _REPORT.set(report)
    try:
        yield report
    finally:
        _OPTIONS.reset(options_token)
        _REPORT.reset(report_token)
