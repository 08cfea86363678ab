"""The `ingest` command: files and folders into a collection, with progress and a summary."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from app.cli.errors import console, run_cli
from config.factories import load_embedder, open_store
from config.settings import Settings
from index.filters import TAG_KEY
from ingest.pipeline import Ingestor, Outcome, SourceFile, Summary, build_ingestor, discover


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="ingest",
        description="Add documents to a ragd collection: text (.txt .md), PDF, Word (.docx), "
        "OpenDocument (.odt), RTF, HTML, e-books (.epub), e-mail (.eml), slides (.pptx), "
        "spreadsheets (.xlsx .csv .tsv), and images (.png .jpg .tiff) or scanned PDF pages, "
        "read by OCR (RAGD_OCR=auto|off).",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="files and folders to ingest")
    parser.add_argument("--collection", default=None, help="collection name (default: default)")
    parser.add_argument(
        "--prune", action="store_true", help="remove documents whose files are gone"
    )
    parser.add_argument("--rebuild", action="store_true", help="drop and re-embed the collection")
    parser.add_argument("--wait", type=float, default=0, help="seconds to wait for another ingest")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument(
        "--tag",
        action="append",
        default=[],
        type=tag_pair,
        metavar="KEY=VALUE",
        help="tag every file ingested (repeatable); filters select on tags.KEY",
    )
    parser.add_argument(
        "--watch",
        action="store_true",
        help="then keep the collection in step with the paths until Ctrl-C (implies --prune)",
    )
    return parser.parse_args(argv)


def tag_pair(text: str) -> tuple[str, str]:
    """KEY=VALUE, KEY spelled as filters can name it."""
    key, sep, value = text.partition("=")
    if not sep or not TAG_KEY.match(key):
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected KEY=VALUE, KEY of 1-64 letters, digits, '_', '.' or '-'"
        )
    return key, value


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_cli(lambda: ingest_command(args, Settings()))


def ingest_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.watch:
        from app.cli.watching import watch_command

        tags = dict(args.tag)
        return watch_command(args.paths, args.collection, settings, print_summary, tags)
    items = list(discover(args.paths))
    with console.status("loading the embedding model"):
        embedder = load_embedder(settings)
    with closing(open_store(settings)) as store:
        ingestor = build_ingestor(settings, embedder, store, args.collection)
        ingestor.tags = dict(args.tag)
        try:
            summary = _run(ingestor, items, args)
        except BaseException:
            console.print(f"stopped: {ingestor.summary.kept_line()}", markup=False)
            raise
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2))
    else:
        print_summary(summary, ingestor.collection.name)
    return 0 if summary.ok else 1


def _run(
    ingestor: Ingestor, items: list[SourceFile | Outcome], args: argparse.Namespace
) -> Summary:
    """Ingest with a progress bar that names the file in hand."""
    files = sum(isinstance(i, SourceFile) for i in items)
    with _progress() as progress:
        task = progress.add_task("ingesting", total=files)

        def advance(outcome: Outcome) -> None:
            progress.update(task, advance=1, description=escape(_describe(outcome)))

        return ingestor.ingest(
            items, prune=args.prune, rebuild=args.rebuild, wait=args.wait, on_file=advance
        )


def _describe(outcome: Outcome) -> str:
    """The file just done; its OCR'd pages, which cost seconds each, where there were any."""
    if not outcome.ocr_pages:
        return outcome.source[-40:]
    ocr = f" (OCR {outcome.ocr_pages} p.)"
    return outcome.source[-(40 - len(ocr)) :] + ocr


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<40}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def print_summary(summary: Summary, collection: str) -> None:
    out = Console(file=sys.stdout)
    counts = summary.as_dict()
    out.print(
        f"[bold]{escape(collection)}[/]: {counts['added']} added, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged, {counts['removed']} removed, "
        f"{counts['skipped']} skipped, {counts['failed']} failed; {summary.chunks} chunks embedded"
        + (f"; {summary.ocr_pages} pages read by OCR" if summary.ocr_pages else ""),
        highlight=False,
    )
    problems = [o for o in summary.outcomes if o.status in ("skipped", "failed") or o.reason]
    if problems:
        table = Table("file", "status", "reason", show_edge=False)
        for o in problems:
            table.add_row(Text(o.source), Text(o.status), Text(o.reason))  # names stay literal
        out.print(table)


if __name__ == "__main__":
    sys.exit(main())
