"""Benchmark corpora: SciFact abstracts written out as files, and synthetic chunk texts."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np


def scifact_dir() -> Path:
    """The BEIR SciFact folder (corpus.jsonl, queries.jsonl, qrels/); RAGD_SCIFACT overrides.

    By default it is shared/eval/scifact beside the checkout (where CI puts shared/).
    """
    root = Path(__file__).resolve().parents[1]
    candidates = [root.parent / "shared" / "eval" / "scifact", root / "shared" / "eval" / "scifact"]
    if os.environ.get("RAGD_SCIFACT"):
        candidates.insert(0, Path(os.environ["RAGD_SCIFACT"]))
    for candidate in candidates:
        if (candidate / "corpus.jsonl").is_file():
            return candidate
    raise FileNotFoundError(
        "SciFact not found: set RAGD_SCIFACT to a BEIR folder with corpus.jsonl"
    )


def scifact_docs(limit: int | None = None) -> list[dict[str, str]]:
    docs = []
    with open(scifact_dir() / "corpus.jsonl") as handle:
        for line in handle:
            docs.append(json.loads(line))
            if limit and len(docs) >= limit:
                break
    return docs


def write_scifact_files(folder: Path, limit: int | None) -> int:
    """One .txt file per abstract (title, blank line, text); returns how many were written."""
    folder.mkdir(parents=True, exist_ok=True)
    docs = scifact_docs(limit)
    for doc in docs:
        (folder / f"{doc['_id']}.txt").write_text(f"{doc['title']}\n\n{doc['text']}\n")
    return len(docs)


def scifact_queries() -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """Queries that have judgements, and the judgements (query id -> doc id -> relevance)."""
    folder = scifact_dir()
    qrels: dict[str, dict[str, int]] = {}
    for path in sorted((folder / "qrels").glob("*.tsv")):
        for line in path.read_text().splitlines()[1:]:
            qid, did, score = line.split("\t")
            qrels.setdefault(qid, {})[did] = int(score)
    queries = {}
    with open(folder / "queries.jsonl") as handle:
        for line in handle:
            row = json.loads(line)
            if row["_id"] in qrels:
                queries[row["_id"]] = row["text"]
    return queries, qrels


WORDS = (
    "cell protein gene expression patients risk cancer study data model analysis treatment "
    "effect clinical immune response mice tumor blood dose trial therapy receptor signaling "
    "pathway mutation brain disease infection growth factor levels increased reduced associated"
).split()


def synthetic_texts(count: int, seed: int = 0, words: int = 60) -> list[str]:
    """Chunk-sized texts of random domain words (size matters here, not meaning)."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(WORDS), size=(count, words))
    vocab = np.array(WORDS)
    return [" ".join(vocab[row]) + f" #{i}" for i, row in enumerate(picks)]


class ZipfTexts:
    """Chunk texts whose words are drawn from SciFact's own word frequencies (about 30k words,
    stop words included, Zipf-like): a query term is as common in them as in real abstracts,
    where the 38-word texts above put every term in ~80% of chunks."""

    def __init__(self, seed: int = 0, words: int = 60) -> None:
        counts: dict[str, int] = {}
        for doc in scifact_docs():
            for word in re.findall(r"[a-z][a-z0-9-]+", f"{doc['title']} {doc['text']}".lower()):
                counts[word] = counts.get(word, 0) + 1
        vocab = np.array(sorted(counts))
        freq = np.array([counts[w] for w in vocab], dtype=np.float64)
        # inverse CDF as a table of 2^24 slots: the rarest word (p ~ 7e-7) still gets its own
        cells = (np.arange(_SLOTS) + 0.5) / _SLOTS
        self.table = np.searchsorted(np.cumsum(freq / freq.sum()), cells).astype(np.int32)
        self.table = np.minimum(self.table, len(vocab) - 1)
        self.vocab = np.char.add(vocab, " ").astype(object)  # joined as they are
        self.rng, self.words = np.random.default_rng(seed), words

    def take(self, count: int) -> list[str]:
        """The next `count` texts (each one distinct)."""
        picks = self.table[self.rng.integers(0, _SLOTS, (count, self.words))]
        return ["".join(row) for row in self.vocab[picks]]


_SLOTS = 1 << 24
