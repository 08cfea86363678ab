"""The curated model catalogue: instruct GGUFs that run well on CPU and GPU, and what is local."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CURRENT = "current"  # data/models/current: the model `ragd models use` chose


@dataclass(frozen=True)
class Entry:
    """One catalogue model; sizes are the hub's Q4_K_M files, memory adds a 4096-token KV
    cache and llama.cpp's buffers (what `ragd serve` needs in RAM, or VRAM when offloaded)."""

    name: str
    repo: str
    file: str
    params: str
    size_gb: float
    memory_gb: float
    licence: str
    note: str

    @property
    def spec(self) -> str:
        return f"{self.repo}:{self.file}"


CATALOGUE: tuple[Entry, ...] = (
    Entry(
        "qwen2.5-0.5b",
        "bartowski/Qwen2.5-0.5B-Instruct-GGUF",
        "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf",
        "0.5B",
        0.40,
        0.7,
        "Apache-2.0",
        "Smallest real step up from the demo: fast on any CPU, short factual answers.",
    ),
    Entry(
        "llama3.2-1b",
        "bartowski/Llama-3.2-1B-Instruct-GGUF",
        "Llama-3.2-1B-Instruct-Q4_K_M.gguf",
        "1.2B",
        0.81,
        1.2,
        "Llama 3.2 Community",
        "Follows the cite-your-sources prompt well for its size; good on laptops.",
    ),
    Entry(
        "qwen2.5-1.5b",
        "bartowski/Qwen2.5-1.5B-Instruct-GGUF",
        "Qwen2.5-1.5B-Instruct-Q4_K_M.gguf",
        "1.5B",
        0.99,
        1.4,
        "Apache-2.0",
        "Recommended on CPU: the best answers per second below 2 GB, permissive licence.",
    ),
    Entry(
        "llama3.2-3b",
        "bartowski/Llama-3.2-3B-Instruct-GGUF",
        "Llama-3.2-3B-Instruct-Q4_K_M.gguf",
        "3.2B",
        2.02,
        2.8,
        "Llama 3.2 Community",
        "Solid grounded answers; usable on a modern CPU, fast on any GPU.",
    ),
    Entry(
        "phi3.5-mini",
        "bartowski/Phi-3.5-mini-instruct-GGUF",
        "Phi-3.5-mini-instruct-Q4_K_M.gguf",
        "3.8B",
        2.39,
        4.3,
        "MIT",
        "Strong reading comprehension, MIT licence; its large KV cache wants 4+ GB.",
    ),
    Entry(
        "qwen2.5-7b",
        "bartowski/Qwen2.5-7B-Instruct-GGUF",
        "Qwen2.5-7B-Instruct-Q4_K_M.gguf",
        "7.6B",
        4.68,
        5.3,
        "Apache-2.0",
        "Recommended on a GPU (6+ GB VRAM): the best answers here; slow on CPU.",
    ),
    Entry(
        "llama3.1-8b",
        "bartowski/Meta-Llama-3.1-8B-Instruct-GGUF",
        "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf",
        "8.0B",
        4.92,
        5.8,
        "Llama 3.1 Community",
        "The largest here: best for long, multi-source answers on a GPU.",
    ),
)
RECOMMENDED = "qwen2.5-1.5b"  # what /health and `ragd models list` suggest over the demo model
BY_NAME = {e.name: e for e in CATALOGUE}


def expand(spec: str) -> str:
    """A catalogue name as owner/repo:file.gguf; anything else unchanged."""
    entry = BY_NAME.get(spec.strip().lower())
    return entry.spec if entry else spec


def downloaded(models_dir: Path) -> list[Path]:
    """Every complete GGUF under data/models (downloads in progress end in .part)."""
    return sorted(models_dir.glob("*/*.gguf")) if models_dir.is_dir() else []


def current(models_dir: Path) -> str | None:
    """The model `ragd models use` recorded, if any."""
    path = models_dir / CURRENT
    text = path.read_text(encoding="utf-8").strip() if path.is_file() else ""
    return text or None


def record_current(spec: str, models_dir: Path) -> None:
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = models_dir / (CURRENT + ".tmp")
    tmp.write_text(spec + "\n", encoding="utf-8")
    tmp.replace(models_dir / CURRENT)  # atomic: a reader sees the old choice or the new
