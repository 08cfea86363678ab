"""What the parser sandbox costs: sandboxed vs in-process parsing, alone and in a full ingest.

Corpus: samples/ plus N small generated Markdown/text files. Runs alternate A/B, and the
medians and their ratio are printed (2 shared cores here: read the ratio, not the seconds).

    .venv/bin/python bench/parse_overhead.py [--files 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from index.faiss_store.store import FaissStore
from ingest.chunker import Chunker
from ingest.loaders import load
from ingest.loaders.blocks import Block
from ingest.pipeline import Ingestor, SourceFile, discover
from ingest.sandbox import ParseLimits, Sandbox
from models.embedder import SentenceTransformerEmbedder

ROOT = Path(__file__).resolve().parent.parent


class InProcess:
    """The old way, for comparison only: parse in the calling process, no limits."""

    limits = ParseLimits()

    def submit(self, name: str, data: bytes) -> Future[list[Block]]:
        future: Future[list[Block]] = Future()
        try:
            future.set_result(load(name, data))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def result(self, future: Future[list[Block]]) -> list[Block]:
        return future.result()


def corpus(folder: Path, count: int) -> list[SourceFile]:
    for n in range(count):
        body = f"# Note {n}\n\n" + f"Paragraph {n} about topic {n % 17}. " * 30
        (folder / f"note-{n:04d}.{'md' if n % 2 else 'txt'}").write_text(body)
    files = [i for i in discover([ROOT / "samples", folder]) if isinstance(i, SourceFile)]
    return files


def parse_all(parser: Sandbox | InProcess, files: list[tuple[str, bytes]]) -> None:
    window = 2 * parser.limits.workers + 2
    pending: list[Future[list[Block]]] = []
    for name, data in files:
        pending.append(parser.submit(name, data))
        if len(pending) > window:
            parser.result(pending.pop(0))
    for future in pending:
        parser.result(future)


def ingest_all(parser: Sandbox | InProcess, embedder, files: list[SourceFile]) -> None:
    with tempfile.TemporaryDirectory() as data:
        collection = FaissStore(Path(data)).collection("bench")
        chunker = Chunker(embedder, 256, 32)
        Ingestor(embedder, chunker, collection, parser=parser).ingest(files)  # type: ignore[arg-type]


def timed(work: Callable[[], None]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def compare(name: str, rounds: int, a: Callable[[], None], b: Callable[[], None]) -> dict:
    a(), b()  # warm up: worker start, model caches
    times_a, times_b = [], []
    for _ in range(rounds):
        times_a.append(timed(a))
        times_b.append(timed(b))
    med_a, med_b = statistics.median(times_a), statistics.median(times_b)
    return {
        "what": name,
        "in_process_s": round(med_a, 3),
        "sandboxed_s": round(med_b, 3),
        "ratio": round(med_b / med_a, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sandbox, inline = Sandbox(ParseLimits()), InProcess()
    with tempfile.TemporaryDirectory() as folder:
        files = corpus(Path(folder), args.files)
        blobs = [(f.source, f.path.read_bytes()) for f in files]
        results = [
            compare(
                f"parse {len(blobs)} files",
                args.rounds,
                lambda: parse_all(inline, blobs),
                lambda: parse_all(sandbox, blobs),
            )
        ]
        embedder = SentenceTransformerEmbedder("sentence-transformers/all-MiniLM-L6-v2")
        results.append(
            compare(
                f"full ingest of {len(files)} files (real embedder)",
                args.rounds,
                lambda: ingest_all(inline, embedder, files),
                lambda: ingest_all(sandbox, embedder, files),
            )
        )
    sandbox.close()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
