"""ragd's own BM25 (index.bm25) on Milvus: sparse vectors, per-collection term statistics, and
the exact rescoring of the candidates a sparse search finds.

A chunk's sparse vector holds, per term, tf / (tf + k1 (1 - b + b dl / avgdl)) with the mean
length at the time it was written; a query's holds qtf * idf from the collection's current
document frequencies (`<prefix>terms`), chunk count and total length (`<prefix>collections`).
The mean length drifts as the collection grows, so the search takes more candidates than
asked and scores them again exactly (terms counted from their text), as the FAISS store does.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from index.bm25 import K1, B, idf, term_scores, terms
from index.types import ChunkRow, Hit, keyword_text


NO_TERMS = 1 << 31  # the dimension of a chunk without terms: no term's (those are 31-bit)


def dim(term: str) -> int:
    """The sparse dimension of a term (a 31-bit hash: a rare collision only widens the
    candidates, which are scored again from their text)."""
    return int.from_bytes(hashlib.blake2b(term.encode(), digest_size=4).digest(), "big") >> 1


def term_key(collection: str, term: str) -> str:
    """The `<prefix>terms` primary key of a collection's term (fixed length, any term)."""
    return f"{collection}/{hashlib.blake2b(term.encode(), digest_size=12).hexdigest()}"


def chunk_terms(text: str, heading: str | None) -> Counter[str]:
    """A chunk's term counts, of what the keyword index reads (index.types.keyword_text)."""
    return Counter(terms([keyword_text(text, heading)])[0])


def many_chunk_terms(rows: Sequence[tuple[str, str | None]]) -> list[Counter[str]]:
    texts = [keyword_text(text, heading) for text, heading in rows]
    return [Counter(found) for found in terms(texts)] if texts else []


def sparse(counts: Counter[str], mean_length: float) -> dict[int, float]:
    """A chunk's BM25 term weights for a collection whose chunks average `mean_length` terms."""
    length = sum(counts.values())
    norm = K1 * (1 - B + B * length / max(mean_length, 1e-9))
    weights: dict[int, float] = {}
    for term, tf in counts.items():
        weights[dim(term)] = weights.get(dim(term), 0.0) + tf / (tf + norm)
    return weights or {NO_TERMS: 1.0}  # Milvus refuses an empty sparse vector


@dataclass(frozen=True)
class Stats:
    """A collection's BM25 statistics: N, the total length, and df of the terms asked about."""

    chunks: int
    length: int
    df: dict[str, int]

    @property
    def mean_length(self) -> float:
        return self.length / self.chunks if self.chunks else 1.0

    def weights(self, query: dict[str, int]) -> dict[str, float]:
        """qtf * idf of each query term some chunk holds."""
        return {t: n * idf(self.chunks, self.df[t]) for t, n in query.items() if self.df.get(t)}


def query_vector(weights: dict[str, float]) -> dict[int, float]:
    vector: dict[int, float] = {}
    for term, weight in weights.items():
        vector[dim(term)] = vector.get(dim(term), 0.0) + weight
    return vector


def rescore(hits: Iterable[Hit], weights: dict[str, float], mean_length: float) -> list[Hit]:
    """The hits with their exact BM25, best first (ties: the lower chunk id)."""
    found = list(hits)
    counts = many_chunk_terms([(h.chunk.text, h.chunk.heading) for h in found])
    pairs = zip(found, counts, strict=True)
    scored = [Hit(h.chunk, _score(c, weights, mean_length)) for h, c in pairs]
    scored = [h for h in scored if h.score > 0]
    return sorted(scored, key=lambda h: (-h.score, h.chunk.id))


def _score(counts: Counter[str], weights: dict[str, float], mean_length: float) -> float:
    shared = [t for t in weights if t in counts]
    if not shared:
        return 0.0
    tf = np.array([counts[t] for t in shared], dtype=np.float64)
    qidf = np.array([weights[t] for t in shared], dtype=np.float64)
    length = np.float32(sum(counts.values()))  # float32, as the FAISS store keeps lengths
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


def chunk_rows_terms(chunks: Sequence[ChunkRow]) -> list[Counter[str]]:
    return many_chunk_terms([(c.text, c.heading) for c in chunks])
