"""The service objects the app runs on, built once from Settings (or handed in by tests)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app.retrieval import check_model
from index.store import VectorStore
from index.vectors import AnnPolicy, set_ann_policy
from ingest.pipeline import Ingestor, build_ingestor, open_store
from ingest.settings import Settings
from models.device import passive_openmp
from models.embedder import Embedder, load_embedder
from models.generator import Generator, LlamaCppGenerator
from models.remote import RemoteGenerator
from models.resolve import DEFAULT_LLM_MODEL, resolve_llm_model

log = logging.getLogger("ragd")


@dataclass
class Services:
    settings: Settings
    embedder: Embedder
    generator: Generator
    library: VectorStore  # FAISS (index.library.Library) or Milvus, as RAGD_VECTOR_STORE says

    @classmethod
    def load(cls, settings: Settings) -> Services:
        """Load both models; raises ModelNotFound naming the path when one is missing."""
        passive_openmp()  # before torch and llama.cpp load: neither may spin on the other's cores
        generator = load_generator(settings)
        set_ann_policy(AnnPolicy(settings.ann_min_vectors, settings.ann_nprobe))
        embedder = load_embedder(
            settings.embed_model, settings.device, settings.embed_backend, settings.embed_cache
        )
        log.info("embedding model %s on %s", embedder.name, embedder.device)
        log.info(
            "generation model %s via %s on %s (%d layers offloaded, %d-token window)",
            generator.name,
            getattr(generator, "backend", "?"),
            generator.device,
            generator.gpu_layers,
            generator.context_window,
        )
        return cls(settings, embedder, generator, open_store(settings))

    def ingestor(self, collection: str | None) -> Ingestor:
        return build_ingestor(self.settings, self.embedder, self.library, collection)

    def check_collection(self, name: str) -> None:
        """Refuse a collection built by another embedding model or chunker."""
        check_model(self.library, self.embedder, name)

    def check_all_collections(self) -> None:
        for name in self.library.names():
            self.check_collection(name)


def load_generator(settings: Settings) -> Generator:
    """In-process llama.cpp, or the OpenAI-compatible server at RAGD_LLM_URL."""
    if settings.llm_url:
        model = "" if settings.llm_model == DEFAULT_LLM_MODEL else settings.llm_model
        return RemoteGenerator(
            settings.llm_url,
            model=model,
            api_key=settings.llm_api_key,
            context_window=settings.llm_context,
            temperature=settings.llm_temperature,
            timeout=settings.llm_timeout,
        )
    return LlamaCppGenerator(
        resolve_llm_model(settings.llm_model, settings.models_dir),
        context_window=settings.llm_context,
        threads=settings.llm_threads,
        gpu=settings.llm_gpu,
        temperature=settings.llm_temperature,
    )
