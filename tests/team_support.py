"""A shared team box for the scope tests: collections alpha (A) and a secret HR one (B)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.answering.services import Services
from app.server.main import create_app
from config.settings import Settings
from index.faiss_store.store import FaissStore
from ingest.pipeline import build_ingestor, discover
from tests.fakes import FakeEmbedder, FakeGenerator
from tests.support import write_files

A = "alpha"
B = "hrsalaries"  # a distinctive name: it must appear in no response to a key scoped to A
B_FILES = {
    "payroll-zebra.txt": "Quokka payroll figures for the zebra team are confidential.",
    "bonus-yak.txt": "The yak bonus scheme pays quokka dividends every spring.",
    "review-ibis.txt": "Ibis performance reviews mention quokka targets twice.",
}
A_FILES = {"guide.txt": "The alpha guide explains how to brew tea in the kettle."}
ADMIN = "admin-key-0123456789abcdef"


def team_box(tmp_path: Path, **values: object) -> tuple[Settings, Services]:
    keys = tmp_path / "keys"
    keys.touch()
    settings = Settings(
        data_dir=tmp_path / "data",
        api_keys=ADMIN,
        api_keys_file=keys,
        rate_limit="",
        search_rate_limit="",
        _env_file=None,
        **values,  # type: ignore[arg-type]
    )  # type: ignore[call-arg]
    services = Services(settings, FakeEmbedder(), FakeGenerator(), FaissStore(settings.index_dir))
    for name, files in ((A, A_FILES), (B, B_FILES)):
        folder = write_files(tmp_path / name, files)
        build_ingestor(settings, services.embedder, services.store, name).ingest(discover([folder]))
    return settings, services


def client(settings: Settings, services: Services) -> TestClient:
    return TestClient(create_app(settings, services))


def add_key(settings: Settings, key: str, line_tail: str) -> None:
    """Append a keys-file line for `key` (role, scopes, name); the server re-reads the file."""
    import hashlib

    assert settings.api_keys_file is not None
    digest = hashlib.sha256(key.encode()).hexdigest()
    with settings.api_keys_file.open("a") as out:
        out.write(f"{digest} {line_tail}\n")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
