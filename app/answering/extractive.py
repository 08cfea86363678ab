"""The extractive answer: the passage sentence(s) bearing most on the question, quoted verbatim."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from app.answering.answertype import asked_kinds, holds_kind, names_in
from app.answering.evidence import SentenceEvidence, stem, topic_words, words
from app.answering.support import Checked

# A line that ends like prose is a sentence, not the term a description follows.
_PROSE_END = re.compile(r"[.!?,;]$")
# Weight of the rarity-weighted share of question words beside the cosine. On the real-document
# set the gold answer is in the two quotes for 32 of 70 answered questions at the sentence
# ranking's 0.8 without rarity, 37 at 2, 41 at 4, 40 from 5 to 100 (the cosine breaking ties);
# held-out 19 of 22 at every weight.
WORDS = 4.0


@dataclass(frozen=True)
class Candidate:
    """A passage sentence to quote, with the term line it describes when it has one."""

    score: float
    i: int  # passage index
    j: int  # sentence index
    head: int | None = None  # index of the term line above it ("--norc", "x = fzero (f, x0)")


def extract(evidence: SentenceEvidence, most: int = 2) -> list[Checked]:
    """The most relevant sentence, then the most relevant one holding a name or number of the
    kind the question asks for ("which option..." -> a --flag), else the next most relevant;
    each quoted exactly as the passage has it and cited, after the term line it describes
    when it is the description of a manual entry (an option, a function's signature)."""
    ranked = candidates(evidence)
    question, kinds = evidence.question, asked_kinds(evidence.question)
    rest = ranked[1:]
    typed = [c for c in rest if holds_kind(quoted_text(evidence, c), question, kinds)]
    picked = _unique(evidence, ranked[:1] + (typed or rest)[:1] + rest)[:most]
    return [quote for c in picked for quote in _quotes(evidence, c)]


def candidates(evidence: SentenceEvidence) -> list[Candidate]:
    """Every quotable sentence, scored by its cosine to the question plus the share of the
    question's words it holds, each word weighted by how rare it is among the retrieved
    sentences: "introductory" and "series" tell the answer's sentence apart, "patch" does not."""
    weights = _rarity(evidence)
    rows = [
        _candidate(evidence, weights, i, j)
        for i, group in enumerate(evidence.sentences)
        for j in range(len(group))
        if _quotable(group[j])
    ]
    return sorted(rows, key=lambda c: -c.score)


def _candidate(evidence: SentenceEvidence, weights: dict[str, float], i: int, j: int) -> Candidate:
    head = _head(evidence.sentences[i], j)
    held = _stems(" ".join(evidence.sentences[i][k] for k in (head, j) if k is not None))
    share = sum(w for s, w in weights.items() if s in held) / (sum(weights.values()) or 1.0)
    cosine = float(evidence.vectors[i][j] @ evidence.question_vector)
    return Candidate(cosine + WORDS * share, i, j, head)


def _rarity(evidence: SentenceEvidence) -> dict[str, float]:
    """Each question word's inverse frequency among the retrieved sentences."""
    asked = _stems(evidence.question)
    flat = [_stems(s) for group in evidence.sentences for s in group]
    counts = Counter(s for held in flat for s in held & asked)
    return {s: math.log((len(flat) + 1) / (counts[s] + 1)) + 1 for s in asked}


def _head(group: list[str], j: int) -> int | None:
    """The line above sentence j when it is a manual entry's term: no sentence ending, and a
    name spelled like code (an option, a signature) that the description itself lacks."""
    if j == 0 or not _quotable(group[j]):
        return None
    line = group[j - 1]
    if _PROSE_END.search(line) or len(words(line)) > 30 or not names_in(line):
        return None
    return j - 1


def _stems(text: str) -> set[str]:
    return {stem(w) for w in topic_words(text)}


def _quotable(sentence: str) -> bool:
    """A sentence worth quoting: a few words, not a question, a bare heading or a fragment."""
    return len(words(sentence)) >= 4 and not sentence.endswith("?")


def quoted_text(evidence: SentenceEvidence, c: Candidate) -> str:
    return " ".join(evidence.sentences[c.i][k] for k in (c.head, c.j) if k is not None)


def _unique(evidence: SentenceEvidence, rows: list[Candidate]) -> list[Candidate]:
    """Each sentence once, even where overlapping chunks both hold it."""
    seen: dict[str, Candidate] = {}
    for c in rows:
        seen.setdefault(evidence.sentences[c.i][c.j], c)
    return list(seen.values())


def _quotes(evidence: SentenceEvidence, c: Candidate) -> list[Checked]:
    return [_quote(evidence, c.i, k) for k in (c.head, c.j) if k is not None]


def _quote(evidence: SentenceEvidence, i: int, j: int) -> Checked:
    sentence = evidence.sentences[i][j]  # verbatim: its support is the passage itself
    return Checked(f'"{sentence}" [{i + 1}]', sentence, True, 1.0, [i + 1])
