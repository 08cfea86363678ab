"""Token-aware chunking: sentences packed up to a token budget the embedder never truncates.

Chunks are contextual: each knows its heading path (under the document's title), which is
embedded and keyword-indexed with its text (`Chunk.indexed_text`) but not part of the text.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from ingest.loaders.blocks import Block
from ingest.normalize import split_long

CHUNKER_VERSION = "sections-context-v2"  # chunks within one heading, embedded with it
CONTEXT_SHARE = 4  # a heading path takes at most 1/4 of a chunk's tokens; longer ones are cut
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


Ids = tuple[int, ...]


@dataclass(frozen=True)
class Chunk:
    text: str
    page: int | None
    heading: str | None
    tokens: int
    label: str | None = None  # the printed page label, where it differs from `page`
    context: str | None = None  # the heading path as embedded (cut to fit the budget)
    # The token ids of `indexed_text` (no special tokens), when the tokenizer joins exactly:
    # counted once here, embedded without tokenizing again.
    ids: Ids | None = field(default=None, compare=False, repr=False)

    @property
    def indexed_text(self) -> str:
        """What is embedded: the heading path, then the text."""
        return f"{self.context}\n{self.text}" if self.context else self.text

    @property
    def display_heading(self) -> str | None:
        """The heading path as stored and shown, with the printed page label where one differs."""
        if self.label is None:
            return self.heading
        return f"{self.heading or ''} (p. {self.label})".lstrip()


@dataclass(frozen=True)
class _Unit:
    text: str
    page: int | None
    heading: str | None
    tokens: int
    starts_paragraph: bool
    label: str | None = None
    ids: Ids = ()


class Chunker:
    """Packs whole sentences into chunks of at most `size` tokens and `max_chars` characters
    (size x CHARS_PER_TOKEN), `overlap` tokens shared."""

    def __init__(
        self, tokenizer: Tokenizer, size: int = 256, overlap: int = 32, reuse_ids: bool = True
    ) -> None:
        self.tokenizer = tokenizer
        # Tokenize each sentence once and build chunks' ids by joining theirs, where that is
        # exact (WordPiece splits at whitespace, and chunks join sentences with whitespace);
        # reuse_ids=False keeps the old recount of every chunk, for the benchmark's A/B.
        self.exact = reuse_ids and bool(getattr(tokenizer, "joins_exactly", False))
        self.tokenize_seconds = 0.0  # spent in the tokenizer, for the ingest's stage timing
        self.size = max(8, min(size, tokenizer.max_tokens - tokenizer.special_tokens))
        self.overlap = max(0, min(overlap, self.size // 2))
        self.max_chars = self.size * CHARS_PER_TOKEN

    def chunk(self, blocks: Sequence[Block]) -> list[Chunk]:
        """Chunks in document order; a chunk never spans two pages or two sections."""
        units = list(self._units(blocks))
        contexts = self._contexts({u.heading for u in units if u.heading})
        packed = [
            chunk
            for (_, heading), group in itertools.groupby(units, key=lambda u: (u.page, u.heading))
            for chunk in self._pack(list(group), contexts.get(heading or "", NO_CONTEXT))
        ]
        return self._enforce_limit(packed, contexts)

    def _measure(self, texts: Sequence[str]) -> list[tuple[int, Ids]]:
        """Tokens of each text, with its ids where chunks' ids are built by joining."""
        if not texts:
            return []
        started = time.perf_counter()
        if self.exact:
            encode = self.tokenizer.encode_tokens  # type: ignore[attr-defined]
            measured = [(len(ids), tuple(ids)) for ids in encode(texts)]
        else:
            measured = [(count, ()) for count in self.tokenizer.count_tokens(texts)]
        self.tokenize_seconds += time.perf_counter() - started
        return measured

    def _contexts(self, headings: set[str]) -> dict[str, _Context]:
        """Each heading path as embedded, and its tokens: the innermost headings that fit."""
        limit = self.size // CONTEXT_SHARE
        ordered = sorted(headings)
        out: dict[str, _Context] = {}
        for heading, (count, ids) in zip(ordered, self._measure(ordered), strict=True):
            context = heading
            while count > limit and " > " in context:
                context = context.split(" > ", 1)[1]
                count, ids = self._measure([context])[0]
            if count > limit:
                context = self.tokenizer.split_tokens(context, limit)[0]
                count, ids = self._measure([context])[0]
            out[heading] = _Context(context, count + 1, ids)  # +1: the line break after it
        return out

    def _units(self, blocks: Sequence[Block]) -> Iterator[_Unit]:
        body = [b for b in blocks if not _repeats_heading(b)]
        sentences = [
            (b, i == 0, piece)
            for b in body
            for i, s in enumerate(split_sentences(b.text))
            for piece in split_long(s, self.max_chars)  # before counting: tokens may be few
        ]
        measured = self._measure([s for _, _, s in sentences])
        budget = self.size - self.size // CONTEXT_SHARE - 1  # room for any heading path
        for (block, first, text), (tokens, ids) in zip(sentences, measured, strict=True):
            if tokens <= budget:
                yield _Unit(text, block.page, block.heading, tokens, first, block.label, ids)
                continue
            pieces = self.tokenizer.split_tokens(text, budget)
            for n, (piece, (count, piece_ids)) in enumerate(
                zip(pieces, self._measure(pieces), strict=True)
            ):
                start = first and n == 0
                yield _Unit(piece, block.page, block.heading, count, start, block.label, piece_ids)

    def _pack(self, units: list[_Unit], context: _Context) -> Iterator[Chunk]:
        size = self.size - context.tokens
        current: list[_Unit] = []
        for unit in units:
            if current and not self._fits(current, unit, size):
                yield _join(current, context, self.exact)
                current = self._overlap_tail(current)
                if not self._fits(current, unit, size):
                    current = []
            current.append(unit)
        if current:
            yield _join(current, context, self.exact)

    def _fits(self, units: list[_Unit], unit: _Unit, size: int) -> bool:
        """Whether `unit` joins `units` within `size` tokens and the character limit."""
        chars = sum(len(u.text) + 2 for u in units) + len(unit.text)  # 2: the joiner
        return _total(units) + unit.tokens <= size and chars <= self.max_chars

    def _overlap_tail(self, units: list[_Unit]) -> list[_Unit]:
        tail: list[_Unit] = []
        for unit in reversed(units):
            if _total(tail) + unit.tokens > self.overlap:
                break
            tail.insert(0, unit)
        return tail

    def _enforce_limit(self, chunks: list[Chunk], contexts: dict[str, _Context]) -> list[Chunk]:
        """Recount each chunk as a whole (unless its count is exact already: the sum of its
        sentences'); split any the joins pushed over the limit."""
        if self.exact:
            counts = [c.tokens for c in chunks]
        else:
            counts = self.tokenizer.count_tokens([c.text for c in chunks])
        out: list[Chunk] = []
        for chunk, count in zip(chunks, counts, strict=True):
            context = contexts.get(chunk.heading or "", NO_CONTEXT)
            if count <= self.size - context.tokens:
                out.append(replace(chunk, tokens=count))
                continue
            pieces = self.tokenizer.split_tokens(chunk.text, self.size - context.tokens)
            for piece, (tokens, ids) in zip(pieces, self._measure(pieces), strict=True):
                joined = context.ids + ids if self.exact else None
                out.append(replace(chunk, text=piece, tokens=tokens, ids=joined))
        return out


def _repeats_heading(block: Block) -> bool:
    """A block that is only its own heading's text (loaders that yield headings as paragraphs):
    the heading path already carries it, and alone it would make a chunk of one title."""
    return bool(block.heading) and block.text == (block.heading or "").rsplit(" > ", 1)[-1]


def split_sentences(text: str) -> list[str]:
    return [s for s in (p.strip() for p in _SENTENCE_END.split(text)) if s]


def _total(units: Iterable[_Unit]) -> int:
    return sum(u.tokens for u in units)


@dataclass(frozen=True)
class _Context:
    """A heading path as embedded before each chunk under it, its tokens (the line break
    after it included) and its ids (when chunks' ids are joined)."""

    text: str | None
    tokens: int
    ids: Ids = ()


NO_CONTEXT = _Context(None, 0)


def _join(units: list[_Unit], context: _Context, exact: bool) -> Chunk:
    """Units joined by whitespace (a paragraph break or a space); with exact ids, the chunk's
    ids are the context's then the units', as tokenizing `indexed_text` would give."""
    text = units[0].text
    for unit in units[1:]:
        text += ("\n\n" if unit.starts_paragraph else " ") + unit.text
    first = units[0]
    ids = context.ids + tuple(i for u in units for i in u.ids) if exact else None
    return Chunk(text, first.page, first.heading, _total(units), first.label, context.text, ids)
