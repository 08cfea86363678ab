"""The service objects the app runs on, built once from Settings (or handed in by tests)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import TracebackType

from app.answering.access import scoped
from app.answering.retrieval import check_model
from config.factories import load_embedder, load_generator, open_store
from config.settings import Settings
from index.protocol import VectorStore
from ingest.pipeline import Ingestor, build_ingestor
from ingest.sandbox import close_all
from models.device import passive_openmp
from models.embedder import Embedder
from models.generator import Generator

log = logging.getLogger("ragd")


@dataclass
class Services:
    """The models and store the app runs on; `close()` (or `with`) releases them all."""

    settings: Settings
    embedder: Embedder
    generator: Generator
    store: (
        VectorStore  # FAISS (index.faiss_store) or Milvus (index.milvus_store): RAGD_VECTOR_STORE
    )

    def __post_init__(self) -> None:
        # Every lookup of a collection asks who is acting (app/answering/access.py).
        self.store = scoped(self.store)

    @classmethod
    def load(cls, settings: Settings) -> Services:
        """Load both models; raises ModelNotFound naming the path when one is missing."""
        passive_openmp()  # before torch and llama.cpp load: neither may spin on the other's cores
        generator = load_generator(settings)
        embedder = load_embedder(settings)
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
        return build_ingestor(self.settings, self.embedder, self.store, collection)

    def check_collection(self, name: str) -> None:
        """Refuse a collection built by another embedding model or chunker."""
        check_model(self.store, self.embedder, name)

    def check_all_collections(self) -> None:
        for name in self.store.names():
            self.check_collection(name)

    def close(self) -> None:
        """Stop the parser workers, close the store's connections and free the generator."""
        close_all()
        self.store.close()
        self.generator.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
