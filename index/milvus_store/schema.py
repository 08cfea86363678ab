"""The Milvus collections behind a ragd collection: their fields, indexes and BM25 analyzer."""

from __future__ import annotations

from typing import Any

from index.types import IndexSpec


# The BM25 analyzer: standard tokenizer, lower case, bm25s' English stop words, Snowball stems:
# the terms ragd's own BM25 makes. (milvus-lite has no `english` analyzer type, and ignores the
# `_english_` stop word set: the list is spelled out.)
def analyzer() -> dict[str, Any]:
    from bm25s.stopwords import STOPWORDS_EN

    stop = {"type": "stop", "stop_words": sorted(STOPWORDS_EN)}
    return {"tokenizer": "standard", "filter": ["lowercase", stop, _STEMMER]}


_STEMMER = {"type": "stemmer", "language": "english"}


# VARCHAR limits, in UTF-8 bytes: a row over one fails the whole upsert, so writers check first.
MAX_TEXT_BYTES = 65535
MAX_NAME_BYTES = 4096  # source and heading


def chunk_schema(spec: IndexSpec) -> Any:
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=64)
    schema.add_field("source", DataType.VARCHAR, max_length=MAX_NAME_BYTES)
    schema.add_field("ord", DataType.INT64)
    schema.add_field(
        "text",
        DataType.VARCHAR,
        max_length=MAX_TEXT_BYTES,
        enable_analyzer=True,
        analyzer_params=analyzer(),
    )
    schema.add_field("page", DataType.INT64)
    schema.add_field("heading", DataType.VARCHAR, max_length=MAX_NAME_BYTES)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=spec.dimension)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(
            name="text_bm25",
            function_type=FunctionType.BM25,
            input_field_names=["text"],
            output_field_names=["sparse"],
        )
    )
    return schema


K1, B = 0.9, 0.4  # index.faiss_store.keyword's: a store never imports the other


def chunk_index(client: Any) -> Any:
    index = client.prepare_index_params()
    # FLAT: exact inner product, as FAISS below its IVF threshold; a Milvus server picks an
    # index of its own for AUTOINDEX, which a deployment can switch to at scale.
    index.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
    index.add_index(
        field_name="sparse",
        index_type="SPARSE_INVERTED_INDEX",
        metric_type="BM25",
        params={"bm25_k1": K1, "bm25_b": B},  # as ragd's own BM25 (a collection keeps its own)
    )
    return index


def doc_schema() -> Any:
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("source", DataType.VARCHAR, max_length=MAX_NAME_BYTES)
    schema.add_field("hash", DataType.VARCHAR, max_length=128)
    schema.add_field("pages", DataType.INT64)
    schema.add_field("chunks", DataType.INT64)
    schema.add_field("ingested_at", DataType.VARCHAR, max_length=64)
    schema.add_field("file_type", DataType.VARCHAR, max_length=64)
    schema.add_field("size", DataType.INT64)
    schema.add_field("modified", DataType.VARCHAR, max_length=64)
    schema.add_field("title", DataType.VARCHAR, max_length=MAX_NAME_BYTES)
    schema.add_field("tags", DataType.JSON)
    stub(schema)
    return schema


# Document metadata, added after the first release (older collections lack them).
METADATA_FIELDS = ("file_type", "size", "modified", "title", "tags")


def meta_schema() -> Any:
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("name", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("spec", DataType.VARCHAR, max_length=4096)
    schema.add_field("generation", DataType.INT64)
    stub(schema)
    return schema


def stub(schema: Any) -> None:
    """Milvus wants a vector field in every collection; the row tables carry a constant one."""
    from pymilvus import DataType

    schema.add_field("stub", DataType.FLOAT_VECTOR, dim=2)


def stub_index(client: Any) -> Any:
    index = client.prepare_index_params()
    index.add_index(field_name="stub", index_type="FLAT", metric_type="L2")
    return index
