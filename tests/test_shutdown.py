"""Shutdown: the app's lifespan and every command close the pools and clients they started."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from app.answering.services import Services
from app.cli.errors import run_cli
from app.server.main import create_app
from config.factories import open_store
from config.settings import Settings
from ingest.sandbox import ParseLimits, shared
from models.remote import RemoteGenerator
from tests import hostile_workers as w
from tests.fakes import FakeEmbedder, FakeGenerator


def worker_pid(settings: Settings) -> int:
    """The pid of the parser worker the app's uploads use (one worker: there is no other)."""
    sandbox = shared(ParseLimits.from_settings(settings))
    return sandbox.result(sandbox.call(w.pid))


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_after_the_app_lifespan_ends_what_it_loaded_is_closed(tmp_path: Path, monkeypatch):
    settings = Settings(data_dir=tmp_path / "data", parse_workers=1, _env_file=None)  # type: ignore[call-arg]
    generator = FakeGenerator()
    services = Services(settings, FakeEmbedder(), generator, open_store(settings))
    monkeypatch.setattr(Services, "load", classmethod(lambda cls, _settings: services))
    with TestClient(create_app(settings)) as client:  # the app loads, so the app owns
        upload = client.post("/api/documents", files=[("file", ("a.md", b"# A\n\nAlpha."))])
        assert upload.status_code == 200, upload.text
        pid = worker_pid(settings)  # the worker that parsed the upload
        assert is_running(pid)
    assert not is_running(pid)
    assert generator.closed


def test_services_handed_to_the_app_stay_open_for_their_owner(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    generator = FakeGenerator()
    with Services(settings, FakeEmbedder(), generator, open_store(settings)) as services:
        for _ in range(2):  # one services object, two apps after each other (as tests do)
            with TestClient(create_app(services=services)) as client:
                assert client.get("/health").status_code == 200
        assert not generator.closed
    assert generator.closed


def test_a_command_stops_the_parser_workers_it_started(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "data", parse_workers=1, _env_file=None)  # type: ignore[call-arg]
    pids: list[int] = []
    assert run_cli(lambda: pids.append(worker_pid(settings)) or 0) == 0
    assert pids and not is_running(pids[0])


def test_a_milvus_store_from_settings_releases_its_client_when_closed(tmp_path: Path):
    from index.milvus_store.store import connect, release

    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        vector_store="milvus",
        milvus_uri=str(tmp_path / "milvus.db"),
        _env_file=None,
    )
    kept = connect(settings.milvus_endpoint)  # another user of the same endpoint
    store = open_store(settings)
    assert store.client is kept  # type: ignore[attr-defined]
    store.close()
    assert kept.list_collections() == []  # still open: another user holds it
    release(kept)
    fresh = connect(settings.milvus_endpoint)  # the last user closed it: a new client now
    assert fresh is not kept
    release(fresh)


def test_closing_the_remote_generator_closes_its_http_client():
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [{"id": "m1"}]})

    remote = RemoteGenerator("http://models.invalid", transport=httpx.MockTransport(answer))
    remote.close()
    assert remote._http.is_closed
