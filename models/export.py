"""Offline export of the embedding model to ONNX (fp32, or int8), cached for every data dir.

The export runs on this machine from the local (packaged) model: no network. It happens at the
first use of an ONNX backend, or ahead of time with `python -m models.export --backend onnx-int8`.
Exports live in <cache>/embed/<model>-<backend>/ (cache: RAGD_EMBED_CACHE, else
$XDG_CACHE_HOME/ragd or ~/.cache/ragd) and are redone when the source model's files change.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any

from models.errors import ModelLoadError
from models.resolve import DEFAULT_EMBED_MODEL, resolve_embed_model

INFO = "ragd_export.json"
FORMAT = 1  # bump when the export recipe changes, so cached exports are redone
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def default_cache() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "ragd"


def export_folder(spec: str, backend: str, cache: Path) -> Path:
    slug = re.sub(r"[^\w.-]+", "--", spec).strip("-.") or "model"
    return cache / "embed" / f"{slug}-{backend}"


def ensure_export(spec: str, backend: str, cache: Path) -> tuple[Path, dict[str, Any]]:
    """The export folder for `spec` on `backend`, made now unless a current one is cached."""
    from filelock import FileLock

    folder = export_folder(spec, backend, cache)
    source = resolve_embed_model(spec)
    wanted = _fingerprint(source, backend)
    info = _read_info(folder)
    if info is None or info.get("fingerprint") != wanted:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(folder) + ".lock"):  # two processes starting at once export once
            info = _read_info(folder)
            if info is None or info.get("fingerprint") != wanted:
                info = _export(source, backend, folder, wanted)
    return folder, info


def _read_info(folder: Path) -> dict[str, Any] | None:
    try:
        info: dict[str, Any] = json.loads((folder / INFO).read_text())
    except (OSError, ValueError):
        return None
    return info if (folder / str(info.get("file", ""))).is_file() else None


def _fingerprint(source: str, backend: str) -> str:
    """Changes when the source model's files, the backend or the export recipe change."""
    digest = hashlib.sha256(f"{FORMAT}:{backend}:{source}".encode())
    root = Path(source)
    if root.is_dir():
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            stat = path.stat()
            digest.update(f"{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _export(source: str, backend: str, folder: Path, fingerprint: str) -> dict[str, Any]:
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        info = _export_into(source, backend, tmp)
    except Exception as exc:  # torch.onnx / onnxruntime raise many kinds; one message for all
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelLoadError(f"could not export {source} to ONNX ({backend}): {exc}") from exc
    info["fingerprint"] = fingerprint
    (tmp / INFO).write_text(json.dumps(info, indent=2))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return info


def _export_into(source: str, backend: str, folder: Path) -> dict[str, Any]:
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    # Eager attention exports as plain MatMul/Softmax, which onnxruntime runs (and int8
    # quantizes) well; the SDPA path exports masking ops that cost a fifth of the time.
    model = SentenceTransformer(source, device="cpu", model_kwargs={"attn_implementation": "eager"})
    model.tokenizer.save_pretrained(folder)
    names = [n for n in INPUTS if n in model.tokenizer.model_input_names]
    _to_onnx(model, names, folder / "model.onnx")
    file = "model.onnx"
    if backend == "onnx-int8":
        _quantize(folder / "model.onnx", folder / "model_int8.onnx")
        (folder / "model.onnx").unlink()
        file = "model_int8.onnx"
    return {
        "source": source,
        "backend": backend,
        "file": file,
        "inputs": names,
        "dimension": int(model.get_embedding_dimension() or 0),
        "max_tokens": int(model.max_seq_length or 512),
    }


def _to_onnx(model: Any, names: list[str], path: Path) -> None:
    """The whole sentence-transformers pipeline (transformer + pooling) as one ONNX graph."""
    import torch

    class Pipeline(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            features: dict[str, Any] = self.model(dict(zip(names, tensors, strict=True)))
            embedding: torch.Tensor = features["sentence_embedding"]
            return embedding

    sample = model.tokenizer(["an example", "a longer example sentence"], padding=True)
    args = tuple(torch.tensor(sample[n]) for n in names)
    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    with warnings.catch_warnings():  # tracer warnings about Python branches are expected
        warnings.simplefilter("ignore")
        _export_graph(Pipeline().eval(), args, names, axes, path)


def _export_graph(
    module: Any, args: tuple[Any, ...], names: list[str], axes: Any, path: Path
) -> None:
    import torch

    torch.onnx.export(
        module,
        args,
        str(path),
        input_names=names,
        output_names=["embedding"],
        dynamic_axes={**axes, "embedding": {0: "batch"}},
        opset_version=17,
        dynamo=False,  # the TorchScript exporter needs no onnxscript and handles BERT well
    )


def _quantize(source: Path, target: Path) -> None:
    """int8 weights per output channel, activations quantized at run time (dynamic).

    Only matrix products with a constant weight are quantized: quantizing attention's
    activation-by-activation products too costs far more accuracy than it saves time.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.disable(logging.WARNING)  # its advice to pre-process applies to static quantization
    try:
        quantize_dynamic(
            source,
            target,
            weight_type=QuantType.QInt8,
            per_channel=True,
            extra_options={"MatMulConstBOnly": True},
        )
    finally:
        logging.disable(logging.NOTSET)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m models.export", description="Export the embedding model to ONNX."
    )
    parser.add_argument("--model", default=os.environ.get("RAGD_EMBED_MODEL", DEFAULT_EMBED_MODEL))
    parser.add_argument("--backend", choices=("onnx", "onnx-int8"), default="onnx-int8")
    cache = os.environ.get("RAGD_EMBED_CACHE")
    parser.add_argument("--cache", type=Path, default=Path(cache) if cache else default_cache())
    args = parser.parse_args(argv)
    folder, info = ensure_export(args.model, args.backend, args.cache)
    print(f"{info['backend']}: {folder / info['file']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
