"""Delete cost on a large collection: one document out of N chunks, commit and reload.

python -m bench.delete --chunks 100000
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from index.chunkstore import DocumentRow, NewChunk
from index.library import Library
from index.manifest import IndexSpec
from index.writer import Writer

SPEC = IndexSpec("synthetic", 384, True, "synthetic")


def build(root: Path, chunks: int, per_doc: int = 100) -> Library:
    library = Library(root)
    rng = np.random.default_rng(0)
    with Writer(library.collection("big"), SPEC) as writer:
        for d in range(chunks // per_doc):
            vectors = rng.standard_normal((per_doc, 384)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            doc = DocumentRow(f"doc{d}", f"doc{d}.txt", f"h{d}", None, per_doc, "2026-01-01")
            writer.put(doc, [NewChunk(f"chunk {d}-{i} text") for i in range(per_doc)], vectors)
            if writer.staged_chunks >= 20000:
                writer.commit()
        writer.commit()
    return library


def measure(library: Library, deletes: int) -> dict[str, object]:
    collection = library.collection("big")
    started = time.perf_counter()
    collection.snapshot()
    cold_load = time.perf_counter() - started
    commit, reload = [], []
    for d in range(deletes):
        t0 = time.perf_counter()
        with Writer(collection, SPEC) as writer:
            writer.delete(f"doc{d}")
            writer.commit()
        t1 = time.perf_counter()
        snapshot = collection.snapshot()
        reload.append(time.perf_counter() - t1)
        commit.append(t1 - t0)
        assert len(snapshot.vectors) == snapshot.manifest.rows
    return {
        "chunks": snapshot.manifest.rows + 100 * deletes,
        "delete_commit_ms": _stats(commit),
        "server_reload_ms": _stats(reload),
        "cold_load_ms": round(cold_load * 1000, 1),
    }


def _stats(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "median": round(statistics.median(ms), 1),
        "min": round(min(ms), 1),
        "max": round(max(ms), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.delete")
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--deletes", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        library = build(Path(tmp), args.chunks)
        built = time.perf_counter() - started
        result = measure(library, args.deletes)
        result["build_s"] = round(built, 1)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
