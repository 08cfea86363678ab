"""Embedding backends side by side: passages/s, query latency and SciFact nDCG@10 per backend.

The quality check embeds SciFact abstracts and claims with each backend and ranks exactly
(dense only), so the only difference between rows is the backend. The suite uses a subset of
the corpus (every judged document plus distractors); `python -m bench.embedding --corpus all`
scores the whole corpus (the figure the default backend was chosen on).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np

from bench.core import Context, figure, ratio, timer
from bench.corpus import scifact_docs, scifact_queries

MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def run(ctx: Context) -> dict[str, Any]:
    backends = ["torch", "onnx", "onnx-int8"]
    embedders, export_s = load_all(backends)
    passages = [_doc_text(d) for d in scifact_docs(ctx.pick(24, 96))]
    speed: dict[str, list[float]] = {b: [] for b in backends}
    query_ms: dict[str, list[float]] = {b: [] for b in backends}
    for repeat in range(ctx.pick(2, ctx.repeats)):
        ctx.log(f"   embedding repeat {repeat + 1}/{ctx.repeats}")
        for b in backends:
            speed[b].append(len(passages) / _seconds(embedders[b], passages))
            query_ms[b].append(_query_ms(embedders[b], repeat))
    scored = ["torch", "onnx-int8"]
    queries, corpus = ctx.pick((60, 150), (300, 800))
    quality = {b: ndcg_at_10(embedders[b], corpus, queries) for b in scored}
    return _result(backends, speed, query_ms, quality, export_s, len(passages))


def load_all(backends: list[str]) -> tuple[dict[str, Any], dict[str, float]]:
    from models.embedder import load_embedder

    embedders, export_s = {}, {}
    for backend in backends:
        with timer() as took:
            embedders[backend] = load_embedder(MODEL, "cpu", backend)
        export_s[backend] = took[0]
        embedders[backend].embed(["warm up"] * 4)
    return embedders, export_s


def _doc_text(doc: dict[str, str]) -> str:
    return f"{doc['title']}\n\n{doc['text']}"


def _seconds(embedder: Any, texts: list[str]) -> float:
    with timer() as took:
        embedder.embed(texts)
    return took[0]


QUERIES = [
    "how do statins affect cardiovascular risk",
    "role of microRNA in tumor growth",
    "vitamin D and immune response",
    "effect of exercise on insulin resistance",
]


def _query_ms(embedder: Any, repeat: int) -> float:
    """One short query at a time, as /api/search embeds it (median of a few)."""
    times = []
    for q in QUERIES:
        with timer() as took:
            embedder.embed([f"{q} {repeat}"])
        times.append(took[0] * 1000)
    return float(np.median(times))


def ndcg_at_10(embedder: Any, corpus_size: int | None, query_limit: int | None = None) -> float:
    """Dense-retrieval nDCG@10 over SciFact claims that have judgements (binary relevance)."""
    queries, qrels = scifact_queries()
    if query_limit:
        queries = dict(list(queries.items())[:query_limit])
        qrels = {q: qrels[q] for q in queries}
    docs = _subset(scifact_docs(), qrels, corpus_size)
    ids = [d["_id"] for d in docs]
    doc_vectors = embedder.embed([_doc_text(d) for d in docs])
    qids = list(queries)
    query_vectors = embedder.embed([queries[q] for q in qids])
    top = np.argsort(-(query_vectors @ doc_vectors.T), axis=1)[:, :10]
    scores = [_ndcg([ids[i] for i in row], qrels[q]) for q, row in zip(qids, top, strict=True)]
    return float(np.mean(scores))


def _subset(docs: list[dict[str, str]], qrels: dict[str, dict[str, int]], size: int | None) -> list:
    """Every judged document plus seeded random distractors, up to `size` (None: all)."""
    if size is None or size >= len(docs):
        return docs
    judged = {d for rels in qrels.values() for d in rels}
    keep = [d for d in docs if d["_id"] in judged]
    others = [d for d in docs if d["_id"] not in judged]
    random.Random(0).shuffle(others)
    return keep + others[: max(0, size - len(keep))]


def _ndcg(ranked: list[str], relevant: dict[str, int]) -> float:
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked))
    ideal = sorted(relevant.values(), reverse=True)[:10]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def _result(
    backends: list[str],
    speed: dict[str, list[float]],
    query_ms: dict[str, list[float]],
    quality: dict[str, float],
    export_s: dict[str, float],
    passages: int,
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for b in backends:
        figures[f"{b}_passages_per_s"] = figure(
            speed[b], "passages/s", f"{b}: SciFact abstracts", 1
        )
        figures[f"{b}_query_ms"] = figure(query_ms[b], "ms", f"{b}: one short query")
    for b, value in quality.items():
        figures[f"{b}_ndcg10"] = figure([value], "nDCG@10", f"{b}: SciFact dense nDCG@10", 4)
    speedup = [a / b for a, b in zip(speed["onnx-int8"], speed["torch"], strict=True)]
    return {
        "figures": figures,
        "ratios": [
            ratio(
                "onnx-int8 nDCG@10 / torch fp32 nDCG@10 (SciFact subset)",
                [quality["onnx-int8"] / quality["torch"]],
                0.99,
                limit="int8 rounding of the weights (per channel) and activations",
            ),
            ratio(
                "onnx-int8 passages/s / torch fp32 passages/s",
                speedup,
                1.0,
                limit="int8 matrix products; attention, softmax and layer norms stay fp32",
            ),
        ],
        "plots": [
            {
                "kind": "bars",
                "file": "embedding.png",
                "title": f"Embedding backends, {passages} SciFact abstracts",
                "unit": "passages/s",
                "bars": {b: figures[f"{b}_passages_per_s"] for b in backends},
            }
        ],
        "notes": [
            "Load time per backend, export included when it was not cached: "
            + ", ".join(f"{b} {s:.1f} s" for b, s in export_s.items())
            + ".",
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.embedding")
    parser.add_argument("--corpus", default="all", help="'all' or a number of documents")
    parser.add_argument("--backends", default="torch,onnx-int8")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    size = None if args.corpus == "all" else int(args.corpus)
    embedders, _ = load_all(args.backends.split(","))
    scores = {b: round(ndcg_at_10(e, size), 4) for b, e in embedders.items()}
    print(json.dumps(scores, indent=2))
    if args.json:
        args.json.write_text(json.dumps(scores, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
