"""Consistency check of a collection: manifest, segment checksums, vector and row counts."""

from __future__ import annotations

import numpy as np

from index.errors import IndexCorrupt
from index.faiss_store.collection import Collection
from index.faiss_store.compressed import read_ann
from index.faiss_store.keyword import load_keyword
from index.faiss_store.manifest import PREVIOUS, Manifest, read_manifest
from index.faiss_store.vectors import read_segment
from index.types import Health


def collection_health(collection: Collection) -> Health:
    """Empty, ok, degraded (the previous generation checks out and serves) or broken."""
    try:
        manifest = collection.manifest()
    except IndexCorrupt as exc:
        return _fallback(collection, 0, [str(exc)])
    if manifest is None:
        if (collection.folder / PREVIOUS).exists():
            return _fallback(collection, 0, ["manifest.json is missing"])
        how = f"ingest PATH --collection {collection.name}"
        return Health("empty", advice=f"nothing committed yet: add documents with `{how}`")
    problems = check_collection(collection, manifest)
    if not problems:
        return Health("ok", manifest.generation, manifest.generation)
    return _fallback(collection, manifest.generation, problems)


def _fallback(collection: Collection, generation: int, problems: list[str]) -> Health:
    """The newest generation is bad: degraded if the previous one checks out, else broken."""
    name = collection.name
    repair = (
        f"restore a backup (`ragd index restore SRC --collection {name}`) or re-embed "
        f"(`ingest --rebuild PATH --collection {name}`)"
    )
    try:
        previous = read_manifest(collection.folder, PREVIOUS)
    except IndexCorrupt:
        previous = None
    if previous is not None and not check_collection(collection, previous):
        advice = f"readers get the previous generation {previous.generation}; {repair}"
        return Health("degraded", generation, previous.generation, problems, advice)
    return Health("broken", generation, None, problems, f"nothing good to serve; {repair}")


def check_collection(collection: Collection, manifest: Manifest | None = None) -> list[str]:
    """Problems found in a committed generation (the newest by default); [] means consistent,
    and an empty, never-committed collection is consistent."""
    if manifest is None:
        try:
            manifest = collection.manifest()
        except IndexCorrupt as exc:
            return [str(exc)]
    if manifest is None:
        return []
    problems = collection.chunk_store.integrity_problems()
    live = collection.chunk_store.live_ids(manifest.generation)
    found = []
    for segment in manifest.segments:
        try:
            ids, _ = read_segment(collection.folder, segment, manifest.spec.dimension, trust=False)
        except IndexCorrupt as exc:
            problems.append(str(exc))
            continue
        found.append(ids[np.isin(ids, live)])
    vectors = np.concatenate(found) if found else np.empty(0, dtype=np.int64)
    docs, rows = collection.chunk_store.counts(manifest.generation)
    problems += _count_problems(
        manifest.vectors, manifest.rows, manifest.documents, len(vectors), rows, docs
    )
    if not problems and len(np.setdiff1d(live, vectors)) > 0:
        problems.append("chunk rows without a vector")
    return (
        problems
        + _keyword_problems(collection, manifest, live)
        + _ann_problems(collection, manifest)
    )


def _ann_problems(collection: Collection, manifest: Manifest) -> list[str]:
    """The compressed codes, where kept, must pass their checksum and hold every live vector."""
    for segment in manifest.ann:
        try:
            read_ann(collection.folder, segment)
        except IndexCorrupt as exc:
            return [str(exc)]
        if segment.count != manifest.vectors:
            return [f"the ANN index holds {segment.count} of {manifest.vectors} vectors"]
    return []


def _keyword_problems(collection: Collection, manifest: Manifest, live: np.ndarray) -> list[str]:
    """Each BM25 segment must pass its checksum; together they cover every live chunk once."""
    if not manifest.keyword:
        return ["no keyword index: run `ingest` once more to build it"] if len(live) else []
    try:
        keyword = load_keyword(collection.folder, manifest.keyword, live, None, trust=False)
    except IndexCorrupt as exc:
        return [str(exc)]
    if not keyword.covers(live):
        return [f"the keyword index covers {keyword.live_count} of {len(live)} live chunks"]
    return []


def _count_problems(
    want_vectors: int, want_rows: int, want_docs: int, vectors: int, rows: int, docs: int
) -> list[str]:
    problems = []
    if vectors != want_vectors:
        problems.append(f"manifest says {want_vectors} vectors, segments hold {vectors} live")
    if rows != want_rows:
        problems.append(f"manifest says {want_rows} chunk rows, the chunk store has {rows}")
    if docs != want_docs:
        problems.append(f"manifest says {want_docs} documents, the chunk store has {docs}")
    return problems
