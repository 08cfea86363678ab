"""Schemathesis over the OpenAPI schema (on the fakes): no 5xx, every response as documented."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from app.answering.services import Services
from app.server.main import create_app
from config.settings import Settings
from index.faiss_store.store import FaissStore
from ingest.pipeline import build_ingestor, discover
from tests.fakes import FakeEmbedder, FakeGenerator
from tests.support import write_files

KEY = "schema-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


def build_app(root: Path):
    config = Settings(  # type: ignore[call-arg]
        data_dir=root / "data", api_keys=KEY, rate_limit="", max_upload_mb=1, _env_file=None
    )
    services = Services(config, FakeEmbedder(), FakeGenerator(), FaissStore(config.index_dir))
    docs = write_files(root / "docs", {"faq.md": "# FAQ\n\nThe maintainers meet on Tuesdays."})
    build_ingestor(config, services.embedder, services.store).ingest(discover([docs]))
    return create_app(services=services)


APP = build_app(Path(__import__("tempfile").mkdtemp(prefix="ragd-schema-")))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, headers=AUTH)


@pytest.fixture(scope="module", autouse=True)
def started():
    from fastapi.testclient import TestClient

    with TestClient(APP):  # runs the lifespan: the answerer exists for the calls below
        yield


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_matches_its_schema_and_never_fails(case):
    case.call_and_validate(headers=AUTH, checks=CHECKS)
