"""Ingestion throughput on SciFact files and on real manuals (HTML pages and a PDF): ragd's
pipeline against the same pipeline as it was (embedding in line, every chunk tokenized again),
the embedder alone on the same chunks (the embedding-bound limit) and the LangChain pipeline a
user would write; with the seconds each stage of the ingest took.

Models are loaded once, outside every timing; each repeat runs them side by side into fresh
folders (ragd now / as before in alternating order), so load on the machine hits all alike.
"""

from __future__ import annotations

import shutil
import sqlite3
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.core import ROOT, Context, figure, ratio, timer
from bench.corpus import write_scifact_files

STAGES = (
    *("read", "parse", "normalize", "chunk", "tokenize"),
    *("embed", "embed_wait", "write", "commit", "total"),
)
VARIANTS = ("now", "before")  # before: embedding in line, chunks re-tokenized (the A/B)


@dataclass(frozen=True)
class Corpus:
    name: str
    folder: Path
    docs: int
    patterns: tuple[str, ...] = ("**/*.txt",)  # what LangChain's DirectoryLoader reads


def run(ctx: Context) -> dict[str, Any]:
    ragd = RagdPipeline(ctx.work)
    langchain = LangChainPipeline(ctx.work)
    scifact = ctx.work / "scifact"
    corpora = [Corpus("SciFact", scifact, write_scifact_files(scifact, ctx.pick(24, 160)))]
    real = realdocs_subset(ctx.work / "realdocs", ctx.pick(0, 8))
    if real is not None:
        corpora.append(real)
    else:
        ctx.notes.append("Real manuals: left to the full run (or the corpus is not here).")
    result: dict[str, Any] = {"figures": {}, "ratios": [], "plots": [], "notes": [], "tables": []}
    for corpus in corpora:
        _merge(result, trial(ctx, corpus, ragd, langchain))
    return result


def trial(
    ctx: Context, corpus: Corpus, ragd: RagdPipeline, langchain: LangChainPipeline
) -> dict[str, Any]:
    ragd.warm_up(corpus.folder)
    texts = ragd.chunk_texts(corpus.folder)  # the chunks ragd embeds, made outside timing
    variants = ctx.pick(VARIANTS[:1], VARIANTS)  # the A/B in the full run only
    rows: dict[str, list[float]] = {k: [] for k in (*variants, "limit", "torch", "langchain")}
    stages: dict[str, list[dict[str, float]]] = {v: [] for v in variants}
    counts = {"chunks": 0, "langchain": 0}
    for repeat in range(ctx.repeats):
        ctx.log(f"   ingestion {corpus.name} repeat {repeat + 1}/{ctx.repeats}")
        for variant in variants if repeat % 2 == 0 else variants[::-1]:
            seconds, chunks, spent = ragd.ingest(corpus.folder, variant, repeat)
            rows[variant].append(seconds)
            stages[variant].append(spent)
            counts["chunks"] = chunks
        rows["limit"].append(ragd.embed_only(texts))
        if corpus.name == "SciFact":
            rows["torch"].append(ragd.torch_encode(texts))
        lc_seconds, counts["langchain"] = langchain.ingest(corpus, repeat)
        rows["langchain"].append(lc_seconds)
    assert counts["chunks"] == len(texts), (counts["chunks"], len(texts))
    return _result(ragd.backend, corpus, counts, rows, stages)


def realdocs_dir() -> Path | None:
    """The real-document corpus (bench/realdocs/setup.sh builds it); RAGD_REALDOCS overrides."""
    import os

    candidates = [ROOT / "data" / "realdocs" / "corpus", ROOT.parent / "data" / "realdocs-corpus"]
    if os.environ.get("RAGD_REALDOCS"):
        candidates.insert(0, Path(os.environ["RAGD_REALDOCS"]))
    return next((c for c in candidates if (c / "git").is_dir()), None)


def realdocs_subset(folder: Path, pages: int) -> Corpus | None:
    """`pages` git manual pages (HTML) and Octave's reference card (a 2-page PDF), copied."""
    source = realdocs_dir()
    if source is None or pages == 0:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    pdf = source / "octave" / "refcard-a4.pdf"
    files = [*sorted((source / "git").glob("*.html"))[:pages], pdf]
    for path in files:
        shutil.copy(path, folder / path.name)
    return Corpus("real manuals", folder, len(files), ("**/*.html", "**/*.pdf"))


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
        self._remove("warm-up")

    def chunk_texts(self, folder: Path) -> list[str]:
        """What the ingest embeds (each chunk's heading path and text), chunked in process."""
        from ingest.chunker import Chunker
        from ingest.loaders import load
        from ingest.pipeline import SourceFile, bounded, discover

        s, texts = self.settings, []
        chunker = Chunker(self.embedder, s.chunk_tokens, s.chunk_overlap)
        for item in discover([folder]):
            assert isinstance(item, SourceFile)
            blocks = bounded(load(item.source, item.path.read_bytes()))
            texts += [c.indexed_text for c in chunker.chunk(blocks)]
        return texts

    def ingest(
        self, folder: Path, variant: str, repeat: int
    ) -> tuple[float, int, dict[str, float]]:
        """Seconds for a whole `ingest` of the folder, the chunks it stored, and its stages."""
        from ingest.chunker import Chunker
        from ingest.pipeline import build_ingestor, discover

        name = f"{variant}{repeat}"
        ingestor = build_ingestor(self.settings, self.embedder, self.store, name)
        if variant == "before":
            s = self.settings
            ingestor.chunker = Chunker(self.embedder, s.chunk_tokens, s.chunk_overlap, False)
            ingestor.overlap = False
        with timer() as took:
            summary = ingestor.ingest(discover([folder]))
        assert summary.ok, summary.as_dict()
        chunks = _stored_count(self.settings.index_dir / name / "chunks.sqlite")
        self._remove(name)
        return took[0], chunks, ingestor.stages.as_dict()

    def _remove(self, name: str) -> None:
        """Delete a collection's folder, the store's open handle first: the next corpus reuses
        the name, and a cached collection whose folder is gone would write nowhere."""
        self.store.close()
        shutil.rmtree(self.settings.index_dir / name)

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

    def ingest(self, corpus: Corpus, repeat: int) -> tuple[float, int]:
        from langchain_community.vectorstores import FAISS
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        with timer() as took:
            docs = [d for pattern in corpus.patterns for d in _lc_load(corpus.folder, pattern)]
            splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
            splits = splitter.split_documents(docs)
            store = FAISS.from_documents(splits, self.embeddings)
            store.save_local(str(self.work / f"langchain-{repeat}"))
        return took[0], len(splits)


def _lc_load(folder: Path, pattern: str) -> list[Any]:
    """LangChain's loader per kind: TextLoader, BSHTMLLoader (BeautifulSoup), PyPDFLoader."""
    from langchain_community.document_loaders import (
        BSHTMLLoader,
        DirectoryLoader,
        PyPDFLoader,
        TextLoader,
    )

    kinds: dict[str, tuple[Any, dict[str, Any]]] = {
        ".txt": (TextLoader, {}),
        ".html": (BSHTMLLoader, {"open_encoding": "utf-8"}),
        ".pdf": (PyPDFLoader, {}),
    }
    loader, kwargs = kinds[Path(pattern).suffix]
    return list(
        DirectoryLoader(str(folder), glob=pattern, loader_cls=loader, loader_kwargs=kwargs).load()
    )


def _stored_count(store: Path) -> int:
    with sqlite3.connect(store) as db:
        return int(db.execute("SELECT count(*) FROM chunks").fetchone()[0])


def _merge(into: dict[str, Any], part: dict[str, Any]) -> None:
    into["figures"].update(part["figures"])
    for key in ("ratios", "plots", "notes", "tables"):
        into[key] += part[key]


def _result(
    backend: str,
    corpus: Corpus,
    counts: dict[str, int],
    rows: dict[str, list[float]],
    stages: dict[str, list[dict[str, float]]],
) -> dict[str, Any]:
    chunks, docs, name = counts["chunks"], corpus.docs, corpus.name
    rate = {k: [chunks / s for s in v] for k, v in rows.items() if k != "langchain" and v}
    docs_rate = {k: [docs / s for s in v] for k, v in rows.items() if v}
    key = name.lower().replace(" ", "_")
    figures = {
        f"{key}_now_chunks_per_s": figure(rate["now"], "chunks/s", f"{name}: ragd ingest", 1),
        f"{key}_limit_chunks_per_s": figure(
            rate["limit"], "chunks/s", f"{name}: embedder alone, same chunks ({backend})", 1
        ),
        f"{key}_ragd_docs_per_s": figure(docs_rate["now"], "docs/s", f"{name}: ragd ingest", 2),
        f"{key}_langchain_docs_per_s": figure(
            docs_rate["langchain"], "docs/s", f"{name}: LangChain pipeline", 2
        ),
    }
    if "before" in rate:
        label = f"{name}: ragd ingest as before (in line, re-tokenized)"
        figures[f"{key}_before_chunks_per_s"] = figure(rate["before"], "chunks/s", label, 1)
    if "torch" in rate:
        figures[f"{key}_torch_chunks_per_s"] = figure(
            rate["torch"], "chunks/s", f"{name}: bare SentenceTransformer.encode (torch fp32)", 1
        )
    return {
        "figures": figures,
        "ratios": _ratios(name, rate, docs_rate),
        "plots": [_plot(name, docs, chunks, figures, key)],
        "tables": [_stage_table(name, stages)],
        "notes": [
            f"{name}: {docs} files; ragd made {chunks} chunks (<= 256 tokens, 32 overlap), "
            f"LangChain {counts['langchain']} (1000 chars, 200 overlap). The embedder alone "
            "embeds the same chunk texts (heading path and text) in one call.",
        ],
    }


def _ratios(
    name: str, rate: dict[str, list[float]], docs_rate: dict[str, list[float]]
) -> list[dict[str, Any]]:
    def per_repeat(a: list[float], b: list[float]) -> list[float]:
        return [x / y for x, y in zip(a, b, strict=True)]

    rows = [
        ratio(
            f"ingest chunks/s / embedder alone on the same chunks ({name})",
            per_repeat(rate["now"], rate["limit"]),
            0.95,
            limit="embedding; the rest (see the stage table) runs beside it on the same cores",
        ),
        ratio(
            f"ingest docs/s / LangChain docs/s ({name})",
            per_repeat(docs_rate["now"], docs_rate["langchain"]),
            2.0,
            limit="embedding speed per chunk (int8 ONNX against torch fp32), and the chunks each "
            "makes (LangChain's overlapping 1000-char chunks against ragd's token budget)",
        ),
    ]
    if "before" not in rate:
        return rows
    return [
        *rows,
        ratio(
            f"ingest chunks/s as before / embedder alone ({name}, the A/B's old side)",
            per_repeat(rate["before"], rate["limit"]),
            0.95,
            limit="embedding waits while files are read, chunked and written",
        ),
        ratio(
            f"ingest docs/s now / as before ({name}, same run)",
            per_repeat(docs_rate["now"], docs_rate["before"]),
            1.0,
            limit="the overlap hides the stages beside embedding; embedding itself is unchanged",
        ),
    ]


def _stage_table(name: str, stages: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    """Median seconds per stage, now and as before, with each stage's share of the total."""
    rows = []
    for stage in STAGES:
        cells: list[Any] = [stage]
        for variant in (v for v in VARIANTS if v in stages):
            seconds = statistics.median(s[stage] for s in stages[variant])
            total = statistics.median(s["total"] for s in stages[variant])
            cells += [round(seconds, 3), f"{100 * seconds / total:.0f}%" if total else "-"]
        rows.append(cells)
    return {
        "title": f"Where an ingest's seconds go, {name} (medians; embed is the embedding "
        "thread's busy time, the rest the ingesting thread's)",
        "header": ["stage", "now (s)", "share", "as before (s)", "share"][: 1 + 2 * len(stages)],
        "rows": rows,
    }


def _plot(name: str, docs: int, chunks: int, figures: dict[str, Any], key: str) -> dict[str, Any]:
    bars = {"ragd ingest": figures[f"{key}_ragd_docs_per_s"]}
    if f"{key}_before_chunks_per_s" in figures:
        bars["as before"] = _scaled(figures[f"{key}_before_chunks_per_s"], docs / chunks)
    bars["embedder alone"] = _scaled(figures[f"{key}_limit_chunks_per_s"], docs / chunks)
    bars["LangChain"] = figures[f"{key}_langchain_docs_per_s"]
    if f"{key}_torch_chunks_per_s" in figures:
        bars["torch encode"] = _scaled(figures[f"{key}_torch_chunks_per_s"], docs / chunks)
    return {
        "kind": "bars",
        "file": f"ingestion-{key}.png" if key != "scifact" else "ingestion.png",
        "title": f"Ingestion, {name}: {docs} files ({chunks} ragd chunks)",
        "unit": "documents/s",
        "bars": bars,
    }


def _scaled(stat: dict[str, Any], factor: float) -> dict[str, Any]:
    keys = ("median", "min", "max")
    return {**stat, **{k: round(stat[k] * factor, 2) for k in keys}}
