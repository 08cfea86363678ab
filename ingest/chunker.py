"""Token-aware chunking: sentences packed up to a token budget the embedder never truncates."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from ingest.loaders.blocks import Block
from ingest.normalize import split_long

CHUNKER_VERSION = "sentences-tokens-v1"
# Characters per token a chunk may average at most: English runs about 4.5, long words and
# numbers 6 to 10; only text of tokenless characters comes near, and it is cut here.
CHARS_PER_TOKEN = 16
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")


class Tokenizer(Protocol):
    """The part of the Embedder the chunker needs."""

    max_tokens: int
    special_tokens: int

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def split_tokens(self, text: str, max_tokens: int) -> list[str]: ...


@dataclass(frozen=True)
class Chunk:
    text: str
    page: int | None
    heading: str | None
    tokens: int


@dataclass(frozen=True)
class _Unit:
    text: str
    page: int | None
    heading: str | None
    tokens: int
    starts_paragraph: bool


class Chunker:
    """Packs whole sentences into chunks of at most `size` tokens and `max_chars` characters
    (size x CHARS_PER_TOKEN), `overlap` tokens shared."""

    def __init__(self, tokenizer: Tokenizer, size: int = 256, overlap: int = 32) -> None:
        self.tokenizer = tokenizer
        self.size = max(8, min(size, tokenizer.max_tokens - tokenizer.special_tokens))
        self.overlap = max(0, min(overlap, self.size // 2))
        self.max_chars = self.size * CHARS_PER_TOKEN

    def chunk(self, blocks: Sequence[Block]) -> list[Chunk]:
        """Chunks in document order; a chunk never spans two pages."""
        units = list(self._units(blocks))
        packed = [
            chunk
            for _, group in itertools.groupby(units, key=lambda u: u.page)
            for chunk in self._pack(list(group))
        ]
        return self._enforce_limit(packed)

    def _units(self, blocks: Sequence[Block]) -> Iterator[_Unit]:
        sentences = [
            (b, i == 0, piece)
            for b in blocks
            for i, s in enumerate(split_sentences(b.text))
            for piece in split_long(s, self.max_chars)  # before counting: tokens may be few
        ]
        counts = self.tokenizer.count_tokens([s for _, _, s in sentences])
        for (block, first, text), tokens in zip(sentences, counts, strict=True):
            if tokens <= self.size:
                yield _Unit(text, block.page, block.heading, tokens, first)
                continue
            pieces = self.tokenizer.split_tokens(text, self.size)
            piece_counts = self.tokenizer.count_tokens(pieces)
            for n, (piece, count) in enumerate(zip(pieces, piece_counts, strict=True)):
                yield _Unit(piece, block.page, block.heading, count, first and n == 0)

    def _pack(self, units: list[_Unit]) -> Iterator[Chunk]:
        current: list[_Unit] = []
        for unit in units:
            if current and not self._fits(current, unit):
                yield _join(current)
                current = self._overlap_tail(current)
                if not self._fits(current, unit):
                    current = []
            current.append(unit)
        if current:
            yield _join(current)

    def _fits(self, units: list[_Unit], unit: _Unit) -> bool:
        """Whether `unit` joins `units` within the token and character limits."""
        chars = sum(len(u.text) + 2 for u in units) + len(unit.text)  # 2: the joiner
        return _total(units) + unit.tokens <= self.size and chars <= self.max_chars

    def _overlap_tail(self, units: list[_Unit]) -> list[_Unit]:
        tail: list[_Unit] = []
        for unit in reversed(units):
            if _total(tail) + unit.tokens > self.overlap:
                break
            tail.insert(0, unit)
        return tail

    def _enforce_limit(self, chunks: list[Chunk]) -> list[Chunk]:
        """Recount each chunk as a whole; split any the joins pushed over the limit."""
        counts = self.tokenizer.count_tokens([c.text for c in chunks])
        out: list[Chunk] = []
        for chunk, count in zip(chunks, counts, strict=True):
            if count <= self.size:
                out.append(Chunk(chunk.text, chunk.page, chunk.heading, count))
                continue
            for piece in self.tokenizer.split_tokens(chunk.text, self.size):
                tokens = self.tokenizer.count_tokens([piece])[0]
                out.append(Chunk(piece, chunk.page, chunk.heading, tokens))
        return out


def split_sentences(text: str) -> list[str]:
    return [s for s in (p.strip() for p in _SENTENCE_END.split(text)) if s]


def _total(units: Iterable[_Unit]) -> int:
    return sum(u.tokens for u in units)


def _join(units: list[_Unit]) -> Chunk:
    text = units[0].text
    for unit in units[1:]:
        text += ("\n\n" if unit.starts_paragraph else " ") + unit.text
    return Chunk(text, units[0].page, units[0].heading, _total(units))
