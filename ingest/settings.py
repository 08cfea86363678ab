"""The one Settings object: RAGD_* environment variables and a .env file, each with a default."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.embedder import EmbedBackend
from models.resolve import DEFAULT_EMBED_MODEL, DEFAULT_LLM_MODEL


class Settings(BaseSettings):
    """Configuration for ingest and serving. Defaults need no network."""

    model_config = SettingsConfigDict(env_prefix="RAGD_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Where indexes and downloaded models live.")
    embed_model: str = Field(
        DEFAULT_EMBED_MODEL,
        description="sentence-transformers model: the packaged default, a folder or a hub id.",
    )
    llm_model: str = Field(
        DEFAULT_LLM_MODEL,
        description="GGUF model: the packaged default, a .gguf path, or owner/repo:file.gguf.",
    )
    embed_backend: EmbedBackend = Field(
        "torch",
        description="How embeddings are computed: torch (fp32), or the model exported to ONNX "
        "(onnx, onnx-int8: faster on CPU) on first use into data/models/embed/. "
        "The index records it: changing it means `ingest --rebuild`.",
    )
    device: Literal["auto", "cpu", "cuda", "mps"] = Field(
        "auto", description="Device for embeddings; auto picks CUDA, then Metal (mps), then CPU."
    )
    llm_gpu: bool = Field(True, description="Offload all llama.cpp layers when the build can.")
    llm_context: int = Field(4096, ge=512, description="llama.cpp context window in tokens.")
    llm_threads: int | None = Field(None, ge=1, description="llama.cpp threads (default: all).")
    llm_temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature.")
    max_answer_tokens: int = Field(256, ge=16, description="Tokens reserved for the answer.")
    top_k: int = Field(6, ge=1, le=50, description="Chunks retrieved for an answer.")
    chunk_tokens: int = Field(
        256, ge=32, description="Largest chunk in embedder tokens (capped at the model's limit)."
    )
    chunk_overlap: int = Field(32, ge=0, description="Tokens shared by neighbouring chunks.")
    ann_min_vectors: int = Field(
        50_000,
        ge=1,
        description="Collections with at least this many chunks are searched through an "
        "approximate IVF index (built in the background at the first search); smaller ones "
        "exactly.",
    )
    ann_nprobe: int = Field(
        24, ge=1, description="IVF lists scanned per query: higher is slower and more exact."
    )
    collection: str = Field("default", description="Collection used when a request names none.")
    max_upload_mb: float = Field(50, gt=0, description="Largest accepted upload, in MB.")
    api_keys: str = Field(
        "", description="Comma-separated API keys; empty means no auth (loopback only)."
    )

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"
