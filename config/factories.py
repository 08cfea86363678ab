"""Settings turned into the service objects: the vector store, the embedder, the generator."""

from __future__ import annotations

from config.settings import Settings
from index.faiss_store.store import FaissStore
from index.faiss_store.vectors import AnnPolicy, set_ann_policy
from index.protocol import VectorStore
from models.embedder import Embedder
from models.embedder import load_embedder as load_embedder_model
from models.generator import Generator, LlamaCppGenerator
from models.remote import RemoteGenerator
from models.resolve import DEFAULT_LLM_MODEL, resolve_llm_model


def open_store(settings: Settings) -> VectorStore:
    """The vector store the settings choose: FAISS files, or Milvus."""
    if settings.vector_store == "milvus":
        from index.milvus_store.store import MilvusStore, connect

        client = connect(settings.milvus_endpoint, settings.milvus_token)
        return MilvusStore(
            client, settings.milvus_prefix, settings.max_query_terms, owns_client=True
        )
    # The search policy is FAISS's alone (when IVF replaces exact search), process-wide.
    set_ann_policy(
        AnnPolicy(
            settings.ann_min_vectors,
            settings.ann_nprobe,
            settings.ann_rerank,
            settings.ann_probe_share,
            settings.ann_codes,
        )
    )
    return FaissStore(settings.index_dir, settings.max_query_terms)


def load_embedder(settings: Settings) -> Embedder:
    """The embedding model and backend the settings name (the index records both)."""
    return load_embedder_model(
        settings.embed_model, settings.device, settings.embed_backend, settings.embed_cache
    )


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
        resolve_llm_model(settings.llm_choice, settings.models_dir),
        context_window=settings.llm_context,
        threads=settings.llm_threads,
        gpu=settings.llm_gpu,
        temperature=settings.llm_temperature,
    )
