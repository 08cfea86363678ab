"""The ONNX int8 embedding backend: exported offline, close to fp32, recorded in the index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.errors import ModelMismatch
from index.faiss_store.store import FaissStore
from index.faiss_store.writer import Writer
from index.types import DocumentRow, NewChunk
from ingest.pipeline import index_spec
from models.embedder import load_embedder
from models.export import INFO, export_folder

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
TEXTS = [
    "The maintainers meet on the first Tuesday of each month.",
    "Statins lower the risk of cardiovascular events in older adults.",
    "A short one.",
    "ragd keeps the previous generation of the index as a fallback when a segment is corrupt, "
    "so that searches keep working while the collection is rebuilt from the original files.",
]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.mark.e2e
def test_onnx_int8_matches_torch_and_is_recorded(models_dir: Path, tmp_path: Path) -> None:
    torch_embedder = load_embedder(MODEL, "cpu", "torch")
    int8 = load_embedder(MODEL, "cpu", "onnx-int8", models_dir)
    assert (export_folder(MODEL, "onnx-int8", models_dir) / INFO).is_file()
    cosines = (int8.embed(TEXTS) * torch_embedder.embed(TEXTS)).sum(axis=1)
    assert cosines.min() > 0.98
    assert np.allclose(np.linalg.norm(int8.embed(TEXTS), axis=1), 1, atol=1e-4)
    assert int8.count_tokens(TEXTS) == torch_embedder.count_tokens(TEXTS)
    assert int8.max_tokens == torch_embedder.max_tokens
    assert index_spec(int8).embed_backend == "onnx-int8"

    collection = FaissStore(tmp_path).collection("default")
    with Writer(collection, index_spec(torch_embedder)) as writer:
        doc = DocumentRow("d1", "a.txt", "h", None, 1, "2026-01-01")
        writer.put(doc, [NewChunk(TEXTS[0])], torch_embedder.embed(TEXTS[:1]))
        writer.commit()
    with pytest.raises(ModelMismatch, match="RAGD_EMBED_BACKEND=torch"):
        Writer(collection, index_spec(int8)).__enter__()


@pytest.mark.e2e
def test_export_is_cached(models_dir: Path) -> None:
    load_embedder(MODEL, "cpu", "onnx-int8", models_dir)
    info = export_folder(MODEL, "onnx-int8", models_dir) / INFO
    before = info.stat().st_mtime_ns
    load_embedder(MODEL, "cpu", "onnx-int8", models_dir)
    assert info.stat().st_mtime_ns == before


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="onnx-int8"):
        load_embedder(MODEL, "cpu", "tensorrt")
