"""`ragd eval` on a BEIR folder: ingest the corpus for real, run every query through search."""

from __future__ import annotations

import hashlib
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from app.answering import hyde
from app.answering.retrieval import MODES, Mode, Retriever
from app.evals.beir import BeirDataset, read_jsonl, write_corpus
from app.evals.errors import InvalidDataset
from app.evals.scoring import mrr_at, ndcg_at, percentile, recall_at
from config.factories import open_store
from config.settings import Settings
from index.protocol import VectorStore
from ingest.chunker import CHUNKER_VERSION, Chunker
from ingest.pipeline import build_ingestor, discover
from models.embedder import Embedder
from models.generator import Generator

DEPTH = 100  # results per query: enough for recall@100
Tick = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass(frozen=True)
class ModeScores:
    mode: str
    ndcg_at_10: float
    recall_at_10: float
    recall_at_100: float
    mrr_at_10: float
    latency_p50_ms: float
    latency_p95_ms: float


@dataclass(frozen=True)
class Abstention:
    """How the evidence score (the nearest chunk's cosine) treats answerable questions, and
    unanswerable ones when given; `suggested` is the highest threshold that still answers
    KEEP of the answerable ones."""

    threshold: float  # RAGD_ABSTAIN_BELOW in force
    answerable: int
    answered: float  # share of answerable queries at or above the threshold
    evidence_p1: float  # 1st percentile of the answerable queries' evidence
    evidence_p50: float
    suggested: float
    suggested_answered: float  # share of answerable queries at or above `suggested`
    unanswerable: int = 0
    abstained: float | None = None  # share of unanswerable queries below the threshold
    unanswerable_p50: float | None = None
    unanswerable_p95: float | None = None
    suggested_abstained: float | None = None


KEEP = 0.99  # a calibrated threshold may refuse at most 1% of answerable questions


@dataclass
class BeirReport:
    dataset: str
    documents: int
    chunks: int
    queries: int
    settings: dict[str, object]
    modes: list[ModeScores] = field(default_factory=list)
    abstention: Abstention | None = None
    hyde_ms_p50: float | None = None  # RAGD_HYDE: writing the hypothetical answer, per query
    hyde_ms_p95: float | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def evaluate_beir(
    dataset: BeirDataset,
    settings: Settings,
    embedder: Embedder,
    *,
    modes: Sequence[Mode] = MODES,
    work_dir: Path | None = None,
    unanswerable: Path | None = None,
    limit: int | None = None,
    tick: Tick = lambda *_: None,
    generator: Generator | None = None,
) -> BeirReport:
    """Ingest the corpus into a collection under `work_dir` (reused) or a temporary folder.
    With RAGD_HYDE on, `generator` writes each query's hypothetical answer (once, for every
    mode; its time is reported apart from the search's)."""
    queries = dict(list(dataset.judged_queries().items())[:limit])
    if not queries:
        raise InvalidDataset(f"{dataset.folder}: no query has a relevant document in the qrels")
    with _work_folder(work_dir) as work:
        settings = settings.model_copy(update={"data_dir": work})
        with closing(open_store(settings)) as store:
            name, sources = ingest_corpus(dataset, settings, embedder, store, tick)
            retriever = Retriever(settings, embedder, store)
            report = _report(dataset, settings, store, name, len(queries))
            hypotheses = _hypotheses(report, settings, generator, queries, tick)
            runner = _Runner(retriever, name, sources, hypotheses)
            evidence = _run_modes(report, runner, queries, dataset, modes, tick)
            if evidence:
                others = _unanswerable(unanswerable, retriever, name, tick) if unanswerable else []
                report.abstention = calibrate(evidence, others, settings.abstain_below)
    return report


@contextmanager
def _work_folder(work_dir: Path | None) -> Iterator[Path]:
    if work_dir is not None:
        work_dir.mkdir(parents=True, exist_ok=True)
        yield work_dir
        return
    with tempfile.TemporaryDirectory(prefix="ragd-eval-") as tmp:
        yield Path(tmp)


def ingest_corpus(
    dataset: BeirDataset, settings: Settings, embedder: Embedder, store: VectorStore, tick: Tick
) -> tuple[str, dict[str, str]]:
    """The corpus through the real ingest pipeline; unchanged documents are not re-embedded.

    Returns the collection name and each document's ingest source mapped to its corpus `_id`.
    """
    digest = dataset.corpus_hash()
    chunker = Chunker(embedder, settings.chunk_tokens, settings.chunk_overlap)
    key = f"{digest}|{embedder.name}|{CHUNKER_VERSION}|{chunker.size}|{chunker.overlap}"
    name = "eval-" + hashlib.sha256(key.encode()).hexdigest()[:16]
    corpus_dir = settings.data_dir / f"corpus-{digest[:16]}"
    sources = write_corpus(dataset, corpus_dir)
    ingestor = build_ingestor(settings, embedder, store, name)
    done = 0

    def advance(_: object) -> None:
        nonlocal done
        done += 1
        tick("ingest", done, len(sources))

    summary = ingestor.ingest(discover([corpus_dir]), prune=True, on_file=advance)
    if not summary.ok:
        failed = [o for o in summary.outcomes if o.status == "failed"]
        raise InvalidDataset(f"{len(failed)} corpus documents failed: {failed[0].reason}")
    return name, sources


def _report(
    dataset: BeirDataset, settings: Settings, store: VectorStore, name: str, queries: int
) -> BeirReport:
    manifest = store.collection(name).state()
    keys = (
        "chunk_tokens",
        "chunk_overlap",
        "fusion",
        "fusion_dense_weight",
        "rrf_k",
        "hyde",
        "hyde_tokens",
        "retrieval_candidates",
        "chunks_per_document",
        "abstain_below",
        "embed_model",
    )
    return BeirReport(
        dataset=dataset.folder.name,
        documents=manifest.documents if manifest else 0,
        chunks=manifest.rows if manifest else 0,
        queries=queries,
        settings={
            **{key: getattr(settings, key) for key in keys},
            # from the index: what the corpus vectors were really made with
            "embed_backend": manifest.spec.embed_backend if manifest else None,
        },
    )


@dataclass
class _ModeRun:
    runs: dict[str, list[str]] = field(default_factory=dict)  # query -> ranked corpus ids
    latencies: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class _Runner:
    retriever: Retriever
    name: str
    sources: dict[str, str]
    hypotheses: dict[str, str]  # query id -> HyDE answer (empty without RAGD_HYDE)


def _hypotheses(
    report: BeirReport,
    settings: Settings,
    generator: Generator | None,
    queries: dict[str, str],
    tick: Tick,
) -> dict[str, str]:
    """Each query's hypothetical answer, when RAGD_HYDE is on, and what writing them cost."""
    if settings.hyde == "off" or generator is None:
        return {}
    out, seconds = {}, []
    for n, (query_id, text) in enumerate(queries.items(), 1):
        started = time.perf_counter()
        out[query_id] = hyde.write(generator, text, settings.hyde_tokens)
        seconds.append((time.perf_counter() - started) * 1000)
        tick("hyde", n, len(queries))
    report.hyde_ms_p50 = round(percentile(seconds, 50), 1)
    report.hyde_ms_p95 = round(percentile(seconds, 95), 1)
    return out


def _run_modes(
    report: BeirReport,
    runner: _Runner,
    queries: dict[str, str],
    dataset: BeirDataset,
    modes: Sequence[Mode],
    tick: Tick,
) -> list[float]:
    """Every query through the real search path in each mode, the modes taking turns query by
    query so that they share the machine's load alike. Returns each query's evidence strength
    (none when only keyword search ran)."""
    results = {mode: _ModeRun() for mode in modes}
    evidence: list[float] = []
    for n, (query_id, text) in enumerate(queries.items(), 1):
        best = [_query(runner, query_id, text, m, results[m]) for m in modes]
        evidence.extend([b for b in best if b is not None][:1])
        tick("queries", n, len(queries))
    for mode, result in results.items():
        report.modes.append(score_mode(mode, result.runs, dataset.qrels, result.latencies))
    return evidence


def _query(runner: _Runner, query_id: str, text: str, mode: Mode, into: _ModeRun) -> float | None:
    started = time.perf_counter()
    hypothesis = runner.hypotheses.get(query_id, "")
    found = runner.retriever.retrieve(
        text, runner.name, DEPTH, mode, evidence=mode != "keyword", hypothesis=hypothesis
    )
    into.latencies.append((time.perf_counter() - started) * 1000)
    # BEIR ranks documents: a document takes the rank of its best chunk (MaxP), once, as
    # pytrec_eval's one score per document does; its further chunks are not ranked again.
    sources = runner.sources
    into.runs[query_id] = list(dict.fromkeys(sources[p.chunk.source] for p in found.passages))
    return found.evidence


def score_mode(
    mode: str,
    runs: dict[str, list[str]],
    qrels: dict[str, dict[str, int]],
    latencies: Sequence[float],
) -> ModeScores:
    """Mean metrics over the queries of `runs`, and latency percentiles."""

    def mean(metric: Callable[[list[str], dict[str, int]], float]) -> float:
        return round(statistics.fmean(metric(run, qrels[q]) for q, run in runs.items()), 4)

    return ModeScores(
        mode=mode,
        ndcg_at_10=mean(lambda r, rel: ndcg_at(r, rel, 10)),
        recall_at_10=mean(lambda r, rel: recall_at(r, rel, 10)),
        recall_at_100=mean(lambda r, rel: recall_at(r, rel, 100)),
        mrr_at_10=mean(lambda r, rel: mrr_at(r, rel, 10)),
        latency_p50_ms=round(percentile(latencies, 50), 1),
        latency_p95_ms=round(percentile(latencies, 95), 1),
    )


def _unanswerable(path: Path, retriever: Retriever, name: str, tick: Tick) -> list[float]:
    """The evidence strength of each question in a JSONL the corpus cannot answer."""
    texts = [str(row.get("question") or row.get("text") or "") for row in read_jsonl(path)]
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise InvalidDataset(f"{path}: no questions (one JSON object per line with 'question')")
    evidence = []
    for n, text in enumerate(texts, 1):
        found = retriever.retrieve(text, name, 1, "dense", evidence=True)
        evidence.append(found.evidence or 0.0)
        tick("unanswerable", n, len(texts))
    return evidence


def calibrate(
    answerable: Sequence[float], unanswerable: Sequence[float], threshold: float
) -> Abstention:
    """Answer and refusal rates at `threshold`, and the suggested threshold."""
    best = suggest_threshold(answerable)
    report = Abstention(
        threshold=threshold,
        answerable=len(answerable),
        answered=_share(answerable, lambda e: e >= threshold),
        evidence_p1=round(percentile(answerable, 1), 4),
        evidence_p50=round(percentile(answerable, 50), 4),
        suggested=best,
        suggested_answered=_share(answerable, lambda e: e >= best),
    )
    if not unanswerable:
        return report
    return replace(
        report,
        unanswerable=len(unanswerable),
        abstained=_share(unanswerable, lambda e: e < threshold),
        unanswerable_p50=round(percentile(unanswerable, 50), 4),
        unanswerable_p95=round(percentile(unanswerable, 95), 4),
        suggested_abstained=_share(unanswerable, lambda e: e < best),
    )


def suggest_threshold(answerable: Sequence[float], keep: float = KEEP) -> float:
    """The highest cut (in steps of 0.01) at which `keep` of the answerable queries remain."""
    cuts = [c / 100 for c in range(-100, 101)]
    ok = [c for c in cuts if sum(e >= c for e in answerable) >= keep * len(answerable)]
    return max(ok, default=-1.0)


def _share(values: Sequence[float], keep: Callable[[float], bool]) -> float:
    return round(sum(1 for v in values if keep(v)) / len(values), 4) if values else 0.0
