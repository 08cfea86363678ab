"""Neighbour expansion ("small-to-big"): a retrieved chunk brings its document's adjacent chunks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from app.answering.prompt import Passage
from index.protocol import Reader
from index.types import ChunkRow


def expand(reader: Reader, passages: Sequence[Passage], span: int) -> list[Passage]:
    """Each passage widened by up to `span` chunks of its own document on each side, joined in
    document order. A chunk already retrieved, or taken by a better-ranked passage, is not
    repeated, and a widening stops at it: the text stays contiguous. The retrieved chunk stays
    as `narrow`, which the prompt falls back to when the widened text does not fit."""
    if span <= 0:
        return list(passages)
    taken = {(p.chunk.doc_id, p.chunk.ord) for p in passages}
    out = []
    for passage in passages:
        chunk = passage.chunk
        around = [o for d in range(1, span + 1) for o in (chunk.ord - d, chunk.ord + d) if o >= 0]
        found = {c.ord: c for c in reader.chunks_at(chunk.doc_id, around)}
        run = _contiguous(chunk, found, span, taken)
        taken.update((c.doc_id, c.ord) for c in run)
        out.append(widen(passage, run) if len(run) > 1 else passage)
    return out


def _contiguous(
    chunk: ChunkRow, found: dict[int, ChunkRow], span: int, taken: set[tuple[str, int]]
) -> list[ChunkRow]:
    """The chunk and the neighbours reachable from it without a gap, in order."""
    run = [chunk]
    for step in (-1, 1):
        for d in range(1, span + 1):
            near = found.get(chunk.ord + step * d)
            if near is None or (near.doc_id, near.ord) in taken:
                break
            run.insert(0, near) if step < 0 else run.append(near)
    return run


def widen(passage: Passage, run: Sequence[ChunkRow]) -> Passage:
    """The passage showing the run's text; its id, page and heading stay the retrieved one's."""
    text = run[0].text
    for chunk in run[1:]:
        text = join_overlapping(text, chunk.text)
    return replace(passage, chunk=replace(passage.chunk, text=text), narrow=passage.chunk)


def join_overlapping(first: str, second: str) -> str:
    """`first` then `second`, the sentences the chunker repeated at their seam written once."""
    for start in range(max(0, len(first) - len(second)), len(first)):
        if start > 0 and first[start - 1] not in " \n":
            continue  # a repeated tail starts a word
        tail = first[start:].strip()
        if tail and second.startswith(tail):
            head = first[:start].rstrip()
            return (
                head + _seam(first[len(head) : first.index(tail, start)]) + second
                if head
                else second
            )
    return f"{first}\n\n{second}"


def _seam(between: str) -> str:
    """The separator the repeated tail had from the text before it: paragraph or space."""
    return "\n\n" if "\n\n" in between else " "
