"""ragd's retrieval on the real-document set, in process, at several rankings over one index.

    python -m bench.realdocs_ragd [--corpus data/realdocs/corpus] [--qa bench/realdocs/qa.jsonl]
                                  [--data data/realdocs/ragd] [--json OUT]

Ingests the corpus (bench/realdocs/setup.sh builds it) with the real pipeline into --data
(incremental: a rerun reuses the index), then asks every answerable question in hybrid, dense
and keyword modes, and hybrid at RAGD_CHUNKS_PER_DOCUMENT 0, 1 and 2. Per question, over the
top 5 chunks (as bench/realdocs/baseline.py scores the LangChain pipeline): source@5 (a chunk
from the gold file), answer@5 (a chunk's text holds a gold answer), page@5 (a chunk from the
gold PDF page). Run it with another checkout first on PYTHONPATH to measure that version.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

K = 5
RUNS: list[tuple[str, str, int]] = [
    ("hybrid, per-document 0", "hybrid", 0),
    ("hybrid, per-document 1", "hybrid", 1),
    ("hybrid, per-document 2", "hybrid", 2),
    ("dense, per-document 0", "dense", 0),
    ("keyword, per-document 0", "keyword", 0),
]


def norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("data/realdocs/corpus"))
    parser.add_argument("--qa", type=Path, default=Path("bench/realdocs/qa.jsonl"))
    parser.add_argument("--data", type=Path, default=Path("data/realdocs/ragd"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    questions = [q for q in map(json.loads, args.qa.read_text().splitlines()) if q.get("answers")]
    results = measure(args.corpus, args.data, questions)
    for name, scores in results["runs"].items():
        cells = "  ".join(f"{m} {v:6.1%}" for m, v in scores.items())
        print(f"{name:26s} {cells}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def measure(corpus: Path, data: Path, questions: list[dict[str, Any]]) -> dict[str, Any]:
    from app.answering.retrieval import Retriever
    from config.factories import load_embedder, open_store
    from config.settings import Settings
    from ingest.pipeline import build_ingestor, discover

    settings = Settings(data_dir=data)
    embedder = load_embedder(settings)
    store = open_store(settings)
    started = time.perf_counter()
    summary = build_ingestor(settings, embedder, store).ingest(discover([corpus]), prune=True)
    ingest_s = time.perf_counter() - started
    runs = {}
    for name, mode, per_doc in RUNS:
        retriever = Retriever(
            settings.model_copy(update={"chunks_per_document": per_doc}), embedder, store
        )
        runs[name] = score(retriever, mode, questions)
    return {"chunks": summary.chunks, "ingest_s": round(ingest_s, 1), "runs": runs}


def score(retriever: Any, mode: str, questions: list[dict[str, Any]]) -> dict[str, float]:
    hits = {"source@5": 0, "answer@5": 0, "page@5": 0}
    paged = sum(1 for q in questions if q.get("page"))
    for q in questions:
        chunks = [p.chunk for p in retriever.retrieve(q["question"], None, K, mode).passages]
        answers = [norm(a) for a in q["answers"]]
        hits["source@5"] += any(c.source == q["source"] for c in chunks)
        hits["answer@5"] += any(a in norm(c.text) for c in chunks for a in answers)
        page = q.get("page")
        hits["page@5"] += bool(page) and any(
            c.source == q["source"] and c.page == page for c in chunks
        )
    return {
        "source@5": hits["source@5"] / len(questions),
        "answer@5": hits["answer@5"] / len(questions),
        "page@5": hits["page@5"] / max(paged, 1),
    }


if __name__ == "__main__":
    main()
