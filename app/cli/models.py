"""`ragd models list|pull|use`: the catalogue, verified resumable downloads, the model choice."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from app.answering.models import catalogue, demo_notice, local_models
from app.cli.errors import console
from config.settings import Settings
from models.catalog import expand, record_current
from models.errors import ModelNotDownloaded
from models.pull import pull
from models.resolve import HF_GGUF, local_llm_model

out = Console()


def add_models_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = commands.add_parser("models", help="list, download and choose generation models")
    sub = models.add_subparsers(dest="models_command", required=True)
    listing = sub.add_parser("list", help="the catalogue, and what is on this machine")
    listing.add_argument("--json", action="store_true")
    get = sub.add_parser("pull", help="download a model into data/models (resumable, verified)")
    get.add_argument("model", help="a catalogue name, or owner/repo:file.gguf")
    use = sub.add_parser("use", help="answer with this model from the next start on")
    use.add_argument("model", help="a catalogue name, owner/repo:file.gguf, or a .gguf path")


def models_command(args: argparse.Namespace, settings: Settings) -> int:
    commands = {"list": list_models, "pull": pull_model, "use": use_model}
    return commands[args.models_command](args, settings)


def list_models(args: argparse.Namespace, settings: Settings) -> int:
    rows, local = catalogue(settings), local_models(settings)
    if args.json:
        print(json.dumps({"catalogue": rows, "local": local, "using": settings.llm_choice}))
        return 0
    table = Table("name", "params", "file GB", "memory GB", "licence", "", "note")
    for row in rows:
        mark = "in use" if row["in_use"] else ("downloaded" if row["downloaded"] else "")
        table.add_row(
            row["name"],
            row["params"],
            f"{row['size_gb']:.2f}",
            f"{row['memory_gb']:.1f}",
            row["licence"],
            mark,
            row["note"],
        )
    out.print(table)
    out.print(f"using: {settings.llm_choice}", highlight=False)
    for model in local:
        out.print(f"on this machine: {model['path']} ({model['size_gb']} GB)", highlight=False)
    if notice := demo_notice(settings):
        out.print(notice, style="yellow", highlight=False)
    return 0


def pull_model(args: argparse.Namespace, settings: Settings) -> int:
    spec = expand(args.model)
    match = HF_GGUF.match(spec)
    if match is None:
        raise ModelNotDownloaded(
            f"{args.model!r} is neither a catalogue name (`ragd models list`) nor "
            "owner/repo:file.gguf"
        )
    with _progress() as progress:
        task = progress.add_task(match["file"][-40:], total=None)
        path = pull(
            match["repo"],
            match["file"],
            settings.models_dir,
            lambda done, total: progress.update(task, completed=done, total=total),
        )
    print(f"{path} (SHA-256 verified); answer with it: ragd models use {args.model}")
    return 0


def use_model(args: argparse.Namespace, settings: Settings) -> int:
    if local_llm_model(args.model, settings.models_dir) is None:
        raise ModelNotDownloaded(
            f"model {args.model!r} is not on this machine: run `ragd models pull {args.model}`"
        )
    record_current(args.model, settings.models_dir)
    print(
        f"ragd will answer with {args.model} from its next start "
        "(a running server switches with POST /api/models/current)"
    )
    if "llm_model" in settings.model_fields_set:
        console.print(f"note: RAGD_LLM_MODEL={settings.llm_model} is set and takes precedence")
    return 0


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<40}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
    )
