"""How much of a question the best passage covers, each word weighed by its rarity in the corpus.

A near miss ("How do I create a stored procedure in SQLite?") is made of words the manuals use,
and the passages retrieved for it hold the common ones ("create", "SQLite") but not the rare word
that names the missing concept ("procedure"). Counting every word alike, such a passage covers
three words in four, as much as a passage that answers; weighing each word by how few chunks
hold it, the missing rare word costs most of the coverage. The weight saturates: every word at
least `CAP` chunks hold weighs the same, so the rule reads the same on 15 chunks and on 11,000.
Rare names are also looked up part by part ("lighttpd.conf": "lighttpd" and "conf"), and a
name the collection mentions only in passing, in a chunk or two no retrieved passage is among,
counts as one it never mentions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from app.answering.evidence import stem, topic_words
from index.bm25 import query_terms

# Chunks counted per word at most: 200 of 11,167 real-manual chunks is "common" there; on the
# real set a weight saturating at 200 kept 90% of the answerable questions while refusing 21
# of 22 unanswerable ones against 19 counting words alike (50: 20, 500: 21).
CAP = 200

Counter = Callable[[str, int], int]  # (word, cap) -> chunks holding it, at most cap
TokenCounter = Callable[[Sequence[str]], list[int]]  # the embedder's tokens per text

# A name at most this many chunks hold is mentioned in passing: Apache's manual names nginx
# once. 1 to 10 refused the same near misses on four QA sets; 5 and 10 also one answerable
# question (its rare word "leftover" is in 4 of 11,167 chunks, none retrieved).
PASSING = 2
# ... and only where those chunks are a sliver of the collection (at most 1 in 500): on the
# demo's 15 chunks a word one chunk holds is a topic of the collection, not a passing mention.
PASSING_SHARE = 1 / 500


def frequencies(question: str, count: Counter) -> dict[str, int]:
    """Each topic word of the question -> how many chunks hold it (at most CAP). Words that
    keyword search ignores (stop words such as "through") are left out: unweighable."""
    return {w: count(w, CAP) for w in sorted(topic_words(question)) if query_terms(w)}


def weight(chunks: int) -> float:
    """Inverse document frequency with the count capped: log(1 + CAP / (1 + chunks))."""
    return math.log(1 + CAP / (1 + min(chunks, CAP)))


def weighted_coverage(question: str, passages: Iterable[str], counts: Mapping[str, int]) -> float:
    """The largest rarity-weighted share of the question's topic words one passage holds.
    A word without a count (keyword search ignores it) weighs as a common word."""
    weights: dict[str, float] = {}
    for word in topic_words(question):
        w = weight(counts.get(word, CAP))
        weights[stem(word)] = max(w, weights.get(stem(word), 0.0))
    total = sum(weights.values())
    if not total:
        return 1.0
    held = ({stem(w) for w in topic_words(p)} for p in passages)
    return max((sum(weights[s] for s in weights.keys() & h) / total for h in held), default=0.0)


def name_parts(word: str) -> list[str]:
    """The pieces keyword search sees of a word: "lighttpd.conf" -> lighttpd, conf; a
    snake_case name stays whole. Looking a dotted name up whole finds it wherever "conf" is."""
    return re.findall(r"\w+", word)


def rare_parts(question: str, count_tokens: TokenCounter) -> dict[str, list[str]]:
    """Each topic word of the question -> its rare parts, the whole word first ("two-factor":
    found wherever either part is), where it has any. Rare: the embedder's vocabulary splits it
    into pieces (a product or identifier name, not "weekly"). Numbers and short parts are left
    out: keyword tokenizers split them."""
    parts = {
        w: [p for p in dict.fromkeys([w, *name_parts(w)]) if _checkable(p)]
        for w in sorted(topic_words(question))
    }
    flat = sorted({p for group in parts.values() for p in group})
    if not flat:
        return {}
    rare = {p for p, n in zip(flat, count_tokens(flat), strict=True) if n > 1}
    found = {w: [p for p in group if p in rare] for w, group in parts.items()}
    return {w: group for w, group in found.items() if group}


def _checkable(part: str) -> bool:
    return sum(c.isalpha() for c in part) >= 3 and not any(c.isdigit() for c in part)


def in_passing(hits: int, chunks: int) -> bool:
    """Whether a name `hits` of `chunks` chunks hold is only mentioned in passing there."""
    return 0 < hits <= PASSING and hits <= chunks * PASSING_SHARE
