"""GPU check: llama.cpp built with CUDA and the embedder on torch CUDA, against the CPU.

    python -m bench gpu [--build] [--quick] [--json OUT]

On a machine with CUDA (torch sees a device), `--build` compiles llama-cpp-python with
CMAKE_ARGS=-DGGML_CUDA=on into a folder of its own (never the project's environment), then
records, for the packaged GGUF: layers offloaded, decode tokens/s and time to first token;
embedding passages/s with torch on CUDA and on the CPU; and the device `ragd serve` reports at
/health. Without CUDA it says "no CUDA" and why, and measures the CPU side alone, so the same
script runs (and is tested) everywhere; every run of it on a GPU repeats the same figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.core import ROOT

PROMPT = (
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
    "Explain in detail how a library catalogue helps readers find books.<|im_end|>\n"
    "<|im_start|>assistant\n"
)
BUILD = Path(os.environ.get("RAGD_GPU_BUILD", "/tmp/ragd-llama-cuda"))


def cuda_state() -> dict[str, Any]:
    """Whether CUDA is usable here, and if not, why not (in words)."""
    import torch

    smi = shutil.which("nvidia-smi")
    if torch.cuda.is_available():
        return {"cuda": True, "gpu": torch.cuda.get_device_name(0), "nvidia_smi": bool(smi)}
    why = "torch sees no CUDA device"
    why += "" if smi else " and nvidia-smi is not installed"
    return {"cuda": False, "reason": f"no CUDA: {why}", "nvcc": bool(shutil.which("nvcc"))}


def build_llama_cuda(target: Path) -> dict[str, Any]:
    """pip-install this llama-cpp-python version from source with CUDA into `target`."""
    import llama_cpp

    version = llama_cpp.__version__
    env = {**os.environ, "CMAKE_ARGS": "-DGGML_CUDA=on", "FORCE_CMAKE": "1"}
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-binary", "llama-cpp-python"]
    cmd += ["--target", str(target), f"llama-cpp-python=={version}"]
    started = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = round(time.perf_counter() - started, 1)
    return {
        "version": version,
        "ok": out.returncode == 0,
        "seconds": seconds,
        "log_tail": out.stdout[-1500:] + out.stderr[-1500:],
    }


def llama_probe(gpu: bool, tokens: int, runs: int) -> dict[str, Any]:
    """Layers offloaded, time to first token and decode tokens/s of the packaged GGUF."""
    from llama_cpp import Llama

    from models.resolve import packaged_llm_model

    threads = os.cpu_count() or 1
    llm = Llama(
        model_path=str(packaged_llm_model()),
        n_ctx=2048,
        n_gpu_layers=-1 if gpu else 0,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    arch = llm.metadata.get("general.architecture", "llama")
    blocks = int(llm.metadata.get(f"{arch}.block_count", 0))
    ttft, rates = [], []
    for _ in range(runs + 1):  # the first run warms up and is dropped
        llm.reset()
        started, first, count = time.perf_counter(), 0.0, 0
        for _ in llm.create_completion(PROMPT, max_tokens=tokens, temperature=0, stream=True):
            count += 1
            first = first or time.perf_counter()
        ttft.append((first - started) * 1000)
        rates.append((count - 1) / (time.perf_counter() - first))
    import llama_cpp

    offload = bool(llama_cpp.llama_supports_gpu_offload())
    return {
        "gpu_offload_build": offload,
        "layers_offloaded": blocks if gpu and offload else 0,
        "layers": blocks,
        "ttft_ms": _stat(ttft[1:]),
        "tokens_per_s": _stat(rates[1:]),
    }


def embed_probe(device: str, passages: int) -> dict[str, Any]:
    """Passages/s of the packaged embedder on torch, `device`, SciFact-sized texts."""
    from sentence_transformers import SentenceTransformer

    from models.resolve import DEFAULT_EMBED_MODEL, resolve_embed_model

    model = SentenceTransformer(resolve_embed_model(DEFAULT_EMBED_MODEL), device=device)
    texts = [
        f"Passage {i}: " + "the protein binds the receptor in treated cells " * 20
        for i in range(passages)
    ]
    model.encode(texts[:8])
    rates = []
    for _ in range(3):
        started = time.perf_counter()
        model.encode(texts, batch_size=64)
        rates.append(passages / (time.perf_counter() - started))
    return {"device": device, "passages_per_s": _stat(rates)}


def health_device(extra_path: Path | None) -> dict[str, Any]:
    """`ragd serve` on an empty data folder: the devices /health reports."""
    import tempfile

    from bench.serving import serve

    with tempfile.TemporaryDirectory() as tmp:
        path = [str(extra_path)] if extra_path else []
        env = {
            **os.environ,
            "RAGD_DATA_DIR": tmp,
            "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": os.pathsep.join([*path, str(ROOT)]),
        }
        with serve(env) as url:
            import httpx

            body = httpx.get(f"{url}/health", timeout=30).json()
    models = body["models"]
    return {
        "device": body["device"],
        "generation": models["generation"]["device"],
        "gpu_layers": models["generation"]["gpu_layers"],
        "embedding": models["embedding"]["device"],
    }


def run(build: bool, quick: bool, serve: bool) -> dict[str, Any]:
    state = cuda_state()
    result: dict[str, Any] = {"cuda": state}
    tokens, runs, passages = (16, 1, 32) if quick else (128, 3, 512)
    result["llama_cpu"] = llama_probe(False, tokens, runs)
    result["embed_cpu"] = embed_probe("cpu", passages)
    if state["cuda"]:
        result["embed_cuda"] = embed_probe("cuda", passages)
        if build:
            result["build"] = build_llama_cuda(BUILD)
        result["llama_gpu"] = _in_build(tokens, runs) if build else llama_probe(True, tokens, runs)
    if serve:
        result["health"] = health_device(BUILD if state["cuda"] and build else None)
    return result


def _in_build(tokens: int, runs: int) -> dict[str, Any]:
    """The GPU probe in a child whose llama_cpp is the CUDA build."""
    code = "import json; from bench.gpu import llama_probe; "
    code += f"print(json.dumps(llama_probe(True, {tokens}, {runs})))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BUILD), str(ROOT)])}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode:
        return {"error": out.stderr[-2000:]}
    probe: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return probe


def _stat(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
        "runs": len(values),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench gpu", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--build", action="store_true", help="build llama-cpp-python with CUDA")
    parser.add_argument("--quick", action="store_true", help="few tokens and passages")
    parser.add_argument("--check", action="store_true", help="only say whether CUDA is here")
    parser.add_argument("--no-serve", action="store_true", help="skip the /health check")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    from models.device import passive_openmp

    passive_openmp()  # as `ragd serve` runs; a spinning OpenMP team crawls on a busy machine
    result = (
        {"cuda": cuda_state()} if args.check else run(args.build, args.quick, not args.no_serve)
    )
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    if not result["cuda"]["cuda"]:
        print(result["cuda"]["reason"], file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
