"""Ingestion throughput on SciFact files: ragd's pipeline against the embedder alone on the same
chunks (the embedding-bound limit) and against the LangChain pipeline a user would write.

Models are loaded once, outside every timing; each repeat runs the three side by side into a
fresh folder, so load on the machine hits all three alike.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

from bench.core import Context, figure, ratio, timer
from bench.corpus import write_scifact_files


def run(ctx: Context) -> dict[str, Any]:
    docs = write_scifact_files(ctx.work / "scifact", ctx.pick(24, 160))
    ragd = RagdPipeline(ctx.work)
    ragd.warm_up(ctx.work / "scifact")
    langchain = LangChainPipeline(ctx.work)
    rows: dict[str, list[float]] = {k: [] for k in ("ragd", "limit", "torch", "langchain")}
    chunks = lc_chunks = 0
    for repeat in range(ctx.repeats):
        ctx.log(f"   ingestion repeat {repeat + 1}/{ctx.repeats}")
        seconds, texts = ragd.ingest(ctx.work / "scifact", repeat)
        chunks = len(texts)
        rows["ragd"].append(seconds)
        rows["limit"].append(ragd.embed_only(texts))
        rows["torch"].append(ragd.torch_encode(texts))
        lc_seconds, lc_chunks = langchain.ingest(ctx.work / "scifact", repeat)
        rows["langchain"].append(lc_seconds)
    return _result(ragd.backend, docs, chunks, lc_chunks, rows)


class RagdPipeline:
    """ragd's Ingestor as the `ingest` CLI builds it, on the configured embedding backend."""

    def __init__(self, work: Path) -> None:
        from config.settings import Settings
        from index.faiss_store.store import FaissStore
        from models.embedder import load_embedder

        self.work = work
        self.settings = Settings(data_dir=work / "data")
        s = self.settings
        self.embedder = load_embedder(s.embed_model, s.device, s.embed_backend, s.embed_cache)
        self.backend = s.embed_backend
        self.store = FaissStore(s.index_dir)
        self._torch: Any = None
        self.embedder.embed(["warm up the model"] * 4)

    def warm_up(self, folder: Path) -> None:
        """Start the parser pool and fill caches with a two-file ingest, as a model load would."""
        from ingest.pipeline import build_ingestor, discover

        files = [i for i in discover([folder])][:2]
        build_ingestor(self.settings, self.embedder, self.store, "warm-up").ingest(files)
        shutil.rmtree(self.settings.index_dir / "warm-up")

    def ingest(self, folder: Path, repeat: int) -> tuple[float, list[str]]:
        """Seconds for a whole `ingest` of the folder, and the chunk texts it stored."""
        from ingest.pipeline import build_ingestor, discover

        name = f"run{repeat}"
        ingestor = build_ingestor(self.settings, self.embedder, self.store, name)
        with timer() as took:
            summary = ingestor.ingest(discover([folder]))
        assert summary.ok, summary.as_dict()
        texts = _stored_texts(self.settings.index_dir / name / "chunks.sqlite")
        shutil.rmtree(self.settings.index_dir / name)
        return took[0], texts

    def embed_only(self, texts: list[str]) -> float:
        """The embedder alone on the same chunks, in one call (the embedding-bound limit)."""
        with timer() as took:
            self.embedder.embed(texts)
        return took[0]

    def torch_encode(self, texts: list[str]) -> float:
        """Bare `SentenceTransformer.encode` (fp32 torch) on the same chunks, for reference."""
        if self._torch is None:
            from sentence_transformers import SentenceTransformer

            from models.resolve import resolve_embed_model

            self._torch = SentenceTransformer(resolve_embed_model(self.settings.embed_model))
            self._torch.encode(["warm up"] * 4)
        with timer() as took:
            self._torch.encode(texts, normalize_embeddings=True)
        return took[0]


class LangChainPipeline:
    """What a user would write: DirectoryLoader, RecursiveCharacterTextSplitter(1000, 200),
    HuggingFaceEmbeddings on the same packaged model, LangChain's FAISS store saved to disk."""

    def __init__(self, work: Path) -> None:
        from langchain_huggingface import HuggingFaceEmbeddings

        from models.resolve import DEFAULT_EMBED_MODEL, resolve_embed_model

        self.work = work
        self.embeddings = HuggingFaceEmbeddings(
            model_name=resolve_embed_model(DEFAULT_EMBED_MODEL),
            model_kwargs={"device": "cpu"},
            encode_kwargs={"normalize_embeddings": True},
        )
        self.embeddings.embed_documents(["warm up the model"] * 4)

    def ingest(self, folder: Path, repeat: int) -> tuple[float, int]:
        from langchain_community.document_loaders import DirectoryLoader, TextLoader
        from langchain_community.vectorstores import FAISS
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        with timer() as took:
            docs = DirectoryLoader(str(folder), glob="**/*.txt", loader_cls=TextLoader).load()
            splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
            splits = splitter.split_documents(docs)
            store = FAISS.from_documents(splits, self.embeddings)
            store.save_local(str(self.work / f"langchain-{repeat}"))
        return took[0], len(splits)


def _stored_texts(store: Path) -> list[str]:
    with sqlite3.connect(store) as db:
        return [row[0] for row in db.execute("SELECT text FROM chunks ORDER BY id")]


def _result(
    backend: str, docs: int, chunks: int, lc_chunks: int, rows: dict[str, list[float]]
) -> dict[str, Any]:
    rate = {k: [chunks / s for s in v] for k, v in rows.items() if k != "langchain"}
    docs_rate = {"ragd": [docs / s for s in rows["ragd"]]}
    docs_rate["langchain"] = [docs / s for s in rows["langchain"]]
    figures = {
        "ragd_chunks_per_s": figure(rate["ragd"], "chunks/s", f"ragd ingest ({backend})", 1),
        "limit_chunks_per_s": figure(
            rate["limit"], "chunks/s", f"embedder alone, same chunks ({backend})", 1
        ),
        "torch_chunks_per_s": figure(
            rate["torch"], "chunks/s", "bare SentenceTransformer.encode (torch fp32)", 1
        ),
        "ragd_docs_per_s": figure(docs_rate["ragd"], "docs/s", "ragd ingest", 1),
        "langchain_docs_per_s": figure(docs_rate["langchain"], "docs/s", "LangChain pipeline", 1),
    }
    return {
        "figures": figures,
        "ratios": [
            ratio(
                "ingest chunks/s / embedder alone on the same chunks",
                [a / b for a, b in zip(rate["ragd"], rate["limit"], strict=True)],
                0.9,
                limit="embedding (the rest: reading, chunking, SQLite and FAISS commits)",
            ),
            ratio(
                "ingest docs/s / LangChain docs/s",
                [a / b for a, b in zip(docs_rate["ragd"], docs_rate["langchain"], strict=True)],
                2.0,
                limit="embedding speed per chunk, and LangChain's overlapping 1000-char chunks",
            ),
        ],
        "plots": [
            {
                "kind": "bars",
                "file": "ingestion.png",
                "title": f"Ingestion, {docs} SciFact abstracts ({chunks} ragd chunks)",
                "unit": "documents/s",
                "bars": {
                    "ragd ingest": figures["ragd_docs_per_s"],
                    "embedder alone": _scaled(figures["limit_chunks_per_s"], docs / chunks),
                    "torch encode": _scaled(figures["torch_chunks_per_s"], docs / chunks),
                    "LangChain": figures["langchain_docs_per_s"],
                },
            }
        ],
        "notes": [
            f"{docs} abstracts as .txt files; ragd made {chunks} chunks (<= 256 tokens, "
            f"32 overlap), LangChain {lc_chunks} (1000 chars, 200 overlap).",
            "The embedder-alone and torch bars are the same chunks' embedding time, "
            "shown per document.",
        ],
    }


def _scaled(stat: dict[str, Any], factor: float) -> dict[str, Any]:
    keys = ("median", "min", "max")
    return {**stat, **{k: round(stat[k] * factor, 1) for k in keys}}
