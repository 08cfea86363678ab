"""The service objects the app runs on, built once from Settings (or handed in by tests)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app.retrieval import check_model
from index.library import Library
from ingest.pipeline import Ingestor, build_ingestor
from ingest.settings import Settings
from models.embedder import Embedder, SentenceTransformerEmbedder
from models.generator import Generator, LlamaCppGenerator
from models.resolve import resolve_llm_model

log = logging.getLogger("ragd")


@dataclass
class Services:
    settings: Settings
    embedder: Embedder
    generator: Generator
    library: Library

    @classmethod
    def load(cls, settings: Settings) -> Services:
        """Load both models; raises ModelNotFound naming the path when one is missing."""
        llm_path = resolve_llm_model(settings.llm_model, settings.models_dir)
        embedder = SentenceTransformerEmbedder(settings.embed_model, settings.device)
        generator = LlamaCppGenerator(
            llm_path,
            context_window=settings.llm_context,
            threads=settings.llm_threads,
            gpu=settings.llm_gpu,
            temperature=settings.llm_temperature,
        )
        log.info("embedding model %s on %s", embedder.name, embedder.device)
        log.info(
            "generation model %s on %s (%d layers offloaded)",
            generator.name,
            generator.device,
            generator.gpu_layers,
        )
        return cls(settings, embedder, generator, Library(settings.index_dir))

    def ingestor(self, collection: str | None) -> Ingestor:
        return build_ingestor(self.settings, self.embedder, self.library, collection)

    def check_collection(self, name: str) -> None:
        """Refuse a collection built by another embedding model or chunker."""
        check_model(self.library, self.embedder, name)

    def check_all_collections(self) -> None:
        for name in self.library.names():
            self.check_collection(name)
