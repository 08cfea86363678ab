"""Citations a program can check: [n] markers kept only when n names a provided source."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.chunker import split_sentences

MARKER = re.compile(r"\s?\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_WORD = re.compile(r"\w+")
_STOP = frozenset(
    """a an and are as at be by can do does for from has have how i in is it its of on or that
    the this to was were what when where which who will with you your""".split()
)


@dataclass(frozen=True)
class Cited:
    answer: str  # with invalid markers removed
    cited: list[int]  # valid source numbers in order of first mention
    removed: int  # invalid markers dropped


def filter_citations(answer: str, sources: int) -> Cited:
    """Keep [n] for 1 <= n <= sources; drop the rest and count them."""
    cited: list[int] = []
    removed = 0

    def keep(match: re.Match[str]) -> str:
        nonlocal removed
        numbers = [int(x) for x in re.split(r"\s*[,;]\s*", match.group(1))]
        valid = [n for n in numbers if 1 <= n <= sources]
        removed += len(numbers) - len(valid)
        cited.extend(n for n in valid if n not in cited)
        lead = match.group(0)[: len(match.group(0)) - len(match.group(0).lstrip())]
        return lead + "".join(f"[{n}]" for n in valid) if valid else ""

    return Cited(MARKER.sub(keep, answer).strip(), cited, removed)


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1}


def best_quote(chunk_text: str, answer: str, max_sentences: int = 2) -> str:
    """The chunk's sentence(s) sharing the most content words with the answer."""
    # Lines first: a heading on its own line is not part of the sentence after it, and it is
    # no evidence either, so whole sentences are preferred when the chunk has any.
    pieces = [s for line in chunk_text.split("\n") for s in split_sentences(line)]
    sentences = [s for s in pieces if s.endswith((".", "!", "?", ":"))] or pieces
    if not sentences:
        return ""
    target = content_words(answer)
    ranked = sorted(range(len(sentences)), key=lambda i: -len(content_words(sentences[i]) & target))
    best = sorted(i for i in ranked[:max_sentences] if content_words(sentences[i]) & target)
    return " ".join(sentences[i] for i in (best or ranked[:1]))


_SENTENCE_BREAK = re.compile(r"(?<=[.!?])(\s+)")
_TRAILING = re.compile(r"([.!?:;]*)$")


def attribute(answer: str, passages: list[str], min_share: float = 0.5) -> tuple[str, int]:
    """Mark uncited answer sentences with the passage holding most of their content words.

    A sentence gets `[n]` only when passage n contains at least `min_share` of its (three or
    more) content words; returns the new answer and how many markers were added.
    """
    vocab = [content_words(p) for p in passages]
    parts = _SENTENCE_BREAK.split(answer)
    added = 0
    for i in range(0, len(parts), 2):
        n = _supporting(parts[i], vocab, min_share)
        if n:
            parts[i] = _TRAILING.sub(lambda m, n=n: f" [{n}]{m.group(1)}", parts[i].rstrip(), 1)
            added += 1
    return "".join(parts), added


def _supporting(sentence: str, vocab: list[set[str]], min_share: float) -> int:
    words = content_words(sentence)
    if MARKER.search(sentence) or len(words) < 3 or not vocab:
        return 0
    shares = [len(words & v) / len(words) for v in vocab]
    best = max(range(len(shares)), key=shares.__getitem__)
    return best + 1 if shares[best] >= min_share else 0


def citing_sentences(answer: str, n: int) -> str:
    """The answer sentences that cite [n], or the whole answer when none does."""
    marker = f"[{n}]"
    hits = [s for s in _SENTENCE_BREAK.split(answer) if marker in s]
    return " ".join(hits) or answer
