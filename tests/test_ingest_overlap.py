"""The overlapped ingest (embedding on its own thread, chunks' token ids counted once and
embedded as ids) stores exactly what the in-line path stores: same chunks, same order, same
vectors within float tolerance, the same outcomes."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from config.factories import load_embedder
from config.settings import Settings
from index.faiss_store.store import FaissStore
from ingest.chunker import Chunker
from ingest.lane import vectors
from ingest.loaders import load
from ingest.pipeline import bounded, build_ingestor, discover
from tests.fakes import FakeEmbedder
from tests.support import write_files

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def corpus(folder: Path) -> Path:
    """The packaged samples (PDF, DOCX, HTML, Markdown, text) and many small text files, so
    an ingest runs through several embedding batches."""
    shutil.copytree(SAMPLES, folder)
    sentences = [f"Fact {i} is about topic {i % 7} and its consequence {i * 3}." for i in range(40)]
    write_files(
        folder,
        {f"notes/n{i:02}.txt": " ".join(sentences[i % 10 :]) + f" Note {i}." for i in range(30)},
    )
    return folder


def stored(store: FaissStore, name: str) -> tuple[list[tuple[object, ...]], np.ndarray]:
    rows, vecs = [], []
    for doc, chunks, vectors_ in store.collection(name).export():
        rows += [(doc.source, c.text, c.page, c.heading) for c in chunks]
        vecs.append(vectors_)
    return rows, np.vstack(vecs)


def ingest_both(embedder, settings: Settings, folder: Path) -> tuple[FaissStore, list, list]:
    store = FaissStore(settings.index_dir)
    outcomes = []
    for name, overlap, reuse in (("before", False, False), ("after", True, True)):
        ingestor = build_ingestor(settings, embedder, store, name)
        ingestor.chunker = Chunker(embedder, settings.chunk_tokens, settings.chunk_overlap, reuse)
        ingestor.overlap, ingestor.batch_chunks = overlap, 40  # several batches in flight
        summary = ingestor.ingest(discover([folder]))
        outcomes.append([(o.source, o.status, o.chunks, o.reason) for o in summary.outcomes])
    return store, outcomes[0], outcomes[1]


def test_overlapped_ingest_on_a_fake_embedder_stores_the_same_as_in_line(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", chunk_tokens=32, chunk_overlap=6)
    store, before, after = ingest_both(FakeEmbedder(), settings, corpus(tmp_path / "docs"))
    assert after == before and len(after) == 35
    (rows_a, vecs_a), (rows_b, vecs_b) = stored(store, "before"), stored(store, "after")
    assert rows_b == rows_a and np.array_equal(vecs_b, vecs_a)


@pytest.mark.e2e
def test_overlapped_ingest_with_token_ids_stores_the_same_chunks_and_vectors(tmp_path):
    """The real embedder (ONNX int8, WordPiece): ids joined from sentences embed as the
    chunk's text does."""
    settings = Settings(data_dir=tmp_path / "data")
    embedder = load_embedder(settings)
    assert getattr(embedder, "joins_exactly", False)  # the ids path is the one tested
    store, before, after = ingest_both(embedder, settings, corpus(tmp_path / "docs"))
    assert after == before
    (rows_a, vecs_a), (rows_b, vecs_b) = stored(store, "before"), stored(store, "after")
    assert rows_b == rows_a and len(rows_a) > 40
    assert np.allclose(vecs_b, vecs_a, atol=1e-5)


@pytest.mark.e2e
def test_chunk_ids_are_the_tokenizer_ids_of_the_indexed_text(tmp_path):
    embedder = load_embedder(Settings(data_dir=tmp_path / "data"))
    data = (SAMPLES / "troubleshooting.html").read_bytes()
    chunks = Chunker(embedder).chunk(bounded(load("troubleshooting.html", data)))
    assert chunks and all(c.ids is not None for c in chunks)
    expected = embedder.encode_tokens([c.indexed_text for c in chunks])
    assert [list(c.ids or ()) for c in chunks] == expected
    by_ids = vectors(embedder, chunks)
    by_text = embedder.embed([c.indexed_text for c in chunks])
    assert np.allclose(by_ids, by_text, atol=1e-6)
