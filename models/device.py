"""Device detection: CUDA, then Apple Metal (mps), then CPU."""

from __future__ import annotations

import os
from typing import Literal

Device = Literal["cuda", "mps", "cpu"]


def passive_openmp() -> None:
    """Let idle OpenMP threads sleep at once instead of spinning (unless the user chose).

    torch (query embeddings) and llama.cpp (generation) each keep an OpenMP thread team in the
    server process; a team spinning after its work holds the cores the other one needs. On 2
    cores this took /api/search p50 from 34 to 378 ms (bench/generation.py and bench/query.py
    measure it). OpenMP reads the variable when it loads: call this before torch or llama_cpp.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def torch_device(preferred: str = "auto") -> Device:
    """The device sentence-transformers should use; `preferred` overrides detection."""
    if preferred in ("cuda", "mps", "cpu"):
        return preferred  # type: ignore[return-value]
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def llama_gpu_offload() -> bool:
    """Whether this llama.cpp build can offload layers to a GPU (CUDA, Metal, ...)."""
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


def llama_backend() -> str:
    """A short name for the llama.cpp build's accelerator, from its system info."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode(errors="replace").upper()
    for name in ("CUDA", "METAL", "VULKAN", "HIP", "SYCL"):
        if f"{name} :" in info or f"{name} =" in info or name in info.split():
            return name.lower()
    return "gpu" if llama_gpu_offload() else "cpu"
