"""Support checking: each answer sentence scored against the passages it cites (or all used).

The default checker needs no model beyond the packaged embedder: a sentence is supported when
its topic words are found in a short stretch of one passage and its meaning is close to a
sentence there, and never when it names a number or identifier the passage does not hold.
Another checker (an NLI model, a bigger LLM) fits the same `SupportChecker` protocol.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from app.answering.citations import MARKER
from app.answering.evidence import SentenceEvidence, stem, topic_words

_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")
# A token that must appear as such in the passage: numbers, snake_case, --flags, CamelCase, x.y
_EXACT = re.compile(r"\d|_|^-|[a-z][A-Z]|\w\.\w")
# The model saying it cannot answer is not a claim to check: it is a refusal.
_REFUSAL = re.compile(
    r"\b(do(es)?\s*n[o']t\s+(say|mention|contain|provide|specify|include|state)|"
    r"(not|never)\s+(mentioned|specified|stated|provided)|no information|cannot answer|"
    r"can't answer|(do|does)\s*n[o']t know|unable to (answer|find))",
    re.IGNORECASE,
)


# Small models echo the prompt's layout: "Question: ...?" is dropped, "Answer:" unlabelled.
_ECHO = re.compile(r"(question|passages?)\s*:|.*\?$", re.IGNORECASE)
_LABEL = re.compile(r"^\s*answer\s*:\s*", re.IGNORECASE)


# Words about the answer itself, not about the documents' subject.
_META = frozenset(stem(w) for w in "answer question passage document says cite".split())


class SupportChecker(Protocol):
    """Scores how well `claim` is supported by passages (indexes into the evidence), 0..1."""

    def support(self, claim: str, passages: Sequence[int]) -> tuple[float, int]:
        """The best score over `passages`, and the passage index that gives it."""
        ...


@dataclass(frozen=True)
class Claim:
    """One answer sentence: its text without markers, and the sources it cited (1-based)."""

    text: str
    cited: list[int]


@dataclass
class Checked:
    """One answer sentence after the check."""

    text: str  # as shown, markers included only when supported
    claim: str  # without markers
    supported: bool
    score: float | None  # None: nothing to check (no topic words) or a refusal
    citations: list[int] = field(default_factory=list)
    refusal: bool = False
    attributed: bool = False  # the model left it uncited; the check found its source


class OverlapChecker:
    """Topic-word overlap within a three-sentence window, combined with embedding cosine.

    The geometric mean of the two: a sentence must share the passage's words and its meaning,
    so on-topic word salad (high overlap, low cosine) fails as well as a paraphrase of
    something else (high cosine, low overlap).
    """

    def __init__(self, evidence: SentenceEvidence) -> None:
        self.evidence = evidence

    def support(self, claim: str, passages: Sequence[int]) -> tuple[float, int]:
        if not passages:
            return 0.0, -1
        vector = self.evidence.embedder.embed([claim])[0]
        scored = [(self._score(claim, vector, i), i) for i in passages]
        return max(scored)

    def _score(self, claim: str, vector: np.ndarray, i: int) -> float:
        sentences = self.evidence.vectors[i]
        cosine = float(np.max(sentences @ vector)) if len(sentences) else 0.0
        return round(math.sqrt(self._lexical(claim, i) * max(cosine, 0.0)), 4)

    def _lexical(self, claim: str, i: int) -> float:
        """Share of the claim's topic words held by the best window of three sentences that
        holds all its numbers, identifiers and names as whole tokens ("10" is not in "2010");
        0 when no window does: that part of the claim was invented."""
        wanted = {stem(w) for w in topic_words(claim)} - _META
        group = self.evidence.sentences[i]
        exact = [whole(t) for t in exact_tokens(claim)]
        windows = [" ".join(group[max(0, j - 1) : j + 2]) for j in range(len(group))]
        held = [t for t in windows if all(e.search(t) for e in exact)]
        if not wanted or not held:
            return 0.0
        return max(len(wanted & {stem(w) for w in topic_words(t)}) / len(wanted) for t in held)


def whole(token: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(token)}(?![\w])", re.IGNORECASE)


def exact_tokens(text: str) -> list[str]:
    """Numbers, identifiers and names in `text` that a supporting passage must contain."""
    tokens = [t.strip(".,;:!?()[]\"'`") for t in text.split()]
    names = [t for t in tokens[1:] if len(t) > 1 and t[0].isupper()]  # not the first word
    return list(dict.fromkeys([t for t in tokens if t and _EXACT.search(t)] + names))


def claims(answer: str, sources: int) -> list[Claim]:
    """The answer's sentences, each with the valid source numbers it cites."""
    out = []
    for part in _BREAK.split(answer.strip()):
        cited: list[int] = []
        for match in MARKER.finditer(part):
            numbers = (int(x) for x in re.split(r"\s*[,;]\s*", match.group(1)))
            cited.extend(n for n in numbers if 1 <= n <= sources and n not in cited)
        text = _LABEL.sub("", MARKER.sub("", part)).strip()
        if text and not _ECHO.match(text):
            out.append(Claim(text, cited))
    return out


def check(answer: str, checker: SupportChecker, sources: int, threshold: float) -> list[Checked]:
    """Every sentence checked against what it cites (or every source when it cites none);
    unsupported sentences keep no citation, supported uncited ones get their best source."""
    return [_check_one(claim, checker, sources, threshold) for claim in claims(answer, sources)]


def _check_one(claim: Claim, checker: SupportChecker, sources: int, threshold: float) -> Checked:
    if _REFUSAL.search(claim.text):
        return Checked(claim.text, claim.text, False, None, refusal=True)
    if not {stem(w) for w in topic_words(claim.text)} - _META:
        # "The answer is [1]." claims nothing: nothing to check, nothing to cite
        return Checked(claim.text, claim.text, True, None)
    within = [n - 1 for n in claim.cited] or list(range(sources))
    score, best = checker.support(claim.text, within)
    if score >= threshold:
        cited = claim.cited or [best + 1]
        text = _with_markers(claim.text, cited)
        return Checked(text, claim.text, True, score, cited, attributed=not claim.cited)
    if claim.cited:  # the wrong number? another used passage may state it: cite that one
        score, best = checker.support(claim.text, range(sources))
    if score < threshold:
        return Checked(claim.text, claim.text, False, score)
    text = _with_markers(claim.text, [best + 1])
    return Checked(text, claim.text, True, score, [best + 1], attributed=True)


def _with_markers(text: str, citations: list[int]) -> str:
    markers = "".join(f"[{n}]" for n in citations)
    body, end = (text[:-1], text[-1]) if text[-1:] in ".!?" else (text, "")
    return f"{body} {markers}{end}"


def grounded(checked: Sequence[Checked]) -> float:
    """Share of the answer's claims that passed the check (refusals count as failed ones,
    sentences claiming nothing are not counted); 0 when there is no claim at all."""
    claimed = [c for c in checked if c.score is not None or c.refusal]
    return round(sum(c.supported for c in claimed) / len(claimed), 4) if claimed else 0.0


def refused(checked: Sequence[Checked]) -> bool:
    return any(c.refusal for c in checked)


def render(checked: Sequence[Checked]) -> str:
    return " ".join(c.text for c in checked)
