"""Sentence-level evidence: which passage sentences bear on the question, and how strongly."""

from __future__ import annotations

import copy
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from app.answering.prompt import Passage
from ingest.chunker import split_sentences
from models.embedder import Embedder

_WORD = re.compile(r"[\w][\w.+#/-]*[\w+#]|\w")
# Words a question is made of whatever it asks: they say nothing about the topic.
_GENERIC = frozenset(
    """a an and are as at be by can could do does did for from has have how i in is it its of on
    or that the this to was were what when where which who whom whose why will with would you
    your my me we our there their them they should shall may might must not no yes if then than
    so such any some all each every one way use used using make made get set tell give take want
    need does done kind type name called mean means default also about into out up down more most
    much many long large small big new old first last happen happens work works way ways""".split()
)
# Words match on their first letters once a common ending is off ("meeting" ~ "meet").
_STEM = 6
# Weight of shared question words beside the cosine when ranking passage sentences: 0.8 put
# the gold answer in the top two sentences for 30% of the manual questions against 25% at 0.3
# (90% of the demo questions at both).
LEXICAL = 0.8
_SUFFIX = re.compile(r"(?<=\w\w\w)(ing|ed|es|s|ly|er|ers)$")


def words(text: str) -> list[str]:
    """Lower-case words, keeping identifiers (snake_case, --flags, file.ext, C++) whole."""
    return [w.strip(".-/").lower() or w.lower() for w in _WORD.findall(text)]


def topic_words(text: str) -> set[str]:
    """The words of `text` that carry its topic (no question words, no one-letter words)."""
    return {w for w in words(text) if w not in _GENERIC and len(w) > 1}


def stem(word: str) -> str:
    return _SUFFIX.sub("", word)[:_STEM] if word.isalpha() else word


def sentences_of(text: str) -> list[str]:
    """A chunk's sentences; lines first, so a heading is never glued to the next sentence."""
    return [s for line in text.split("\n") for s in split_sentences(line.strip()) if s]


@dataclass(frozen=True)
class Features:
    """What tells answerable questions from unanswerable ones, each in 0..1 (or -1..1)."""

    dense: float  # cosine of the nearest chunk (whole-chunk embedding)
    sentence: float  # cosine of the nearest passage sentence
    coverage: float  # share of the question's topic words found in the best passage
    agreement: float  # share of the dense top 3 documents that keyword search ranks top 10
    unknown: int = 0  # question words that no chunk of the collection contains
    baseline: float = 0.0  # the collection's off-topic probes' mean raw score (0: none)
    passing: int = 0  # rare question words a chunk or two mention, no used passage among them

    def raw(self) -> float:
        """The nearest sentence's cosine, scaled by how much of the question the best passage
        covers, and halved for each rare question word the collection never uses or the
        passages do not hold while it is mentioned only in passing."""
        base = 0.5 * self.sentence * (1 + self.coverage)
        return round(base * 0.5 ** (self.unknown + self.passing), 4)

    def score(self) -> float:
        """One answerability number, 0..1; RAGD_ABSTAIN_BELOW (or the collection's) cuts it:
        the share of the raw score above what off-topic questions get from this collection."""
        if self.baseline <= 0:
            return self.raw()
        raw = self.raw()
        return round(max(0.0, 1 - self.baseline / raw), 4) if raw > 0 else 0.0


class SentenceEvidence:
    """The used passages split into sentences, each embedded once and scored for the question."""

    def __init__(self, embedder: Embedder, question: str, passages: Sequence[Passage]) -> None:
        self.question = question
        self.passages = list(passages)
        self.sentences = [sentences_of(p.chunk.text) for p in self.passages]
        flat = [s for group in self.sentences for s in group]
        vectors = embedder.embed([question, *flat]) if flat else embedder.embed([question])
        self.question_vector = vectors[0]
        self.vectors = self._grouped(vectors[1:])
        self.embedder = embedder
        self.relevance = [self._relevance(i) for i in range(len(self.passages))]

    def _grouped(self, flat: np.ndarray) -> list[np.ndarray]:
        groups, start = [], 0
        for group in self.sentences:
            groups.append(flat[start : start + len(group)])
            start += len(group)
        return groups

    def _relevance(self, i: int) -> list[float]:
        """Each sentence's closeness to the question: cosine, plus shared topic words."""
        cosines = self.vectors[i] @ self.question_vector if len(self.sentences[i]) else []
        asked = {stem(w) for w in topic_words(self.question)}
        scores = [
            float(c) + LEXICAL * _share(asked, {stem(w) for w in topic_words(s)})
            for c, s in zip(cosines, self.sentences[i], strict=True)
        ]
        for j in range(len(scores) - 1):  # a FAQ's question matches; the next sentence answers
            if self.sentences[i][j].endswith("?"):
                scores[j + 1] = max(scores[j + 1], scores[j])
        return scores

    def only(self, chunk_ids: Sequence[int]) -> SentenceEvidence:
        """The same evidence restricted to the passages that made it into the prompt, in order."""
        keep = [next(i for i, p in enumerate(self.passages) if p.chunk.id == c) for c in chunk_ids]
        other = copy.copy(self)
        other.passages = [self.passages[i] for i in keep]
        other.sentences = [self.sentences[i] for i in keep]
        other.vectors = [self.vectors[i] for i in keep]
        other.relevance = [self.relevance[i] for i in keep]
        return other

    def best_sentence_cosine(self) -> float:
        tops = [float(np.max(v @ self.question_vector)) for v in self.vectors if len(v)]
        return max(tops, default=0.0)

    def coverage(self) -> float:
        """Share of the question's topic words that the best-covering passage holds."""
        asked = {stem(w) for w in topic_words(self.question)}
        if not asked:
            return 1.0
        held = [{stem(w) for w in topic_words(p.chunk.text)} for p in self.passages]
        return max((_share(asked, h) for h in held), default=0.0)

    def best(self, i: int, keep: int) -> list[int]:
        """The `keep` sentences of passage i bearing most on the question."""
        return sorted(range(len(self.sentences[i])), key=lambda j: -self.relevance[i][j])[:keep]

    def compressed(self, i: int, keep: int, window: int = 1, also: Collection[int] = ()) -> str:
        """Passage i cut to its `keep` most relevant sentences and `window` neighbours each,
        plus the sentences `also` names, in document order; skipped stretches are marked with
        an ellipsis."""
        group = self.sentences[i]
        if len(group) <= keep + 2 * window:
            return self.passages[i].chunk.text
        near = {k for j in self.best(i, keep) for k in range(j - window, j + window + 1)}
        chosen = sorted((near | set(also)) & set(range(len(group))))
        pieces, last = [], -1
        for j in chosen:
            pieces.append(("… " if j != last + 1 else "") + group[j])
            last = j
        return " ".join(pieces) + (" …" if last < len(group) - 1 else "")

    def ranked(self) -> list[tuple[float, int, int]]:
        """Every sentence as (relevance, passage index, sentence index), most relevant first."""
        rows = [
            (score, i, j)
            for i, scores in enumerate(self.relevance)
            for j, score in enumerate(scores)
            if _is_prose(self.sentences[i][j])
        ]
        return sorted(rows, key=lambda r: -r[0])


def _is_prose(sentence: str) -> bool:
    """A sentence worth quoting: a few words, not a question, a bare heading or a fragment."""
    return len(words(sentence)) >= 4 and not sentence.endswith("?")


def _share(wanted: set[str], held: set[str]) -> float:
    return len(wanted & held) / len(wanted) if wanted else 0.0


def agreement(dense_docs: Sequence[str], keyword_docs: Sequence[str]) -> float:
    """Share of the dense side's top 3 documents that keyword search also ranks in its top 10."""
    top = list(dict.fromkeys(dense_docs))[:3]
    if not top:
        return 0.0
    return sum(1 for d in top if d in set(keyword_docs[:10])) / len(top)
