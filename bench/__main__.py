"""`python -m bench [--quick] [--only a,b] [--merge] [--out DIR]` runs the suite, writes the report;
`python -m bench NAME [options]` runs one benchmark on its own (its own command line)."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from bench.core import ROOT
from bench.report import print_summary, write_report
from bench.suite import BY_NAME, merge_results, run_suite

# Benchmarks with a command line of their own (`python -m bench NAME --help`).
STANDALONE = {
    "serving": "bench.serving",  # server vs direct llama-cpp-python, KV cache, concurrency
    "followups": "bench.followups",  # retrieval hit rate with and without follow-up rewriting
    "crash": "bench.crash",  # SIGKILL during ingest, then check the index
    "delete": "bench.delete",  # delete cost on an N-chunk collection
    "embedding": "bench.embedding",  # SciFact nDCG@10 per embedding backend (whole corpus)
    "generation": "bench.generation",  # memory bandwidth and decode tokens/s
    "milvus": "bench.milvus",  # a data folder's FAISS and Milvus side by side (real queries)
    "concurrency": "bench.concurrency",  # /api/search under load while answers generate
    "gpu": "bench.gpu",  # llama.cpp built with CUDA, torch CUDA embeddings, /health's device
}
RESULTS = ROOT / "bench" / "results"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run the benchmark suite: side-by-side ratios, a Markdown report and plots.",
        epilog=f"one benchmark alone: python -m bench {{{'|'.join(STANDALONE)}}} [options]",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (under 3 minutes)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {list(BY_NAME)}")
    parser.add_argument("--out", type=Path, help="results folder (default bench/results[/quick])")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="replace only the benchmarks run in the folder's latest.json, keep the others",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    if argv and argv[0] in STANDALONE:
        module = importlib.import_module(STANDALONE[argv[0]])
        return int(module.main(argv[1:]) or 0)
    args = parse_args(argv)
    only = [n for n in args.only.split(",") if n]
    unknown = [n for n in only if n not in BY_NAME]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {list(BY_NAME)}", file=sys.stderr)
        return 2
    out = args.out or (RESULTS / "quick" if args.quick else RESULTS)
    latest = out / "latest.json"
    previous = json.loads(latest.read_text()) if args.merge and latest.is_file() else None
    mode = "quick" if args.quick else "full"
    if previous and previous.get("mode") != mode:
        print(f"{latest} holds a {previous.get('mode')} run: no {mode} merge", file=sys.stderr)
        return 2
    results = run_suite(args.quick, only, out)
    failed = [n for n, r in results["benchmarks"].items() if r.get("error")]
    if previous:
        results = merge_results(previous, results)
    latest.write_text(json.dumps(results, indent=2))
    report = write_report(results, out)
    print_summary(results)
    print(f"\nreport: {report}\nresults: {latest}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
