"""DNS rebinding with keys set: a loopback server answers only to localhost Host names unless
RAGD_ALLOWED_HOSTS says otherwise; `*` answers any Host, and only where keys are set."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli.main import guard_bind
from config.errors import SettingsError
from tests.test_security_auth import ADMIN, auth, client_for, settings_with

EVIL = {"Host": "evil.example:8000"}


def test_a_keyed_loopback_server_refuses_a_rebinding_host_and_names_the_setting(
    tmp_path: Path, embedder
):
    settings = guard_bind("127.0.0.1", False, settings_with(tmp_path, api_keys=ADMIN))
    with client_for(settings, embedder) as client:
        refused = client.get("/api/documents", headers={**EVIL, **auth(ADMIN)})
        assert (refused.status_code, refused.json()["error"]) == (421, "untrusted_host")
        assert "RAGD_ALLOWED_HOSTS" in refused.json()["detail"]
        assert client.get("/health", headers=EVIL).status_code == 421
        for host in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000"):
            ok = client.get("/api/documents", headers={"Host": host, **auth(ADMIN)})
            assert ok.status_code == 200, host


def test_allowed_hosts_add_a_name_to_the_localhost_names_with_keys(tmp_path: Path, embedder):
    keyed = settings_with(tmp_path, api_keys=ADMIN, allowed_hosts="Proxy.Example")
    settings = guard_bind("127.0.0.1", False, keyed)
    assert settings.allowed_hosts.split(",") == [
        "localhost", "127.0.0.1", "::1", "[::1]", "proxy.example",
    ]  # fmt: skip
    with client_for(settings, embedder) as client:
        proxied = client.get("/health", headers={"Host": "proxy.example"})
        assert proxied.status_code == 200
        assert client.get("/health", headers=EVIL).status_code == 421


def test_a_star_answers_any_host_where_keys_are_set(tmp_path: Path, embedder):
    settings = guard_bind(
        "127.0.0.1", False, settings_with(tmp_path, api_keys=ADMIN, allowed_hosts="*")
    )
    with client_for(settings, embedder) as client:
        assert client.get("/api/documents", headers={**EVIL, **auth(ADMIN)}).status_code == 200
        assert client.get("/api/documents", headers=EVIL).status_code == 401  # keys still hold


def test_a_star_without_keys_is_refused_at_start(tmp_path: Path):
    with pytest.raises(SettingsError, match=r"RAGD_ALLOWED_HOSTS=\*.*RAGD_API_KEYS"):
        guard_bind("127.0.0.1", False, settings_with(tmp_path, allowed_hosts="*"))


def test_a_keyed_network_server_keeps_answering_any_host(tmp_path: Path):
    keyed = settings_with(tmp_path, api_keys=ADMIN)
    assert guard_bind("0.0.0.0", False, keyed).allowed_hosts == ""
