"""A ragd collection's state in Milvus: what built it, its size, and BM25's totals."""

from __future__ import annotations

from dataclasses import dataclass

from index.types import IndexSpec


@dataclass(frozen=True)
class MilvusState:
    """A collection's spec, generation (commits so far) and sizes."""

    generation: int
    spec: IndexSpec
    documents: int
    rows: int


@dataclass(frozen=True)
class Meta:
    """A collection's row in `<prefix>collections`: what built it, and BM25's N and length."""

    spec: IndexSpec
    generation: int = 0
    chunks: int = 0
    length: int = 0
    writing: bool = False  # a commit began and has not finished: the statistics are unsure

    @property
    def mean_length(self) -> float:
        return self.length / self.chunks if self.chunks else 1.0
