"""The service objects the app runs on, built once from Settings (or handed in by tests)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from index.errors import ModelMismatch
from index.library import Library
from index.vectors import AnnPolicy, set_ann_policy
from index.writer import mismatch_message
from ingest.pipeline import Ingestor, build_ingestor, index_spec
from ingest.settings import Settings
from models.embedder import Embedder, load_embedder
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
        set_ann_policy(AnnPolicy(settings.ann_min_vectors, settings.ann_nprobe))
        embedder = load_embedder(
            settings.embed_model, settings.device, settings.embed_backend, settings.models_dir
        )
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
        manifest = self.library.collection(name).manifest()
        wanted = index_spec(self.embedder)
        if manifest is not None and manifest.spec != wanted:
            raise ModelMismatch(mismatch_message(name, manifest.spec, wanted))

    def check_all_collections(self) -> None:
        for name in self.library.names():
            self.check_collection(name)
