"""The operations fault injection runs: a real ingest, and an upload and a delete through the
real app (in process, so the injected faults reach it); and Milvus writes (milvus-lite)."""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.crash import WORDS
from bench.faults import ACTIVE, Scenario
from tests.fakes import FakeEmbedder, FakeGenerator


def HashEmbedder() -> FakeEmbedder:
    return FakeEmbedder("hash-64", max_tokens=128)


FILES_V1 = ("a.md", "b.md", "e.md")
FILES_V2 = ("a.md", "c.md", "d.md", "e.md")  # a changed, b gone, c and d new, e the same


def text(name: str, version: int, sentences: int = 12) -> str:
    rng = random.Random(f"{name}{version if name == 'a.md' else 0}")
    words = [" ".join(rng.choices(WORDS, k=10)) + "." for _ in range(sentences)]
    return f"# {name}\n\n" + " ".join(words)


def corpus(folder: Path, names: tuple[str, ...], version: int) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name in names:
        (folder / name).write_text(text(name, version))
    return folder


def ingestor(data: Path, commit_every: int = 2048) -> Any:
    from index.faiss_store.store import FaissStore
    from ingest.chunker import Chunker
    from ingest.pipeline import Ingestor

    embedder = HashEmbedder()
    collection = FaissStore(data / "index").collection("default")
    return Ingestor(embedder, Chunker(embedder, size=64, overlap=8), collection, commit_every)


def ingest(data: Path, folder: Path, prune: bool = False, rebuild: bool = False) -> str:
    """The `ingest` CLI's path: a domain error is the one line it prints; anything else is not
    a clear message."""
    from app.cli.errors import DOMAIN_ERRORS
    from ingest.pipeline import discover

    run = ingestor(data)
    try:
        run.ingest(discover([folder]), prune=prune, rebuild=rebuild)
    except DOMAIN_ERRORS as exc:
        return str(exc)
    except Exception as exc:
        return f"UNCLEAR {type(exc).__name__}: {exc}"
    finally:
        run.collection.chunk_store.close()
    return ""


def ingest_scenario(work: Path) -> Scenario:
    v1, v2 = work / "corpus-v1", corpus(work / "corpus-v2", FILES_V2, 2)

    def attempt(data: Path, retry: bool) -> tuple[str, list[str]]:
        return ingest(data, v2, prune=True), []

    return Scenario("ingest", lambda data: _prepared(data, v1), attempt)


@contextmanager
def client(data: Path) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from app.answering.services import Services
    from app.server.main import create_app
    from config.settings import Settings
    from index.faiss_store.store import FaissStore

    settings = Settings(data_dir=data, min_free_mb=0, _env_file=None)  # type: ignore[call-arg]
    store = FaissStore(settings.index_dir)
    services = Services(settings, HashEmbedder(), FakeGenerator(), store)  # type: ignore[arg-type]
    try:
        with TestClient(create_app(services=services)) as http:
            yield http
    finally:
        store.collection("default").chunk_store.close()


def serving_problems(http: Any) -> list[str]:
    """While the disk fails: the server still lists, searches and reports a whole generation."""
    problems = []
    listed = http.get("/api/documents")
    found = http.post("/api/search", json={"query": "alpha beta gamma", "k": 3})
    state = http.get("/health").json()["index"]["default"]["state"]
    if listed.status_code != 200 or found.status_code != 200 or not found.json()["results"]:
        problems.append(f"server stopped answering: {listed.status_code} {found.status_code}")
    if state != "ok":
        problems.append(f"/health says the index is {state}")
    return problems


def _answer(response: Any) -> str:
    return (
        "" if response.status_code == 200 else f"{response.status_code} {response.json()['detail']}"
    )


def upload_scenario(work: Path) -> Scenario:
    v1 = work / "corpus-v1"

    def attempt(data: Path, retry: bool) -> tuple[str, list[str]]:
        with client(data) as http:
            body = text("c.md", 1).encode()
            response = http.post("/api/documents", files=[("file", ("c.md", body))])
            return _answer(response), serving_problems(http)

    return Scenario("upload", lambda data: _prepared(data, v1), attempt, http=True)


def delete_scenario(work: Path) -> Scenario:
    v1 = work / "corpus-v1"

    def attempt(data: Path, retry: bool) -> tuple[str, list[str]]:
        from ingest.pipeline import document_id

        with client(data) as http:
            response = http.delete(f"/api/documents/{document_id('b.md')}")
            if retry and response.status_code == 404:
                return "", serving_problems(http)  # the first try's commit stood
            return _answer(response), serving_problems(http)

    return Scenario("delete", lambda data: _prepared(data, v1), attempt, http=True)


def _prepared(data: Path, folder: Path) -> None:
    assert not ingest(data, folder)
    assert (data / "index" / "default" / "manifest.json").exists(), "nothing was ingested"


def rebuild_scenario(work: Path) -> Scenario:
    """`ingest --rebuild`: every document retired and written again in one generation."""
    v1 = work / "corpus-v1"

    def attempt(data: Path, retry: bool) -> tuple[str, list[str]]:
        return ingest(data, v1, rebuild=True), []  # the retry is the same command

    return Scenario("rebuild", lambda data: _prepared(data, v1), attempt)


def compact_scenario(work: Path) -> Scenario:
    """The commit that merges 17 segments into one (and its BM25 segments)."""
    v1, many = work / "corpus-v1", work / "corpus-many"

    def prepare(data: Path) -> None:
        shutil.rmtree(many, ignore_errors=True)
        many.mkdir()
        for n in range(16):  # one commit each: 16 segments
            (many / f"f{n:02d}.md").write_text(text(f"f{n}", 0))
            assert not ingest(data, many)

    def attempt(data: Path, retry: bool) -> tuple[str, list[str]]:
        return ingest(data, v1), []

    return Scenario("compact", prepare, attempt)


def scenarios(work: Path) -> list[Scenario]:
    corpus(work / "corpus-v1", FILES_V1, 1)
    return [
        ingest_scenario(work),
        upload_scenario(work),
        delete_scenario(work),
        rebuild_scenario(work),
        compact_scenario(work),
    ]


MILVUS_WRITES = ("upsert", "insert", "delete", "create_collection", "drop_collection", "flush")


class FaultyMilvus:
    """A MilvusClient whose write calls count towards the injector and fail when it says."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        call = getattr(self._client, name)
        if name not in MILVUS_WRITES:
            return call

        def write(*args: Any, **kwargs: Any) -> Any:
            if ACTIVE.hit(f"milvus-{name}"):
                from pymilvus.exceptions import MilvusException

                reason = (
                    "no space left on device" if ACTIVE.error == "ENOSPC" else "input/output error"
                )
                raise MilvusException(message=f"{name} failed: {reason}")
            return call(*args, **kwargs)

        return write


def milvus_ingest(store: Any, folder: Path, prune: bool = False) -> str:
    from app.cli.errors import DOMAIN_ERRORS
    from ingest.chunker import Chunker
    from ingest.pipeline import Ingestor, discover

    embedder = HashEmbedder()
    run = Ingestor(embedder, Chunker(embedder, size=64, overlap=8), store.collection("default"))
    try:
        run.ingest(discover([folder]), prune=prune)
    except DOMAIN_ERRORS as exc:
        return str(exc)
    except Exception as exc:
        return f"UNCLEAR {type(exc).__name__}: {exc}"
    return ""


def milvus_trials(work: Path, client: Any, plans: tuple[tuple[str, bool], ...]) -> list[Any]:
    """The ingest scenario on milvus-lite, failing at each of its write calls in turn."""
    from bench.faults import Outcome

    v1, v2 = corpus(work / "corpus-v1", FILES_V1, 1), corpus(work / "corpus-v2", FILES_V2, 2)
    points = _milvus_attempt(client, "mdry_", v1, v2, None)
    outcomes = []
    for n, (error, sticky) in enumerate(plans):
        for point in range(1, len(points.calls) + 1):
            out = Outcome("milvus-ingest", point, error, sticky)
            _milvus_attempt(client, f"m{n}x{point}_", v1, v2, out)
            outcomes.append(out)
    return outcomes


def _milvus_attempt(client: Any, prefix: str, v1: Path, v2: Path, out: Any) -> Any:
    """Prepare v1 under a fresh prefix, ingest v2 under the fault, check, retry, check."""
    from index.milvus_store.store import MilvusStore

    store = MilvusStore(FaultyMilvus(client), prefix)
    assert not milvus_ingest(store, v1)
    ACTIVE.arm(
        out.point if out else None, out.error if out else "ENOSPC", out.sticky if out else False
    )
    message = milvus_ingest(store, v2, prune=True)
    calls = list(ACTIVE.calls)
    if out is None:
        ACTIVE.disarm()
        _drop(client, prefix)
        return type("Dry", (), {"calls": calls})
    out.failed, out.message = ACTIVE.failed, message
    ACTIVE.disarm()
    out.problems += _milvus_problems(store, out, v2)
    _drop(client, prefix)
    return out


def _milvus_problems(store: Any, out: Any, v2: Path) -> list[str]:
    want = "the disk is full" if out.error == "ENOSPC" else "I/O error"
    problems = [] if not out.message or want in out.message else [f"unclear: {out.message}"]
    sources = {d.source for d in store.collection("default").documents()}
    if not {"a.md", "e.md"} <= sources:  # a reader must never find a kept document missing
        problems.append(f"documents went missing: {sorted(sources)}")
    retry = milvus_ingest(store, v2, prune=True)  # the fault is gone
    if retry:
        problems.append(f"retry failed: {retry}")
    problems += store.collection("default").check()
    after = {d.source for d in store.collection("default").documents()}
    if after != set(FILES_V2):
        problems.append(f"after the retry: {sorted(after)}")
    return problems


def _drop(client: Any, prefix: str) -> None:
    for name in client.list_collections():
        if name.startswith(prefix):
            client.drop_collection(name)
