"""The BM25 keyword index (bm25s): one immutable file per generation that added chunks."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.errors import IndexCorrupt
from index.manifest import Segment, atomic_write, sha256

# Recorded in each file: a file built by another tokenizer is rebuilt, never misread.
KEYWORD_FORMAT = "bm25s-lucene-k1.2-b0.75-en-snowball-v1"
K1, B = 1.2, 0.75  # Lucene's defaults, the BM25 the published BEIR numbers use


class KeywordIndex:
    """BM25 over chunk texts, keyed by chunk id; dead chunks are masked out at query time."""

    def __init__(
        self, retriever: Any, chunk_ids: np.ndarray, mask: np.ndarray | None = None
    ) -> None:
        self._retriever = retriever
        self.chunk_ids = chunk_ids
        self._mask = mask  # 1.0 for live chunks, 0.0 for deleted ones; None when all live

    def __len__(self) -> int:
        return len(self.chunk_ids)

    @classmethod
    def build(cls, chunk_ids: Sequence[int] | np.ndarray, texts: Sequence[str]) -> KeywordIndex:
        import bm25s

        retriever = bm25s.BM25(k1=K1, b=B, method="lucene")
        if len(texts):
            tokens = bm25s.tokenize(list(texts), stemmer=_stemmer(), show_progress=False)
            retriever.index(tokens, show_progress=False)
        return cls(retriever, np.asarray(chunk_ids, dtype=np.int64))

    def restricted_to(self, live: np.ndarray) -> KeywordIndex:
        """The same index serving only chunks in `live`: a pure delete never rewrites the file."""
        alive = np.isin(self.chunk_ids, live)
        mask = None if alive.all() else alive.astype(np.float32)
        return KeywordIndex(self._retriever, self.chunk_ids, mask)

    @property
    def live_count(self) -> int:
        return len(self) if self._mask is None else int(self._mask.sum())

    def search(self, text: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, BM25 scores) of the best `k` live chunks sharing a term with `text`."""
        scores = self._scores(text)
        if scores is None:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        k = min(k, int(np.count_nonzero(scores)))
        top = np.argpartition(-scores, k - 1)[:k] if k > 0 else np.empty(0, dtype=np.int64)
        top = top[np.argsort(-scores[top], kind="stable")]
        return self.chunk_ids[top], scores[top]

    def _scores(self, text: str) -> np.ndarray | None:
        import bm25s

        if not len(self):
            return None
        query = bm25s.tokenize([text], stemmer=_stemmer(), return_ids=False, show_progress=False)
        ids = self._retriever.get_tokens_ids(query[0])
        if not ids:
            return None
        scores: np.ndarray = self._retriever.get_scores_from_ids(ids)
        return scores * self._mask if self._mask is not None else scores

    def to_bytes(self) -> bytes:
        scores = self._retriever.scores if len(self) else _EMPTY
        meta = {"format": KEYWORD_FORMAT, "num_docs": len(self)}
        buffer = io.BytesIO()
        np.savez(
            buffer,
            chunk_ids=self.chunk_ids,
            data=scores["data"],
            indices=scores["indices"],
            indptr=scores["indptr"],
            vocab=np.frombuffer(json.dumps(self._vocab()).encode(), dtype=np.uint8),
            meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        )
        return buffer.getvalue()

    def _vocab(self) -> dict[str, int]:
        vocab: dict[str, int] = getattr(self._retriever, "vocab_dict", None) or {}
        return vocab

    @classmethod
    def from_bytes(cls, data: bytes) -> KeywordIndex:
        import bm25s

        arrays = np.load(io.BytesIO(data), allow_pickle=False)
        meta = json.loads(arrays["meta"].tobytes())
        if meta.get("format") != KEYWORD_FORMAT:
            raise ValueError(f"keyword format {meta.get('format')!r}, expected {KEYWORD_FORMAT!r}")
        retriever = bm25s.BM25(k1=K1, b=B, method="lucene")
        retriever.scores = {
            "data": arrays["data"],
            "indices": arrays["indices"],
            "indptr": arrays["indptr"],
            "num_docs": int(meta["num_docs"]),
        }
        retriever.vocab_dict = json.loads(arrays["vocab"].tobytes())
        retriever.unique_token_ids_set = set(retriever.vocab_dict.values())
        retriever.nonoccurrence_array = None
        return cls(retriever, np.asarray(arrays["chunk_ids"], dtype=np.int64))


_EMPTY = {
    "data": np.empty(0, dtype=np.float32),
    "indices": np.empty(0, dtype=np.int32),
    "indptr": np.zeros(1, dtype=np.int32),
}


@cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def write_keyword(folder: Path, name: str, index: KeywordIndex) -> Segment:
    """Write the keyword index durably and return its manifest entry."""
    data = index.to_bytes()
    atomic_write(folder / name, data)
    return Segment(file=name, sha256=sha256(data), count=len(index))


def read_keyword(folder: Path, segment: Segment) -> KeywordIndex:
    """The keyword index of a manifest entry, after checking its checksum and size."""
    path = folder / segment.file
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IndexCorrupt(f"keyword index {segment.file} cannot be read: {exc}") from exc
    if sha256(data) != segment.sha256:
        raise IndexCorrupt(f"keyword index {segment.file} fails its checksum (truncated?)")
    try:
        index = KeywordIndex.from_bytes(data)
    except (ValueError, KeyError, OSError) as exc:
        raise IndexCorrupt(f"keyword index {segment.file} is unreadable: {exc}") from exc
    if len(index) != segment.count:
        raise IndexCorrupt(f"keyword index {segment.file} holds {len(index)} chunks, not "
                           f"{segment.count}")
    return index


KEYWORD_SUFFIX = ".bm25"


class _TextSource(Protocol):
    def live_texts(self, gen: int) -> tuple[np.ndarray, list[str]]: ...


def build_keyword(folder: Path, store: _TextSource, gen: int) -> Segment:
    """Index every chunk live at `gen` and write it as generation `gen`'s keyword file."""
    ids, texts = store.live_texts(gen)
    return write_keyword(folder, f"bm25-{gen:08d}{KEYWORD_SUFFIX}", KeywordIndex.build(ids, texts))
