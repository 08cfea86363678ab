"""`ragd eval QA.jsonl --context-only`: what reaches the model's prompt, without generating."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from app.answering.answer import Answerer, Prepared
from app.evals.evaluate import Tick
from app.evals.qa import QAItem
from app.evals.scoring import contains_answer, percentile


@dataclass(frozen=True)
class ContextReport:
    """Over the answerable questions: does a gold answer reach the model?"""

    answerable: int
    context_contains_gold: float  # a gold answer in the text the prompt shows the model
    sources_contain_gold: float  # a gold answer in the used passages' whole chunks
    prompt_tokens_mean: float  # the equal-budget check: what the context costs
    prompt_tokens_p50: float
    passages_mean: float  # passages that fitted the prompt
    latency_p50_ms: float  # retrieval and prompt building, no generation

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class _Seen:
    shown: bool
    whole: bool
    tokens: int
    passages: int
    seconds: float


async def run_context(
    answerer: Answerer, items: Sequence[QAItem], collection: str | None, tick: Tick
) -> ContextReport:
    """Each answerable question through /api/ask's preparation (retrieve, compress, budget)."""
    answerable = [item for item in items if item.answers]
    seen = []
    for n, item in enumerate(answerable, 1):
        started = time.perf_counter()
        with answerer.queue.reserve() as slot:
            prepared = await answerer.prepare(item.question, collection, (), slot)
        seen.append(_seen(item, prepared, time.perf_counter() - started))
        tick("questions", n, len(answerable))
    return _report(seen)


def _seen(item: QAItem, prepared: Prepared, seconds: float) -> _Seen:
    used = prepared.budget.used
    shown = "\n".join(p.shown() for p in used)
    whole = "\n".join(p.chunk.text for p in used)
    return _Seen(
        contains_answer(shown, item.answers),
        contains_answer(whole, item.answers),
        prepared.budget.prompt_tokens,
        len(used),
        seconds,
    )


def _report(seen: Sequence[_Seen]) -> ContextReport:
    def mean(values: Sequence[float]) -> float:
        return round(statistics.fmean(values), 4) if values else 0.0

    return ContextReport(
        answerable=len(seen),
        context_contains_gold=mean([s.shown for s in seen]),
        sources_contain_gold=mean([s.whole for s in seen]),
        prompt_tokens_mean=round(mean([s.tokens for s in seen]), 1),
        prompt_tokens_p50=percentile([s.tokens for s in seen], 50),
        passages_mean=mean([s.passages for s in seen]),
        latency_p50_ms=round(percentile([s.seconds * 1000 for s in seen], 50), 1),
    )
