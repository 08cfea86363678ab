"""Filtered search latency against the filter's selectivity (0.1%, 1%, 10%, 100% of chunks),
beside unfiltered search, on one FAISS collection of synthetic vectors (documents of 100
chunks, tagged so each share is one filter). Every filtered search must return k results.

python -m bench.filtered --chunks 100000
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.core import Context, figure, ratio
from index.faiss_store.store import FaissCollection, FaissStore
from index.filters import parse
from index.types import DocumentRow, IndexSpec, NewChunk

SPEC = IndexSpec("synthetic", 384, True, "synthetic")
PER_DOC = 100
SHARES = {"0.1%": 1000, "1%": 100, "10%": 10, "100%": 1}  # every n-th document matches
K = 10


def build(root: Path, chunks: int) -> FaissCollection:
    collection = FaissStore(root).collection("filtered")
    rng = np.random.default_rng(0)
    with collection.writer(SPEC) as writer:
        for d in range(chunks // PER_DOC):
            vectors = rng.standard_normal((PER_DOC, 384)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            tags = {name: "yes" for name, every in SHARES.items() if d % every == 0}
            doc = DocumentRow(
                f"doc{d}",
                f"doc{d}.txt",
                f"h{d}",
                None,
                PER_DOC,
                "2026-01-01",
                type="txt",
                tags={f"s{k.rstrip('%')}": v for k, v in tags.items()},
            )
            writer.put(doc, [NewChunk(f"chunk {d}-{i} text") for i in range(PER_DOC)], vectors)
            if writer.staged_chunks >= 20000:
                writer.commit()
        writer.commit()
    return collection


def measure(collection: FaissCollection, queries: int) -> dict[str, list[float]]:
    """Seconds per search, per share (and unfiltered); each filtered search returns K hits."""
    snapshot = collection.snapshot()
    snapshot.vectors.build_ann(wait=True)  # at 50k+ chunks searches use IVF: measure that
    rng = np.random.default_rng(1)
    raw: dict[str, list[float]] = {"unfiltered": []}
    filters = {name: parse({"field": f"tags.s{name.rstrip('%')}", "eq": "yes"}) for name in SHARES}
    for _ in range(queries):
        query = rng.standard_normal(384).astype(np.float32)
        raw["unfiltered"].append(_timed(lambda q=query: snapshot.search(q, K)))
        for name, where in filters.items():
            snapshot.forget_matches()  # each search pays for its filter, as a new one would
            raw.setdefault(name, []).append(
                _timed(lambda q=query, w=where: _checked(snapshot.search(q, K, w)))
            )
    return raw


def _timed(work: Any) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _checked(hits: list[Any]) -> list[Any]:
    assert len(hits) == K, f"a filtered search returned {len(hits)} of {K}"
    return hits


def run(ctx: Context) -> dict[str, Any]:
    chunks = ctx.pick(20_000, 100_000)
    raw = measure(build(ctx.work / "filtered", chunks), ctx.pick(10, 30))
    figures = {
        name: figure([s * 1000 for s in values], "ms", f"search, filter {name}, {chunks:,}", 2)
        for name, values in raw.items()
    }
    ratios = [
        ratio(
            f"filter matching 0.1% / matching 100%: latency at {chunks:,} chunks",
            [a / b for a, b in zip(raw["0.1%"], raw["100%"], strict=True)],
            1.0,
            higher_is_better=False,
            limit="the SQLite pass over the documents table (one row per document), then "
            "only the matching chunks' vectors are scored",
        )
    ]
    notes = [f"k={K}; every filtered search returned k results (checked)."]
    return {"figures": figures, "ratios": ratios, "plots": [], "notes": notes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--work", type=Path, default=Path("/tmp/ragd-bench-filtered"))
    args = parser.parse_args()
    raw = measure(build(args.work, args.chunks), args.queries)
    print(json.dumps({k: round(float(np.median(v)) * 1000, 2) for k, v in raw.items()}))


if __name__ == "__main__":
    main()
