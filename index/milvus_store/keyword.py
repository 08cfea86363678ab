"""ragd's own BM25 (index.bm25) on Milvus: sparse vectors, per-collection term statistics, and
the exact rescoring of the candidates a sparse search finds.

A chunk's sparse vector holds, per term, tf / (tf + k1 (1 - b + b dl / avgdl)) with the mean
length at the time it was written; a query's holds qtf * idf from the collection's current
document frequencies (`<prefix>terms`), chunk count and total length (`<prefix>collections`).
The mean length drifts as the collection grows, so the search takes more candidates than
asked and scores them again exactly with today's mean length, as the FAISS store does: each
row keeps its length and the normalizer its weights used, from which its term counts follow.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.bm25 import K1, B, idf, term_scores, terms
from index.types import Hit, keyword_text

ROW_FIELDS = ["sparse", "length", "norm"]  # what rescoring reads of a row
NO_TERMS = 1 << 31  # the dimension of a chunk without terms: no term's (those are 31-bit)


def dim(term: str) -> int:
    """The sparse dimension of a term (a 31-bit hash: a rare collision only widens the
    candidates, which are scored again from their text)."""
    return int.from_bytes(hashlib.blake2b(term.encode(), digest_size=4).digest(), "big") >> 1


def term_key(collection: str, term: str) -> str:
    """The `<prefix>terms` primary key of a collection's term (fixed length, any term)."""
    return f"{collection}/{hashlib.blake2b(term.encode(), digest_size=12).hexdigest()}"


def many_chunk_terms(rows: Sequence[tuple[str, str | None]]) -> list[Counter[str]]:
    """Each chunk's term counts, of what the keyword index reads (index.types.keyword_text)."""
    texts = [keyword_text(text, heading) for text, heading in rows]
    return [Counter(found) for found in terms(texts)] if texts else []


def norm(length: int, mean_length: float) -> float:
    """BM25's length normalizer k1 (1 - b + b dl / avgdl)."""
    return K1 * (1 - B + B * length / max(mean_length, 1e-9))


def sparse_row(counts: Counter[str], mean_length: float) -> dict[str, Any]:
    """A chunk's BM25 fields: term weights tf / (tf + norm), its length, and that norm."""
    length = sum(counts.values())
    factor = norm(length, mean_length)
    weights: dict[int, float] = {}
    for term, tf in counts.items():
        weights[dim(term)] = weights.get(dim(term), 0.0) + tf / (tf + factor)
    # Milvus refuses an empty sparse vector
    return {"sparse": weights or {NO_TERMS: 1.0}, "length": length, "norm": factor}


@dataclass(frozen=True)
class Stats:
    """A collection's BM25 statistics: N, and df of the terms asked about."""

    chunks: int
    df: dict[str, int]

    def weights(self, query: dict[str, int]) -> dict[str, float]:
        """qtf * idf of each query term some chunk holds."""
        return {t: n * idf(self.chunks, self.df[t]) for t, n in query.items() if self.df.get(t)}


def query_vector(weights: dict[str, float]) -> dict[int, float]:
    vector: dict[int, float] = {}
    for term, weight in weights.items():
        vector[dim(term)] = vector.get(dim(term), 0.0) + weight
    return vector


def rescore(
    found: Iterable[tuple[Hit, dict[str, Any]]], weights: dict[str, float], mean_length: float
) -> list[Hit]:
    """The hits with their exact BM25 at today's mean length, best first (ties: lower id);
    each with its row's stored weights, length and normalizer."""
    dims = {t: dim(t) for t in weights}
    scored = [Hit(hit.chunk, _score(row, dims, weights, mean_length)) for hit, row in found]
    return sorted((h for h in scored if h.score > 0), key=lambda h: (-h.score, h.chunk.id))


def _score(
    row: dict[str, Any], dims: dict[str, int], weights: dict[str, float], mean_length: float
) -> float:
    stored, factor = row["sparse"], float(row["norm"])
    shared = [t for t, d in dims.items() if d in stored]
    if not shared:
        return 0.0
    w = np.array([stored[dims[t]] for t in shared], dtype=np.float64)
    tf = np.round(w * factor / (1 - w))  # w = tf / (tf + norm), so tf = w norm / (1 - w)
    qidf = np.array([weights[t] for t in shared], dtype=np.float64)
    length = np.float32(row["length"])  # float32, as the FAISS store keeps lengths
    return float(np.float32(term_scores(qidf, tf, length, mean_length).sum()))


def df_changes(added: Iterable[Counter[str]], removed: Iterable[Counter[str]]) -> Counter[str]:
    """How each term's document frequency changes: +1 per new chunk holding it, -1 per gone."""
    change: Counter[str] = Counter()
    for counts in added:
        change.update(dict.fromkeys(counts, 1))
    for counts in removed:
        change.subtract(dict.fromkeys(counts, 1))
    return Counter({t: n for t, n in change.items() if n})


def lengths(counts: Iterable[Counter[str]]) -> int:
    return sum(sum(c.values()) for c in counts)
