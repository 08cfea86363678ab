"""The Milvus collections behind every ragd collection: fields, partition keys and indexes.

One deployment (a prefix) is four Milvus collections shared by all its ragd collections, each
row carrying its ragd collection's name in the partition key field `collection`:
`<prefix>chunks` (text, metadata, dense vector, BM25 sparse vector), `<prefix>docs` (one row per
document), `<prefix>terms` (how many chunks of a collection hold each term: BM25's document
frequency) and `<prefix>collections` (spec, generation, chunk count and total length).
"""

from __future__ import annotations

from typing import Any

from index.types import IndexSpec

# VARCHAR limits, in UTF-8 bytes: a row over one fails the whole upsert, so writers check first.
MAX_TEXT_BYTES = 65535
MAX_NAME_BYTES = 4096  # source and heading
NAME_BYTES = 64  # a ragd collection name (index.types.valid_name)
KEY_BYTES = 192  # `<collection>/<id>` primary keys
# Below this many chunks exact search (FLAT) is fast enough; beyond, HNSW (as FAISS turns to IVF).
HNSW_MIN_ROWS = 100_000
HNSW_BUILD = {"M": 16, "efConstruction": 200}


def _base(key: Any) -> Any:
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    if key == "int":
        schema.add_field("id", DataType.INT64, is_primary=True)
    else:
        schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=KEY_BYTES)
    schema.add_field("collection", DataType.VARCHAR, max_length=NAME_BYTES, is_partition_key=True)
    return schema


def chunk_schema(spec: IndexSpec) -> Any:
    from pymilvus import DataType

    schema = _base("int")
    schema.add_field("doc_id", DataType.VARCHAR, max_length=64)
    schema.add_field("source", DataType.VARCHAR, max_length=MAX_NAME_BYTES)
    schema.add_field("ord", DataType.INT64)
    schema.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
    schema.add_field("page", DataType.INT64)
    schema.add_field("heading", DataType.VARCHAR, max_length=MAX_NAME_BYTES)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=spec.dimension)
    # BM25 weights computed by ragd (index.bm25), not Milvus' analyzer: the same terms and scores
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("length", DataType.INT64)  # terms in the chunk (BM25's dl)
    schema.add_field("norm", DataType.FLOAT)  # k1 (1 - b + b dl / avgdl) its weights used
    return schema


def vector_index(rows: int) -> dict[str, Any]:
    """FLAT (exact) for a small deployment, HNSW from HNSW_MIN_ROWS chunks."""
    if rows < HNSW_MIN_ROWS:
        return {"index_type": "FLAT", "metric_type": "IP", "params": {}}
    return {"index_type": "HNSW", "metric_type": "IP", "params": HNSW_BUILD}


def chunk_index(client: Any, rows: int = 0) -> Any:
    index = client.prepare_index_params()
    index.add_index(field_name="vector", **vector_index(rows))
    index.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    index.add_index(field_name="doc_id", index_type="INVERTED")
    return index


def doc_schema() -> Any:
    from pymilvus import DataType

    schema = _base("key")
    schema.add_field("id", DataType.VARCHAR, max_length=64)
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


def terms_schema() -> Any:
    from pymilvus import DataType

    schema = _base("key")
    schema.add_field("df", DataType.INT64)
    stub(schema)
    return schema


def collections_schema() -> Any:
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("name", DataType.VARCHAR, is_primary=True, max_length=NAME_BYTES)
    schema.add_field("spec", DataType.VARCHAR, max_length=4096)
    schema.add_field("generation", DataType.INT64)
    schema.add_field("chunks", DataType.INT64)  # BM25's N
    schema.add_field("length", DataType.INT64)  # terms in all chunks: the mean chunk length's sum
    schema.add_field("writing", DataType.BOOL)  # a commit began and has not finished
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
