"""The one error handler of every command: a domain error becomes one plain line and exit 2."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError
from rich.console import Console

from app.answering.errors import ROOTS
from app.evals.errors import InvalidDataset
from config.errors import SettingsError
from ingest.sandbox import close_all

console = Console(stderr=True)
DOMAIN_ERRORS = (*ROOTS, SettingsError, InvalidDataset)


def run_cli(command: Callable[[], int]) -> int:
    """Run a command: a domain error or a bad RAGD_ setting is one literal line, not a traceback.
    Whatever happens, the parser workers the command started are stopped before it returns."""
    try:
        return command()
    except (*DOMAIN_ERRORS, ValidationError) as exc:
        console.print(
            "error:", str(exc), style="bold red", markup=False, highlight=False, soft_wrap=True
        )
        return 2
    except KeyboardInterrupt:
        console.print(
            "interrupted: the index keeps its last committed generation; run again to resume",
            markup=False,
        )
        return 130
    finally:
        close_all()
