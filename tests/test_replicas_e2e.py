"""Two `ragd serve` replicas share one networked Milvus and one remote model server: what one
replica ingests, the other serves at once, without a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import env_for, running_milvus_server, running_ragd

pytestmark = pytest.mark.e2e
NOTE = (
    "Replica notes. The heat exchanger of pump station Quillon-9 was replaced on 14 March. "
    "Its maintenance password is VERDIGRIS-58 and the inspection interval is six weeks."
)


@pytest.fixture(scope="module")
def milvus_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """milvus-lite as a gRPC server, the protocol a Milvus standalone or cluster speaks."""
    with running_milvus_server(tmp_path_factory.mktemp("milvus-server")) as uri:
        yield uri


@pytest.fixture(scope="module")
def replicas(
    milvus_uri: str,
    llm_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, str]]:
    """Replicas A and B: each its own (empty) data dir, one Milvus, one model server."""
    shared = {"RAGD_VECTOR_STORE": "milvus", "RAGD_MILVUS_URI": milvus_uri, "RAGD_LLM_URL": llm_url}
    env_a = env_for(tmp_path_factory.mktemp("replica-a") / "data", **shared)
    env_b = env_for(tmp_path_factory.mktemp("replica-b") / "data", **shared)
    with running_ragd(env_a) as a, running_ragd(env_b) as b:
        yield a, b


def search(url: str, query: str) -> list[dict[str, object]]:
    response = httpx.post(f"{url}/api/search", json={"query": query, "k": 3}, timeout=60)
    assert response.status_code == 200, response.text
    results: list[dict[str, object]] = response.json()["results"]
    return results


def test_a_document_uploaded_to_one_replica_is_served_by_the_other(
    replicas: tuple[str, str], tmp_path: Path
):
    a, b = replicas
    files = {"file": ("pump-notes.txt", NOTE.encode(), "text/plain")}
    uploaded = httpx.post(f"{a}/api/documents", files=files, timeout=120)
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["added"] == 1

    for mode_query in ("VERDIGRIS-58", "when was the heat exchanger replaced"):
        found = search(b, mode_query)
        assert found and found[0]["source"] == "pump-notes.txt", mode_query
    health = httpx.get(f"{b}/health", timeout=30).json()
    assert health["collections"]["default"] == {"documents": 1, "chunks": 1}
    listed = httpx.get(f"{b}/api/documents", timeout=30).json()["documents"]
    assert [d["source"] for d in listed] == ["pump-notes.txt"]

    question = {"question": "What is the maintenance password of Quillon-9?"}
    answer = httpx.post(f"{b}/api/ask", json=question, timeout=300).json()
    assert answer["sources"][0]["source"] == "pump-notes.txt"

    deleted = httpx.delete(f"{b}/api/documents/{listed[0]['id']}", timeout=60)
    assert deleted.status_code == 200, deleted.text
    gone = httpx.post(f"{a}/api/search", json={"query": "VERDIGRIS-58"}, timeout=60)
    assert gone.status_code in (200, 404) and not gone.json().get("results")
