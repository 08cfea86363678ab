"""Score a QA eval run in shards as one run, from the shards' `ragd eval --details` files.

    python bench/realdocs/heldout2/merge_shards.py d0.jsonl d1.jsonl d2.jsonl [--json]

Uses ragd's own scoring (app.evals.scoring), so the figures are those `ragd eval` prints for one
process over all the questions: answer contains gold, token F1, grounded (mean over answers
given), unsupported sentences that keep a citation, refusals of unanswerable and of answerable
questions, answer modes, and the answerability curve at a few thresholds.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from app.answering.citations import MARKER
from app.evals.scoring import contains_answer, token_f1

THRESHOLDS = (0.4, 0.5, 0.55, 0.6, 0.65, 0.7)


def plain(row: dict[str, Any]) -> str:
    return MARKER.sub("", row["answer"]).strip()


def mean(values: list[float] | list[bool]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def curve(good: list[dict[str, Any]], bad: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """Answerable answered / unanswerable refused, had the threshold been t."""
    score = [r["answerability"] for r in good if r["answerability"] is not None]
    other = [r["answerability"] for r in bad if r["answerability"] is not None]
    return {
        f"{t:.2f}": (mean([s >= t for s in score]), mean([s < t for s in other]))
        for t in THRESHOLDS
    }


def merge(rows: list[dict[str, Any]]) -> dict[str, Any]:
    good = [r for r in rows if r["gold"]]
    bad = [r for r in rows if not r["gold"]]
    given = [r for r in rows if r["answerable"]]
    return {
        "questions": len(rows),
        "answerable": len(good),
        "answer_contains_gold": mean([contains_answer(plain(r), r["gold"]) for r in good]),
        "contains_gold_count": sum(contains_answer(plain(r), r["gold"]) for r in good),
        "token_f1": mean([token_f1(plain(r), r["gold"]) for r in good]),
        "grounded": mean([r["grounded"] or 0.0 for r in given]),
        "unsupported_cited": sum(
            1 for r in rows for s in r["sentences"] if not s["supported"] and s["citations"]
        ),
        "unanswerable_refused": mean([not r["answerable"] for r in bad]),
        "unanswerable_refused_count": sum(not r["answerable"] for r in bad),
        "answerable_refused": mean([not r["answerable"] for r in good]),
        "answerable_refused_count": sum(not r["answerable"] for r in good),
        "modes": dict(Counter(r["answer_mode"] for r in rows)),
        "curve": curve(good, bad),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("details", nargs="+", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [json.loads(x) for p in args.details for x in p.read_text().splitlines() if x.strip()]
    result = merge(rows)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:28s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
