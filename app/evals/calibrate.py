"""Calibration from a QA run: the abstention curve and threshold to write; the support check."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.answering.evidence import SentenceEvidence
from app.answering.schemas import AskResponse
from app.answering.support import OverlapChecker, claims
from app.evals.scoring import contains_answer

MOST_REFUSED = 0.10  # a written threshold refuses at most this share of answerable questions
CUTS = [c / 100 for c in range(0, 101)]


@dataclass(frozen=True)
class Point:
    threshold: float
    answered: float  # share of answerable questions at or above it
    refused: float | None  # share of unanswerable questions below it


@dataclass(frozen=True)
class Curve:
    """Answerability thresholds against answered / refused, and the one to write."""

    current: Point
    suggested: Point  # refuses most unanswerable while answering >= 90% of answerable
    points: list[Point] = field(default_factory=list)  # every 0.05


def abstention_curve(
    answerable: Sequence[float], unanswerable: Sequence[float], threshold: float
) -> Curve | None:
    if not answerable:
        return None
    points = [_point(c, answerable, unanswerable) for c in CUTS]
    allowed = [p for p in points if p.answered >= 1 - MOST_REFUSED]
    best = max((p.refused or 0.0 for p in allowed), default=0.0)
    plateau = [p for p in allowed if (p.refused or 0.0) == best] or points[:1]
    suggested = plateau[len(plateau) // 2]  # the middle: margin on both sides
    every = [p for p in points if round(p.threshold * 100) % 5 == 0]
    return Curve(_point(threshold, answerable, unanswerable), suggested, every)


def _point(cut: float, answerable: Sequence[float], unanswerable: Sequence[float]) -> Point:
    answered = sum(a >= cut for a in answerable) / len(answerable)
    refused = sum(u < cut for u in unanswerable) / len(unanswerable) if unanswerable else None
    return Point(cut, round(answered, 4), None if refused is None else round(refused, 4))


@dataclass(frozen=True)
class SupportCalibration:
    """Support scores of generated sentences that state the gold answer, against the passages
    they came from (supported) and against another question's passages (unsupported)."""

    supported: int
    unsupported: int
    supported_p50: float | None
    unsupported_p90: float | None
    suggested: float | None  # the cut with the best balanced accuracy
    balanced_accuracy: float | None


Pair = tuple[list[str], AskResponse, SentenceEvidence | None]


def support_calibration(pairs: Sequence[Pair]) -> SupportCalibration:
    """Score each gold-stating sentence on its own and on the next question's passages."""
    usable = [(a, r, e) for a, r, e in pairs if a and e is not None and e.passages]
    good: list[float] = []
    bad: list[float] = []
    for answers, response, evidence in usable:
        other = _unrelated(evidence, [e for _, _, e in usable])
        for claim in _gold_claims(answers, response):
            good.append(_score(evidence, claim))
            if other is not None:
                bad.append(_score(other, claim))
    return _summary(good, bad)


def _unrelated(
    mine: SentenceEvidence | None, others: Sequence[SentenceEvidence | None]
) -> SentenceEvidence | None:
    """Another question's passages sharing no document with these: they cannot support it."""
    docs = {p.chunk.doc_id for p in mine.passages} if mine else set()
    for other in others:
        if other is not None and not docs & {p.chunk.doc_id for p in other.passages}:
            return other
    return None


def _gold_claims(answers: list[str], response: AskResponse) -> list[str]:
    # the model's own sentences only: a verbatim quote would score itself
    mine = response.answer if response.answer_mode == "generative" else ""
    text = response.generated_answer if response.replaced else mine
    if not text:
        return []
    return [c.text for c in claims(text, 50) if contains_answer(c.text, answers)]


def _score(evidence: SentenceEvidence | None, claim: str) -> float:
    if evidence is None:
        return 0.0
    return OverlapChecker(evidence).support(claim, range(len(evidence.passages)))[0]


def _summary(good: list[float], bad: list[float]) -> SupportCalibration:
    if not good or not bad:
        return SupportCalibration(len(good), len(bad), None, None, None, None)
    accuracy = {c: _balanced(c, good, bad) for c in CUTS}
    best = max(CUTS, key=lambda c: (accuracy[c], -abs(c - 0.5)))
    return SupportCalibration(
        len(good),
        len(bad),
        round(statistics.median(good), 4),
        round(sorted(bad)[int(0.9 * (len(bad) - 1))], 4),
        best,
        round(accuracy[best], 4),
    )


def _balanced(cut: float, good: list[float], bad: list[float]) -> float:
    return (sum(g >= cut for g in good) / len(good) + sum(b < cut for b in bad) / len(bad)) / 2
