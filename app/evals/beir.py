"""BEIR-format datasets: corpus, queries and qrels from a folder; the corpus written as files."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from app.evals.errors import InvalidDataset

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,150}$")


@dataclass(frozen=True)
class BeirDataset:
    """Queries with graded judgements over a corpus of `_id`-named documents."""

    folder: Path
    corpus: Path
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]  # query id -> {corpus id: relevance}

    def judged_queries(self) -> dict[str, str]:
        """The queries that have at least one relevant document (BEIR evaluates only these)."""
        return {q: t for q, t in self.queries.items() if any(self.qrels.get(q, {}).values())}

    def corpus_hash(self) -> str:
        digest = hashlib.sha256()
        with open(self.corpus, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()


def load_beir(folder: Path) -> BeirDataset:
    """Read a BEIR folder: corpus.jsonl, queries.jsonl and qrels/*.tsv (or qrels.tsv)."""
    corpus, queries = folder / "corpus.jsonl", folder / "queries.jsonl"
    for path in (corpus, queries):
        if not path.is_file():
            raise InvalidDataset(
                f"{path} is missing: a BEIR folder holds corpus.jsonl, "
                "queries.jsonl and qrels/*.tsv (or qrels.tsv)"
            )
    qrel_files = sorted((folder / "qrels").glob("*.tsv")) or sorted(folder.glob("qrels.tsv"))
    if not qrel_files:
        raise InvalidDataset(
            f"no relevance judgements in {folder}: add qrels/test.tsv or qrels.tsv"
        )
    texts = {str(row["_id"]): str(row.get("text", "")) for row in read_jsonl(queries)}
    qrels: dict[str, dict[str, int]] = {}
    for path in qrel_files:
        for query, doc, score in read_qrels(path):
            qrels.setdefault(query, {})[doc] = score
    return BeirDataset(folder, corpus, texts, qrels)


def read_jsonl(path: Path) -> Iterator[dict[str, object]]:
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidDataset(f"{path}:{number} is not JSON: {exc}") from exc
            if not isinstance(row, dict):
                raise InvalidDataset(f"{path}:{number} is not a JSON object")
            yield row


def read_qrels(path: Path) -> Iterator[tuple[str, str, int]]:
    """(query id, corpus id, relevance) rows; a header row is skipped."""
    with open(path, encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.reader(handle, delimiter="\t"), 1):
            if not row or (number == 1 and not row[-1].strip().lstrip("-").isdigit()):
                continue
            if len(row) < 3:
                raise InvalidDataset(f"{path}:{number}: expected query-id, corpus-id, score")
            yield row[0], row[1], int(row[-1])


def write_corpus(dataset: BeirDataset, folder: Path) -> dict[str, str]:
    """Each corpus document as `<folder>/<name>.txt` (title, blank line, text).

    Returns the ingest source name of each file mapped to its corpus `_id`.
    """
    folder.mkdir(parents=True, exist_ok=True)
    sources: dict[str, str] = {}
    for row in read_jsonl(dataset.corpus):
        doc_id = str(row.get("_id", ""))
        if not doc_id:
            raise InvalidDataset(f"{dataset.corpus}: a document has no _id")
        source = f"{file_stem(doc_id)}.txt"
        if source in sources:
            raise InvalidDataset(f"{dataset.corpus}: duplicate document _id {doc_id!r}")
        sources[source] = doc_id
        title, text = str(row.get("title") or "").strip(), str(row.get("text") or "").strip()
        body = f"{title}\n\n{text}" if title else text
        path = folder / source
        if not path.exists() or path.read_text(encoding="utf-8") != body:
            path.write_text(body, encoding="utf-8")
    return sources


def file_stem(doc_id: str) -> str:
    """A file name for a corpus id: the id itself when it is a safe name, else a digest of it."""
    if _SAFE_NAME.match(doc_id) and ".." not in doc_id:
        return doc_id
    return "doc-" + hashlib.sha256(doc_id.encode()).hexdigest()[:16]
