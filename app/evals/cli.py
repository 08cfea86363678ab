"""The `ragd eval` command: arguments, a progress bar, and the tables it prints."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from app.answering.calibration import write_threshold
from app.answering.retrieval import MODES
from app.evals.beir import load_beir
from app.evals.calibrate import Curve
from app.evals.errors import InvalidDataset
from app.evals.evaluate import Abstention, BeirReport, Tick, evaluate_beir
from app.evals.qa import QAReport, load_qa, run_qa
from config.factories import load_embedder, load_generator
from config.settings import Settings

out = Console()
err = Console(stderr=True)
# Published test-split nDCG@10 on SciFact, for reference beside a SciFact run.
PUBLISHED = {"scifact": {"dense": 0.645, "keyword": 0.665}}


def add_eval_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "eval",
        help="retrieval metrics on a BEIR folder, or answer metrics on a QA JSONL",
        description="DATASET is a BEIR folder (corpus.jsonl, queries.jsonl, qrels/*.tsv or "
        "qrels.tsv), ingested into a temporary collection; or a QA JSONL of "
        '{"question", "answers": [...]} asked of an ingested collection.',
    )
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--mode", action="append", choices=MODES, help="repeatable; default all")
    parser.add_argument("--collection", default=None, help="QA: the collection to ask")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="BEIR: keep the ingested corpus here and reuse it on the next run",
    )
    parser.add_argument(
        "--unanswerable",
        type=Path,
        default=None,
        help="BEIR: JSONL of questions the corpus cannot answer, to calibrate RAGD_ABSTAIN_BELOW",
    )
    parser.add_argument(
        "--write-threshold",
        action="store_true",
        help="QA: store the suggested abstention threshold for --collection (the server uses "
        "it instead of RAGD_ABSTAIN_BELOW); needs unanswerable questions in the file",
    )
    parser.add_argument(
        "--details", type=Path, default=None, help="QA: write each question's answer here (JSONL)"
    )
    parser.add_argument(
        "--context-only",
        action="store_true",
        help="QA: no generation; whether a gold answer reaches the prompt, and its tokens",
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N queries")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")


def evaluate(args: argparse.Namespace, settings: Settings) -> int:
    if args.dataset.is_dir():
        return _beir(args, settings)
    if args.dataset.is_file():
        return _qa(args, settings)
    raise InvalidDataset(f"{args.dataset} is neither a BEIR folder nor a QA JSONL file")


def _beir(args: argparse.Namespace, settings: Settings) -> int:
    dataset = load_beir(args.dataset)  # a malformed folder fails before the model loads
    with err.status("loading the embedding model"):
        embedder = load_embedder(settings)
        generator = load_generator(settings) if settings.hyde != "off" else None
    with progress_ticks() as tick, closing_generator(generator):
        report = evaluate_beir(
            dataset,
            settings,
            embedder,
            modes=tuple(args.mode or MODES),
            work_dir=args.work_dir,
            unanswerable=args.unanswerable,
            limit=args.limit,
            tick=tick,
            generator=generator,
        )
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print_beir(report)
    return 0


def _qa(args: argparse.Namespace, settings: Settings) -> int:
    from app.answering.answer import Answerer
    from app.answering.queue import GenerationQueue
    from app.answering.services import Services
    from app.evals.context import run_context

    items = load_qa(args.dataset)[: args.limit]  # a malformed file fails before models load
    with Services.load(settings) as services, progress_ticks() as tick:
        answerer = Answerer(services, GenerationQueue(services.generator))
        if args.context_only:
            return _print_context(asyncio.run(run_context(answerer, items, args.collection, tick)))
        report = asyncio.run(run_qa(answerer, items, args.collection, tick, args.details))
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print_qa(report)
    if args.write_threshold:
        _write_threshold(report, settings, args.collection or settings.collection)
    return 0


def _print_context(report: Any) -> int:
    print(json.dumps(report.as_dict(), indent=2))
    return 0


def _write_threshold(report: QAReport, settings: Settings, collection: str) -> None:
    if report.curve is None or report.curve.suggested.refused is None:
        raise InvalidDataset(
            "--write-threshold needs answerable and unanswerable questions "
            '(lines with "answers": []) to choose a threshold'
        )
    path = write_threshold(
        settings.data_dir,
        collection,
        report.curve.suggested.threshold,
        {"curve": [asdict(p) for p in report.curve.points], "questions": report.questions},
    )
    err.print(f"abstention threshold {report.curve.suggested.threshold} written to {path}")


@contextmanager
def closing_generator(generator: Any) -> Iterator[None]:
    try:
        yield
    finally:
        if generator is not None:
            generator.close()


@contextmanager
def progress_ticks() -> Iterator[Tick]:
    """A rich progress bar per phase (ingest, then each mode), fed by (phase, done, total)."""
    progress = Progress(
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def tick(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = progress.add_task(phase, total=total)
        progress.update(tasks[phase], completed=done)

    with progress:
        yield tick


def print_beir(report: BeirReport) -> None:
    published = PUBLISHED.get(report.dataset.lower(), {})
    table = Table(
        title=escape(
            f"{report.dataset}: {report.queries} queries, {report.documents} "
            f"documents, {report.chunks} chunks"
        ),
        show_edge=False,
    )
    for column in ("mode", "nDCG@10", "recall@10", "recall@100", "MRR@10", "p50 ms", "p95 ms"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    if published:
        table.add_column("published nDCG@10", justify="right")
    for m in report.modes:
        row = [
            m.mode,
            *(f"{v:.4f}" for v in (m.ndcg_at_10, m.recall_at_10, m.recall_at_100, m.mrr_at_10)),
            f"{m.latency_p50_ms:.1f}",
            f"{m.latency_p95_ms:.1f}",
        ]
        if published:
            row.append(f"{published[m.mode]:.3f}" if m.mode in published else "")
        table.add_row(*row)
    out.print(table)
    if report.hyde_ms_p50 is not None:
        out.print(
            f"HyDE: writing the hypothetical answer took {report.hyde_ms_p50:.0f} ms per query "
            f"(p95 {report.hyde_ms_p95:.0f} ms), on top of the search latency above",
            highlight=False,
        )
    settings = ", ".join(f"{k}={v}" for k, v in report.settings.items())
    out.print(f"settings: {settings}", style="dim", markup=False, highlight=False)
    if report.abstention:
        print_abstention(report.abstention)


def print_abstention(a: Abstention) -> None:
    out.print(
        f"abstention at RAGD_ABSTAIN_BELOW={a.threshold}: answers {a.answered:.1%} of "
        f"{a.answerable} answerable queries (their evidence: p1 {a.evidence_p1}, median "
        f"{a.evidence_p50}); the highest threshold answering 99% of them is {a.suggested}",
        highlight=False,
    )
    if a.unanswerable:
        out.print(
            f"  unanswerable queries ({a.unanswerable}, evidence median {a.unanswerable_p50}, "
            f"p95 {a.unanswerable_p95}): refused {a.abstained:.1%} at {a.threshold}, "
            f"{a.suggested_abstained:.1%} at {a.suggested}",
            highlight=False,
        )


def print_curve(curve: Curve) -> None:
    out.print("answerability threshold -> answerable answered / unanswerable refused:")
    for p in curve.points:
        refused = "-" if p.refused is None else f"{p.refused:.0%}"
        out.print(f"  {p.threshold:.2f}  {p.answered:.0%}  {refused}", highlight=False)
    s, c = curve.suggested, curve.current
    out.print(
        f"in force {c.threshold}: answers {c.answered:.0%}, refuses {c.refused}; suggested "
        f"{s.threshold}: answers {s.answered:.0%}, refuses {s.refused}",
        highlight=False,
    )


def print_qa(report: QAReport) -> None:
    table = Table(
        title=f"{report.questions} questions, {report.answerable} answerable", show_edge=False
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in report.as_dict().items():
        if name not in ("questions", "answerable", "abstention", "curve"):
            table.add_row(name, "-" if value is None else str(value))
    out.print(table)
    if report.curve:
        print_curve(report.curve)
