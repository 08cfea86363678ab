"""Keyword (BM25) index cost at scale: load, merge, query, an add's and a delete's commit.

python -m bench.keyword --chunks 100000
Chunk texts are drawn from a Zipf vocabulary (as natural text is), 180 words each.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from index.faiss_store.collection import Collection
from index.faiss_store.keyword import keyword_from_store, keyword_segments, load_keyword
from index.faiss_store.store import FaissStore
from index.faiss_store.writer import Writer
from index.types import DocumentRow, IndexSpec, NewChunk

SPEC = IndexSpec("synthetic", 8, True, "synthetic")


def texts(count: int, words: int = 180, vocabulary: int = 50_000) -> list[str]:
    rng = np.random.default_rng(0)
    ranks = np.minimum(rng.zipf(1.1, size=(count, words)), vocabulary)
    return [" ".join(f"w{r}" for r in row) for row in ranks]


def build(root: Path, chunks: int, per_doc: int = 100) -> FaissStore:
    library = FaissStore(root)
    corpus = texts(chunks + per_doc)
    with Writer(library.collection("big"), SPEC) as writer:
        for d in range(chunks // per_doc):
            _put(writer, d, corpus[d * per_doc : (d + 1) * per_doc])
            if writer.staged_chunks >= 20_000:
                writer.commit()
        writer.commit()
    return library


def _put(writer: Writer, d: int, part: list[str]) -> None:
    vectors = np.ones((len(part), SPEC.dimension), dtype=np.float32) / np.sqrt(SPEC.dimension)
    doc = DocumentRow(f"doc{d}", f"doc{d}.txt", f"h{d}", None, len(part), "2026-01-01")
    writer.put(doc, [NewChunk(t) for t in part], vectors)


def measure(library: FaissStore) -> dict[str, object]:
    collection = library.collection("big")
    manifest = collection.manifest()
    assert manifest is not None
    folder, gen, live = (
        collection.folder,
        manifest.generation,
        collection.chunk_store.live_ids(manifest.generation),
    )
    result: dict[str, object] = {"chunks": manifest.rows, "segments": len(manifest.keyword)}
    result["cold_load_s"] = _seconds(lambda: load_keyword(folder, manifest.keyword, live, None))
    result["merge_all_s"] = _seconds(
        lambda: keyword_segments(folder, gen + 100, manifest.keyword, ([], []), live)
    )
    store = collection.chunk_store
    result["tokenize_all_s"] = _seconds(lambda: keyword_from_store(folder, gen + 101, store))
    snapshot = collection.snapshot()
    queries = [" ".join(q.split()[:6]) for q in texts(50)]
    query_ms = [1000 * _seconds(lambda q=q: snapshot.keyword_search(q, 100)) for q in queries]
    result["query_ms_median"] = round(statistics.median(query_ms), 1)
    result["add_100_chunks_commit_s"] = _seconds(lambda: _add(collection))
    result["delete_commit_s"] = _seconds(lambda: _delete(collection))
    result["delete_reload_s"] = _seconds(collection.snapshot)
    size = sum((folder / s.file).stat().st_size for s in manifest.keyword)
    result["file_mb"] = round(size / 1e6, 1)
    return result


def _add(collection: Collection) -> None:
    with Writer(collection, SPEC) as writer:
        _put(writer, 10**6, texts(100))
        writer.commit()


def _delete(collection: Collection) -> None:
    with Writer(collection, SPEC) as writer:
        writer.delete("doc0")
        writer.commit()


def _seconds(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return round(time.perf_counter() - started, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.keyword")
    parser.add_argument("--chunks", type=int, default=100_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = measure(build(Path(tmp), args.chunks))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
