"""Re-judge saved answers: retrieval and evidence once (cached), then only checking/extraction.

    python -m bench.realdocs.replay QA.jsonl DETAILS.jsonl... --collection NAME --cache FILE

Retrieval, the abstention decision and the used passages come from the real `prepare` path
(cached in FILE after the first run); the model's text comes from saved `--details` files, so
a change to the support check or the extractive answer is measured in a minute, not the ten
of a generative eval. Valid while the prompt (and so the generation) is unchanged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pickle
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from app.answering.answer import Answerer
from app.answering.checking import judge
from app.answering.citations import MARKER
from app.answering.evidence import SentenceEvidence, sentences_of
from app.answering.queue import GenerationQueue
from app.answering.services import Services
from app.evals.qa import load_qa
from app.evals.scoring import contains_answer, token_f1
from config.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="replay")
    parser.add_argument("qa", type=Path)
    parser.add_argument("details", type=Path, nargs="+")
    parser.add_argument("--collection", required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--out", type=Path, help="per-question rows (JSON lines)")
    args = parser.parse_args(argv)
    settings = Settings()
    generated = _generated(args.details)
    with Services.load(settings) as services:
        cases = _cases(services, args.qa, args.collection, args.cache)
        rows = [
            _replay(services, settings, case, generated.get(case["question"], "")) for case in cases
        ]
    _report(rows)
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return 0


def _generated(paths: list[Path]) -> dict[str, str]:
    """The model's own text per question: `generated_answer` when replaced, else the answer."""
    out = {}
    for path in paths:
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if row["answer_mode"] in ("generative", "extractive"):
                out[row["question"]] = row.get("generated_answer") or row["answer"]
    return out


def _cases(services: Services, qa: Path, collection: str, cache: Path) -> list[dict[str, Any]]:
    if cache.exists():
        cases: list[dict[str, Any]] = pickle.loads(cache.read_bytes())
        return cases
    answerer = Answerer(services, GenerationQueue(services.generator))
    cases = [asyncio.run(_prepare(answerer, item, collection)) for item in load_qa(qa)]
    cache.write_bytes(pickle.dumps(cases))
    return cases


async def _prepare(answerer: Answerer, item: Any, collection: str) -> dict[str, Any]:
    with answerer.queue.reserve() as slot:
        prepared = await answerer.prepare(item.question, collection, (), slot)
    ev = prepared.sentences
    print(".", end="", file=sys.stderr, flush=True)
    return {
        "question": item.question,
        "gold": item.answers,
        "abstain": prepared.abstain,
        "passages": ev.passages if ev else [],
        "vectors": ev.vectors if ev else [],
        "question_vector": ev.question_vector if ev else None,
    }


def _evidence(services: Services, case: dict[str, Any]) -> SentenceEvidence:
    """The cached evidence, its sentence split and relevance recomputed by the current code."""
    ev = SentenceEvidence.__new__(SentenceEvidence)
    ev.question, ev.passages, ev.embedder = case["question"], case["passages"], services.embedder
    ev.sentences = [sentences_of(p.chunk.text) for p in ev.passages]
    ev.question_vector, ev.vectors = case["question_vector"], case["vectors"]
    if any(len(s) != len(v) for s, v in zip(ev.sentences, ev.vectors, strict=True)):
        raise SystemExit("sentence split changed: delete the cache")
    ev.relevance = [ev._relevance(i) for i in range(len(ev.passages))]
    return ev


def _replay(
    services: Services, settings: Settings, case: dict[str, Any], text: str
) -> dict[str, Any]:
    row = {"question": case["question"], "gold": case["gold"]}
    if case["abstain"] or not case["passages"]:
        return {**row, "mode": "abstained", "answer": "", "unsupported_cited": 0}
    verdict = judge(text, _evidence(services, case), settings, settings.answer_mode == "extractive")
    answer = MARKER.sub("", verdict.answer).strip()
    bad = sum(1 for c in verdict.sentences if not c.supported and c.citations)
    return {
        **row,
        "mode": verdict.mode,
        "answer": answer,
        "generated": text,
        "unsupported_cited": bad,
    }


def _report(rows: list[dict[str, Any]]) -> None:
    answerable = [r for r in rows if r["gold"]]
    hits = sum(contains_answer(r["answer"], r["gold"]) for r in answerable)
    f1 = sum(token_f1(r["answer"], r["gold"]) for r in answerable) / max(1, len(answerable))
    bad = sum(r["unsupported_cited"] for r in rows)
    modes = Counter(r["mode"] for r in rows)
    share = 100 * hits / max(1, len(answerable))
    print(f"contains gold {hits}/{len(answerable)} ({share:.1f}%)  F1 {f1:.3f}", end="  ")
    print(f"unsupported cited {bad}  modes {dict(modes)}")


if __name__ == "__main__":
    raise SystemExit(main())
