"""ragd's BM25, shared by every store: the terms (bm25s tokens, English stop words, Snowball
stems), the parameters, and the score of one term in one chunk (Lucene's variant)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

# BM25 k1 and b: Lucene's are 1.2 and 0.75; a grid on SciFact (chosen on half the queries,
# checked on the other half) and the real manuals chose 0.9 and 0.4 (README, retrieval table):
# less length normalization, so a short chunk (a title alone) no longer outranks the body.
K1, B = 0.9, 0.4
# Distinct query terms looked up at most (the first ones of the query): each costs a posting
# scan, so a query's cost is bounded whatever its length. RAGD_MAX_QUERY_TERMS sets it.
MAX_QUERY_TERMS = 64


def tokenize(texts: Sequence[str]) -> tuple[list[list[int]], dict[str, int]]:
    """Token ids per text and their vocabulary, the bm25s way."""
    import bm25s

    tokens = bm25s.tokenize(list(texts), stemmer=_stemmer(), show_progress=False)
    return tokens.ids, tokens.vocab


def terms(texts: Sequence[str]) -> list[list[str]]:
    """The terms of each text, in order, repeats kept."""
    ids, vocab = tokenize(texts) if len(texts) else ([], {})
    names = {i: term for term, i in vocab.items()}
    return [[names[i] for i in row] for row in ids]


@cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def query_terms(text: str, limit: int = MAX_QUERY_TERMS) -> dict[str, int]:
    """The first `limit` distinct terms of a query, each with how often it occurs: BM25's
    query term frequency, so a repeated word weighs more but is looked up once."""
    counts: dict[str, int] = {}
    for term in terms([text])[0]:
        if term in counts or len(counts) < limit:
            counts[term] = counts.get(term, 0) + 1
    return counts


def idf(chunks: int, df: int) -> float:
    """Lucene's inverse document frequency of a term found in `df` of `chunks` chunks."""
    return float(np.log(1 + (chunks - df + 0.5) / (df + 0.5)))


def term_scores(
    idf_: float | np.ndarray, counts: np.ndarray, lengths: Any, mean_length: float
) -> np.ndarray:
    """BM25 of one term in chunks holding it `counts` times, of `lengths` terms each."""
    norm = K1 * (1 - B + B * lengths / mean_length)
    scores: np.ndarray = idf_ * counts / (counts + norm)
    return scores
