"""Fusion variants on a BEIR set, chosen on one half of the queries and reported on the other.

    python -m bench.fusion_grid /work/shared/eval/scifact --work-dir data/scifact [--json OUT]

Each judged query's dense and BM25 candidates (100 each, the real search path) are fetched once
(BM25 again for each k1/b tried); every variant fuses the same lists with `index.fusion`. The
queries are split by position (even: "choose", odd: "check"); a variant chosen on "choose" is
reported on "check" too, since choosing and reporting on the same queries flatters it.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.answering.evidence import words
from app.evals.beir import load_beir
from app.evals.evaluate import ingest_corpus
from app.evals.scoring import ndcg_at
from config.factories import load_embedder, open_store
from config.settings import Settings
from index.fusion import reciprocal_rank, weighted, z_score
from index.types import Hit

DEPTH = 100
Fuse = Callable[["Query"], list[Hit]]


@dataclass
class Query:
    id: str
    text: str
    dense: list[Hit]
    keyword: list[Hit]
    rare: float  # share of the query's words the embedder splits into pieces
    length: int  # words


def collect(folder: Path, work: Path) -> tuple[list[Query], dict[str, Any], Any]:
    dataset = load_beir(folder)
    settings = Settings(data_dir=work)
    embedder = load_embedder(settings)
    store = open_store(settings)
    name, sources = ingest_corpus(dataset, settings, embedder, store, lambda *_: None)
    snapshot = store.collection(name).snapshot()
    queries = []
    for query_id, text in dataset.judged_queries().items():
        vector = embedder.embed([text])[0]
        found = words(text)
        pieces = embedder.count_tokens(found) if found else []
        rare = sum(1 for n in pieces if n > 1) / max(len(found), 1)
        queries.append(
            Query(
                query_id,
                text,
                snapshot.search(vector, DEPTH),
                snapshot.keyword_search(text, DEPTH),
                rare,
                len(found),
            )
        )
    return queries, {"sources": sources, "qrels": dataset.qrels, "store": store}, snapshot


def ndcg(fused: list[Hit], query: Query, sources: dict[str, str], qrels: Any) -> float:
    docs = list(dict.fromkeys(sources[h.chunk.source] for h in fused))
    return ndcg_at(docs, qrels[query.id], 10)


def variants() -> dict[str, Fuse]:
    out: dict[str, Fuse] = {"dense": lambda q: q.dense, "keyword": lambda q: q.keyword}
    for a in (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7):
        out[f"minmax a={a}"] = lambda q, a=a: weighted(q.dense, q.keyword, a)
        out[f"zscore a={a}"] = lambda q, a=a: weighted(q.dense, q.keyword, a, z_score)
    for k in (2, 5, 10, 20, 60):
        for w in (0.4, 0.5, 0.6):
            out[f"rrf k={k} w={w}"] = lambda q, k=k, w=w: reciprocal_rank(
                [q.dense, q.keyword], k, [w, 1 - w]
            )
    for cut in (6, 10, 14):
        for short, long in ((0.4, 0.6), (0.6, 0.4), (0.45, 0.55), (0.55, 0.45)):
            out[f"minmax by length <={cut}: {short} else {long}"] = (
                lambda q, c=cut, s=short, lo=long: weighted(
                    q.dense, q.keyword, s if q.length <= c else lo
                )
            )
    for cut in (0.1, 0.2, 0.3):
        for rare, common in ((0.4, 0.5), (0.35, 0.55), (0.45, 0.55), (0.5, 0.4)):
            out[f"minmax by rare share >={cut}: {rare} else {common}"] = (
                lambda q, c=cut, r=rare, m=common: weighted(
                    q.dense, q.keyword, r if q.rare >= c else m
                )
            )
    return out


def evaluate(queries: Sequence[Query], fuse: Fuse, ctx: dict[str, Any]) -> dict[str, float]:
    scores = [ndcg(fuse(q), q, ctx["sources"], ctx["qrels"]) for q in queries]
    return {
        "choose": round(statistics.fmean(scores[0::2]), 4),
        "check": round(statistics.fmean(scores[1::2]), 4),
        "all": round(statistics.fmean(scores), 4),
    }


K1S = (0.9, 1.2, 1.5)
BS = (0.4, 0.6, 0.75, 0.9)
FUSIONS: dict[str, Fuse] = {
    "keyword": lambda q: q.keyword,
    "minmax a=0.4": lambda q: weighted(q.dense, q.keyword, 0.4),
    "minmax a=0.5": lambda q: weighted(q.dense, q.keyword, 0.5),
    "minmax a=0.6": lambda q: weighted(q.dense, q.keyword, 0.6),
    "zscore a=0.5": lambda q: weighted(q.dense, q.keyword, 0.5, z_score),
    "zscore a=0.6": lambda q: weighted(q.dense, q.keyword, 0.6, z_score),
}


def bm25_grid(
    queries: list[Query],
    snapshot: Any,
    ctx: dict[str, Any],
    k1s: Sequence[float],
    bs: Sequence[float],
) -> dict[str, Any]:
    """BM25 k1/b (query-time constants of ragd's BM25): BM25 alone and fused with each."""
    from index.faiss_store import keyword as kw

    out = {}
    saved = (kw.K1, kw.B)
    for k1 in k1s:
        for b in bs:
            kw.K1, kw.B = k1, b
            lists = [
                Query(
                    q.id, q.text, q.dense, snapshot.keyword_search(q.text, DEPTH), q.rare, q.length
                )
                for q in queries
            ]
            out[f"k1={k1} b={b}"] = {name: evaluate(lists, f, ctx) for name, f in FUSIONS.items()}
    kw.K1, kw.B = saved
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--work-dir", type=Path, required=True)
    parser.add_argument("--bm25", action="store_true", help="also the BM25 k1/b grid")
    parser.add_argument("--only-bm25", action="store_true", help="the BM25 k1/b grid alone")
    parser.add_argument("--k1", type=float, nargs="*", default=K1S)
    parser.add_argument("--b", type=float, nargs="*", default=BS)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    queries, ctx, snapshot = collect(args.dataset, args.work_dir)
    with closing(ctx["store"]):
        chosen = {} if args.only_bm25 else variants()
        results: dict[str, Any] = {
            name: evaluate(queries, fuse, ctx) for name, fuse in chosen.items()
        }
        best = max(
            (n for n in results if n not in ("dense", "keyword")),
            key=lambda n: results[n]["choose"],
            default="",
        )
        for name, r in results.items():
            print(f"{name:48s} choose {r['choose']:.4f} check {r['check']:.4f} all {r['all']:.4f}")
        if best:
            print(f"chosen on the even half: {best}: {results[best]}")
        report = {"queries": len(queries), "variants": results, "chosen": best}
        if args.bm25 or args.only_bm25:
            report["bm25"] = bm25_grid(queries, snapshot, ctx, args.k1, args.b)
            for name, r in report["bm25"].items():
                for fusion, scores in r.items():
                    print(f"{name:14s} {fusion:14s} {json.dumps(scores)}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
