"""Crash trial: SIGKILL `ingest` at random moments, then check the index and search it.

The killed process runs the real pipeline (Ingestor, Writer, FAISS segments, SQLite, manifest
swaps). Its embedder (tests.fakes) hashes words into vectors so that hundreds of kills fit in
minutes; the embedding model plays no part in crash safety. `--real` runs the `ingest` CLI with
the packaged model instead (about ten seconds a start).

    python -m bench.crash --kills 500          # the long trial (README figure)
    python -m bench.crash --faults             # ENOSPC / EIO at every I/O point of a commit
    python -m bench.crash --at-risk 30         # the most work an interrupted ingest loses
    python -m bench.crash --scale 100000       # backup / restore / migrate times
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.fakes import FakeEmbedder

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron".split()


def make_corpus(folder: Path, files: int, seed: int = 7) -> Path:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        sentences = [" ".join(rng.choices(WORDS, k=12)) + "." for _ in range(rng.randint(5, 40))]
        (folder / f"doc{i:04d}.txt").write_text(f"Document {i}. " + " ".join(sentences))
    return folder


def worker(corpus: Path, data: Path) -> None:
    """The process that gets killed: a real incremental ingest committing often."""
    from index.faiss_store.store import FaissStore
    from ingest.chunker import Chunker
    from ingest.pipeline import Ingestor, discover

    embedder = FakeEmbedder("hash-64", max_tokens=128)  # crash safety needs no real model
    collection = FaissStore(data / "index").collection("default")
    chunker = Chunker(embedder, size=64, overlap=8)
    ingestor = Ingestor(embedder, chunker, collection, commit_every=48, batch_chunks=16)
    ingestor.ingest(discover([corpus]), wait=60)


def timed_worker(corpus: str, data: str, commit_seconds: str, delay: str) -> None:
    """A slow ingest that commits by time only (killed by the timed-commit test)."""
    from bench.disk import slow_ingestor
    from ingest.pipeline import discover

    ingestor = slow_ingestor(Path(data), float(commit_seconds), float(delay))
    ingestor.ingest(discover([Path(corpus)]))


def disk_benchmarks(args: argparse.Namespace) -> int:
    from bench import disk

    result: dict[str, object] = {}
    if args.faults:
        result["faults"] = disk.fault_trials(args.workdir / "faults")
        print(json.dumps(result["faults"]), file=sys.stderr, flush=True)
    if args.at_risk:
        result["at_risk"] = disk.work_at_risk(args.workdir / "at-risk", args.at_risk, 0.5, 400)
    if args.scale:
        result["scale"] = disk.copy_times(args.workdir / "scale", args.scale)
    print(json.dumps(result, indent=2))
    faults = result.get("faults")
    return 1 if isinstance(faults, dict) and faults["inconsistent_or_unreported"] else 0


def real_ingest_cmd(corpus: Path) -> list[str]:
    return [sys.executable, "-m", "app.cli.ingest", str(corpus), "--json", "--wait", "60"]


@dataclass
class Trial:
    kills: int = 0
    inconsistent: list[str] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)


def verify(data: Path, corpus_files: list[str]) -> list[str]:
    """Problems with the committed index: consistency, a prefix of the files, searchable."""
    from index.faiss_store.check import check_collection
    from index.faiss_store.store import FaissStore

    collection = FaissStore(data / "index").collection("default")
    if collection.manifest() is None:
        return []  # killed before the first commit: the old (empty) generation
    problems = check_collection(collection)
    snapshot = collection.snapshot()
    sources = sorted(d.source for d in snapshot.documents())
    if sources != corpus_files[: len(sources)]:
        problems.append(f"documents are not a committed prefix: {sources[:3]}...")
    query = np.ones(snapshot.manifest.spec.dimension, dtype=np.float32)
    if snapshot.manifest.rows and not snapshot.search(query, 3):
        problems.append("search returned nothing")
    return problems


def run_trial(kills: int, files: int, workdir: Path, real: bool, seed: int) -> Trial:
    rng = random.Random(seed)
    corpus = make_corpus(workdir / "corpus", files)
    names = sorted(p.name for p in corpus.iterdir())
    data = workdir / "data"
    env = {**os.environ, "RAGD_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"}
    cmd = (
        real_ingest_cmd(corpus)
        if real
        else [sys.executable, "-m", "bench.crash", "--worker", str(corpus), str(data)]
    )
    full = _timed_run(cmd, env)  # how long an uninterrupted ingest of everything takes
    trial = Trial()
    while trial.kills < kills:
        _reset(data)
        for _ in range(min(rng.randint(1, 3), kills - trial.kills)):  # 1-3 kills, then resume
            _kill_after(cmd, env, rng.uniform(0.05, full))
            trial.kills += 1
            trial.inconsistent += [f"kill {trial.kills}: {p}" for p in verify(data, names)]
        trial.durations.append(_resume_and_verify(cmd, env, data, names, trial))
    return trial


def _timed_run(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True, cwd=_root())
    return time.perf_counter() - started


def _kill_after(cmd: list[str], env: dict[str, str], seconds: float) -> None:
    proc = subprocess.Popen(
        cmd, env=env, cwd=_root(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def _resume_and_verify(cmd, env, data, names, trial) -> float:  # type: ignore[no-untyped-def]
    """Re-running the same ingest finishes the job: every file exactly once."""
    from index.faiss_store.store import FaissStore

    seconds = _timed_run(cmd, env)
    snapshot = FaissStore(data / "index").collection("default").snapshot()
    sources = sorted(d.source for d in snapshot.documents())
    if sources != names:
        trial.inconsistent.append(f"resume left {len(sources)} of {len(names)} documents")
    trial.inconsistent += [f"after resume: {p}" for p in verify(data, names)]
    return seconds


def _reset(data: Path) -> None:
    import shutil

    shutil.rmtree(data, ignore_errors=True)


def _root() -> Path:
    return Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.crash")
    parser.add_argument("--kills", type=int, default=500)
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--real", action="store_true", help="kill the real `ingest` CLI")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ragd-crash"))
    parser.add_argument("--worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--timed-worker", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--faults", action="store_true", help="fault-injection trials")
    parser.add_argument("--at-risk", type=float, help="measure work lost with this commit time")
    parser.add_argument("--scale", type=int, help="backup/restore/migrate a collection this big")
    args = parser.parse_args(argv)
    if args.worker:
        worker(*args.worker)
        return 0
    if args.timed_worker:
        timed_worker(*args.timed_worker)
        return 0
    if args.faults or args.at_risk or args.scale:
        return disk_benchmarks(args)
    started = time.perf_counter()
    trial = run_trial(args.kills, args.files, args.workdir, args.real, args.seed)
    result = {
        "kills": trial.kills,
        "inconsistent_indexes": len(trial.inconsistent),
        "problems": trial.inconsistent[:10],
        "files": args.files,
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(result, indent=2))
    return 0 if not trial.inconsistent else 1


if __name__ == "__main__":
    sys.exit(main())
