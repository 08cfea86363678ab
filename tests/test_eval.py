"""`ragd eval` end to end on the real embedding model, on a tiny BEIR folder made here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.faiss_store.store import FaissStore
from tests.support import RAGD, env_for, run, write_files

pytestmark = pytest.mark.e2e

CORPUS = [
    {"_id": "paris", "title": "Paris", "text": "Paris is the capital and largest city of France."},
    {"_id": "tokyo", "title": "Tokyo", "text": "Tokyo is the capital of Japan, on Honshu."},
    {
        "_id": "leaf",
        "title": "Photosynthesis",
        "text": "Plants turn light into chemical energy by photosynthesis in their chloroplasts.",
    },
    {"_id": "atp", "title": "Mitochondria", "text": "Mitochondria make ATP by respiration."},
    {"_id": "zx", "title": "Protocols", "text": "The ZX-81 protocol ends each packet with a CRC."},
    {"_id": "rain", "title": "Weather", "text": "Rain forms when droplets in clouds grow heavy."},
]
QUERIES = {
    "q1": "Which city is the capital of France?",
    "q2": "How do plants make energy from light?",
    "q3": "ZX-81 packet checksum",
    "q4": "a query nobody judged",
}
QRELS = "query-id\tcorpus-id\tscore\nq1\tparis\t1\nq2\tleaf\t2\nq2\tatp\t1\nq3\tzx\t1\n"


def beir_folder(root: Path) -> Path:
    queries = [{"_id": q, "text": t} for q, t in QUERIES.items()]
    lines = {
        "corpus.jsonl": "".join(json.dumps(doc) + "\n" for doc in CORPUS),
        "queries.jsonl": "".join(json.dumps(query) + "\n" for query in queries),
        "qrels/test.tsv": QRELS,
    }
    return write_files(root, lines)


def test_ragd_eval_scores_every_mode_and_reuses_its_work_dir(tmp_path: Path):
    folder = beir_folder(tmp_path / "tiny")
    ood = write_files(tmp_path, {"ood.jsonl": '{"question": "Who won the 1998 World Cup?"}\n'})
    work = tmp_path / "work"
    cmd = [
        *RAGD,
        "eval",
        str(folder),
        "--json",
        "--work-dir",
        str(work),
        "--unanswerable",
        str(ood / "ood.jsonl"),
    ]
    first = run(cmd, env_for(tmp_path / "data"))
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["documents"], report["queries"]) == (6, 3)  # q4 has no judgement
    assert report["settings"]["embed_backend"] == "onnx-int8"  # the default, as ingest uses
    modes = {m["mode"]: m for m in report["modes"]}
    assert list(modes) == ["hybrid", "dense", "keyword"]
    for scores in modes.values():
        assert scores["recall_at_10"] == 1.0 and scores["latency_p50_ms"] > 0
    # q2's grade-2 document first, then its grade-1 one, in the hybrid run
    assert modes["hybrid"]["ndcg_at_10"] == pytest.approx(1.0)
    abstention = report["abstention"]
    assert abstention["answered"] == 1.0 and abstention["unanswerable"] == 1
    assert abstention["suggested_abstained"] == 1.0 and abstention["suggested_answered"] == 1.0

    [name] = FaissStore(work / "index").names()
    generation = FaissStore(work / "index").collection(name).manifest().generation
    table = run(
        [*RAGD, "eval", str(folder), "--mode", "keyword", "--work-dir", str(work)],
        env_for(tmp_path / "data"),
    )
    assert table.returncode == 0, table.stderr
    assert "nDCG@10" in table.stdout and "keyword" in table.stdout and "hybrid" not in table.stdout
    assert FaissStore(work / "index").collection(name).manifest().generation == generation  # reused


def test_ragd_eval_refuses_a_folder_without_qrels(tmp_path: Path):
    folder = beir_folder(tmp_path / "tiny")
    (folder / "qrels" / "test.tsv").unlink()
    refused = run([*RAGD, "eval", str(folder)], env_for(tmp_path / "data"))
    assert refused.returncode == 2 and "qrels" in refused.stderr
