"""Answerability of every question of a QA set, without generation, and the abstention curve.

    python -m bench.answerability_dump SET [SET ...] [--dump FILE] [--threshold 0.6]

SET is DATA_DIR:COLLECTION:QA.jsonl[,QA2.jsonl...] (a question without answers is unanswerable).
Each question goes through /api/ask's own preparation (retrieve, judge, budget) on the packaged
models, so the score is the one the server cuts. `--dump` writes one JSON line per question:
its features, score and the used passages' texts, for exploring new evidence offline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from app.answering.answer import Answerer, Prepared
from app.answering.queue import GenerationQueue
from app.answering.services import Services
from app.evals.calibrate import abstention_curve
from config.settings import Settings


def questions(files: Sequence[str]) -> Iterator[tuple[str, bool]]:
    for name in files:
        for line in Path(name).read_text().splitlines():
            if line.strip():
                item = json.loads(line)
                yield item["question"], bool(item.get("answers"))


async def _prepare(answerer: Answerer, question: str, collection: str) -> Prepared:
    with answerer.queue.reserve() as slot:
        return await answerer.prepare(question, collection, (), slot)


def row(question: str, answerable: bool, prepared: Prepared) -> dict[str, Any]:
    features = prepared.features
    return {
        "question": question,
        "answerable": answerable,
        "score": features.score() if features else 0.0,
        "features": asdict(features) if features else None,
        "passages": [p.chunk.text for p in prepared.budget.used],
    }


def measure(spec: str, threshold: float | None) -> tuple[list[dict[str, Any]], float]:
    data_dir, collection, files = spec.split(":", 2)
    settings = Settings(data_dir=Path(data_dir), llm_temperature=0)
    with Services.load(settings) as services:
        answerer = Answerer(services, GenerationQueue(services.generator))
        rows = [
            row(q, a, asyncio.run(_prepare(answerer, q, collection)))
            for q, a in questions(files.split(","))
        ]
        return rows, threshold if threshold is not None else answerer.threshold(collection)


def report(name: str, rows: Sequence[dict[str, Any]], threshold: float) -> None:
    answerable = [r["score"] for r in rows if r["answerable"]]
    unanswerable = [r["score"] for r in rows if not r["answerable"]]
    curve = abstention_curve(answerable, unanswerable, threshold)
    if curve is None:
        return
    print(f"{name}: {len(answerable)} answerable, {len(unanswerable)} unanswerable")
    cuts = " ".join(
        f"{p.threshold:.2f}:{p.answered:.0%}/{p.refused or 0:.0%}" for p in curve.points
    )
    print(f"  threshold:answered/refused {cuts}")
    c = curve.current
    print(f"  at {c.threshold}: answered {c.answered:.1%}, refused {c.refused or 0:.1%}")
    for r in sorted(rows, key=lambda r: r["score"]):
        wrong = (r["score"] < threshold) == r["answerable"]
        if wrong:
            kind = "answerable refused" if r["answerable"] else "unanswerable answered"
            print(f"    {kind}: {r['score']:.3f}{_names(r)} {r['question']}")


def _names(row: dict[str, Any]) -> str:
    """The rare-name halvings behind a score, when any: unknown and passing names."""
    f = row["features"] or {}
    found = [f"{k} {f[k]}" for k in ("unknown", "passing") if f.get(k)]
    return f" ({', '.join(found)})" if found else ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", help="DATA_DIR:COLLECTION:QA.jsonl[,QA2.jsonl]")
    parser.add_argument("--dump", type=Path, help="write each question's features here")
    parser.add_argument("--threshold", type=float, help="default: the one the server uses")
    args = parser.parse_args(argv)
    rows_of_all = []
    for spec in args.sets:
        rows, threshold = measure(spec, args.threshold)
        report(spec.split(":", 2)[1], rows, threshold)
        rows_of_all += [{"set": spec, **r} for r in rows]
    if args.dump:
        args.dump.write_text("".join(json.dumps(r) + "\n" for r in rows_of_all))
    return 0


if __name__ == "__main__":
    sys.exit(main())
