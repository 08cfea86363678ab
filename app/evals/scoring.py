"""Evaluation metrics: ranking (nDCG, recall, MRR as BEIR computes them), SQuAD answer scores."""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence


def ndcg_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """nDCG@k with linear gains rel / log2(rank + 1), as trec_eval's ndcg_cut (used by BEIR).

    A document repeated in `ranked` (several chunks of it) gains only at its first rank: the
    repeats take places in the top k without adding anything.
    """
    gains = [
        relevant.get(doc, 0) if doc not in ranked[:rank] else 0
        for rank, doc in enumerate(ranked[:k])
    ]
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    best = _dcg(ideal)
    return _dcg(gains) / best if best > 0 else 0.0


def _dcg(gains: Sequence[int]) -> float:
    return sum(g / math.log2(rank + 1) for rank, g in enumerate(gains, 1) if g > 0)


def recall_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """Share of the relevant documents found in the first k."""
    wanted = {doc for doc, grade in relevant.items() if grade > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def mrr_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """1 / rank of the first relevant document within the first k, else 0."""
    for rank, doc in enumerate(ranked[:k], 1):
        if relevant.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation, as numpy's default."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD normalization: lower case, no punctuation, no articles, single spaces."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split())


def exact_match(prediction: str, answers: Sequence[str]) -> float:
    """1.0 when the normalized prediction equals a normalized gold answer."""
    return max(
        (float(normalize_answer(prediction) == normalize_answer(a)) for a in answers), default=0.0
    )


def token_f1(prediction: str, answers: Sequence[str]) -> float:
    """The best SQuAD token F1 of the prediction against the gold answers."""
    return max(
        (_f1(normalize_answer(prediction).split(), normalize_answer(a).split()) for a in answers),
        default=0.0,
    )


def _f1(predicted: list[str], gold: list[str]) -> float:
    common = sum((Counter(predicted) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def contains_answer(text: str, answers: Sequence[str]) -> bool:
    """Whether a normalized gold answer appears in the normalized text."""
    haystack = f" {normalize_answer(text)} "
    return any(f" {normalize_answer(a)} " in haystack for a in answers if normalize_answer(a))
