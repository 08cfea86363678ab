"""`ragd eval QA.jsonl`: ask a collection each question; score retrieval, answers, citations."""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from app.answering.answer import Answerer
from app.answering.citations import MARKER
from app.answering.evidence import SentenceEvidence
from app.answering.schemas import AskResponse
from app.evals.beir import read_jsonl
from app.evals.calibrate import Curve, SupportCalibration, abstention_curve, support_calibration
from app.evals.errors import InvalidDataset
from app.evals.evaluate import Abstention, Tick, calibrate
from app.evals.scoring import contains_answer, exact_match, percentile, token_f1


@dataclass(frozen=True)
class QAItem:
    question: str
    answers: list[str]  # empty: the documents cannot answer it, ragd should abstain
    sources: list[str]  # documents holding the answer, when known


@dataclass(frozen=True)
class QAReport:
    questions: int
    answerable: int
    k: int
    source_recall_at_k: float  # answerable questions whose answer source was retrieved
    exact_match: float
    token_f1: float
    cites_answer_source: float  # answerable questions citing a source that holds the answer
    abstained_when_unanswerable: float | None  # correct abstentions
    abstained_when_answerable: float  # false abstentions
    latency_p50_ms: float
    abstention: Abstention | None = None
    answer_contains_gold: float = 0.0  # answerable questions whose answer holds a gold answer
    grounded: float = 0.0  # mean grounded share over the answers given (not abstained)
    unsupported_cited: int = 0  # unsupported sentences that still carry a citation (must be 0)
    modes: dict[str, int] | None = None  # answers by answer_mode
    replaced: float = 0.0  # share of answers where auto replaced the generated text
    curve: Curve | None = None  # answerability threshold -> answered / refused
    support: SupportCalibration | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def load_qa(path: Path) -> list[QAItem]:
    """One JSON object per line: question, answers (list, may be empty), optional source(s)."""
    items = []
    for row in read_jsonl(path):
        question, answers = row.get("question"), row.get("answers", [])
        if not isinstance(question, str) or not isinstance(answers, list):
            raise InvalidDataset(f'{path}: each line needs "question" and "answers": [...]')
        sources = row.get("sources", [row["source"]] if "source" in row else [])
        sources = sources if isinstance(sources, list) else [sources]
        items.append(QAItem(question, [str(a) for a in answers], [str(s) for s in sources]))
    if not items:
        raise InvalidDataset(f"{path} holds no questions")
    return items


@dataclass(frozen=True)
class _Outcome:
    item: QAItem
    response: AskResponse
    seconds: float
    evidence: SentenceEvidence | None = None  # the used passages, for the support calibration


async def run_qa(
    answerer: Answerer,
    items: Sequence[QAItem],
    collection: str | None,
    tick: Tick,
    details: Path | None = None,
) -> QAReport:
    """Each question through the real /api/ask path (retrieve, abstain or generate, cite)."""
    outcomes = []
    for n, item in enumerate(items, 1):
        started = time.perf_counter()
        with answerer.queue.reserve() as slot:
            prepared = await answerer.prepare(item.question, collection, (), slot)
            response = await answerer.complete(prepared)
        seconds = time.perf_counter() - started
        outcomes.append(_Outcome(item, response, seconds, prepared.sentences))
        tick("questions", n, len(items))
    threshold = answerer.threshold(collection)
    report = score_qa(outcomes, answerer.services.settings.top_k, threshold)
    pairs = [(o.item.answers, o.response, o.evidence) for o in outcomes]
    if details is not None:
        write_details(details, outcomes)
    return replace(report, support=support_calibration(pairs))


def write_details(path: Path, outcomes: Sequence[_Outcome]) -> None:
    """One JSON line per question: the gold answers and ragd's whole response."""
    with path.open("w") as out:
        for o in outcomes:
            row = {"question": o.item.question, "gold": o.item.answers}
            out.write(json.dumps({**row, **o.response.model_dump(exclude={"sources"})}) + "\n")


def score_qa(outcomes: Sequence[_Outcome], k: int, threshold: float) -> QAReport:
    answerable = [o for o in outcomes if o.item.answers]
    unanswerable = [o for o in outcomes if not o.item.answers]
    answered = [o for o in outcomes if o.response.answerable]
    return QAReport(
        questions=len(outcomes),
        answerable=len(answerable),
        k=k,
        source_recall_at_k=_mean(answerable, _retrieved),
        exact_match=_mean(answerable, lambda o: exact_match(_plain(o), o.item.answers)),
        token_f1=_mean(answerable, lambda o: token_f1(_plain(o), o.item.answers)),
        cites_answer_source=_mean(answerable, _cites_answer),
        abstained_when_unanswerable=(
            _mean(unanswerable, lambda o: not o.response.answerable) if unanswerable else None
        ),
        abstained_when_answerable=_mean(answerable, lambda o: not o.response.answerable),
        latency_p50_ms=round(percentile([o.seconds * 1000 for o in outcomes], 50), 1),
        abstention=_abstention(answerable, unanswerable, threshold),
        answer_contains_gold=_mean(
            answerable, lambda o: contains_answer(_plain(o), o.item.answers)
        ),
        grounded=_mean(answered, lambda o: o.response.grounded or 0.0),
        unsupported_cited=sum(
            1 for o in outcomes for s in o.response.sentences if not s.supported and s.citations
        ),
        modes=dict(Counter(o.response.answer_mode for o in outcomes)),
        replaced=_mean(outcomes, lambda o: o.response.replaced),
        curve=abstention_curve(_answerability(answerable), _answerability(unanswerable), threshold),
    )


def _contains_gold(o: _Outcome) -> bool:
    return contains_answer(_plain(o), o.item.answers)


def _answerability(outcomes: Sequence[_Outcome]) -> list[float]:
    return [o.response.answerability for o in outcomes if o.response.answerability is not None]


def _abstention(
    answerable: Sequence[_Outcome], unanswerable: Sequence[_Outcome], threshold: float
) -> Abstention | None:
    if not _answerability(answerable):
        return None
    return calibrate(_answerability(answerable), _answerability(unanswerable), threshold)


def _plain(outcome: _Outcome) -> str:
    return MARKER.sub("", outcome.response.answer).strip()


def _holds_answer(item: QAItem, source: str, text: str) -> bool:
    return source in item.sources if item.sources else contains_answer(text, item.answers)


def _retrieved(o: _Outcome) -> bool:
    return any(_holds_answer(o.item, s.source, s.text) for s in o.response.sources)


def _cites_answer(o: _Outcome) -> bool:
    return any(_holds_answer(o.item, s.source, s.text) for s in o.response.sources if s.cited)


def _mean(outcomes: Sequence[_Outcome], value: Callable[[_Outcome], float | bool]) -> float:
    if not outcomes:
        return 0.0
    return round(statistics.fmean(float(value(o)) for o in outcomes), 4)
