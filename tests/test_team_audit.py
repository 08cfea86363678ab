"""The audit log: exactly one line per admin action (upload, delete, model switch, key changes,
watch start), with key name, client, collection and outcome; whole lines after a SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from app.answering.audit import AuditLog
from app.cli.main import main
from tests.team_support import ADMIN, A, add_key, bearer, client, team_box

ROOT = Path(__file__).resolve().parent.parent


def lines(settings) -> list[dict]:
    return list(AuditLog.in_dir(settings.data_dir).read())


def test_each_admin_action_writes_exactly_one_line(tmp_path):
    settings, services = team_box(tmp_path)
    add_key(settings, "scoped-admin-key-0123456789", f"admin collections={A}:admin team-a")
    with client(settings, services) as http:
        before = len(lines(settings))
        files = {"file": ("kettle.txt", b"how the kettle boils", "text/plain")}
        up = http.post(
            "/api/documents",
            data={"collection": A},
            files=files,
            headers=bearer("scoped-admin-key-0123456789"),
        )
        doc = up.json()["files"][0]["doc_id"] if "files" in up.json() else None
        assert up.status_code == 200 and len(lines(settings)) == before + 1
        refused = http.post(
            "/api/documents",
            data={"collection": "hrsalaries"},
            files=files,
            headers=bearer("scoped-admin-key-0123456789"),
        )
        assert refused.status_code == 404 and len(lines(settings)) == before + 2
        docs = http.get("/api/documents", params={"collection": A}, headers=bearer(ADMIN)).json()
        doc = doc or next(d["id"] for d in docs["documents"] if d["source"] == "kettle.txt")
        gone = http.delete(f"/api/documents/{doc}", params={"collection": A}, headers=bearer(ADMIN))
        assert gone.status_code == 200 and len(lines(settings)) == before + 3
        switch = http.post(
            "/api/models/current", json={"model": "no-such-model.gguf"}, headers=bearer(ADMIN)
        )
        assert switch.status_code == 404 and len(lines(settings)) == before + 4
    log = lines(settings)[before:]
    assert [e["action"] for e in log] == ["upload", "upload", "delete", "model.switch"]
    assert [e["outcome"] for e in log] == [
        "ok",
        "collection_not_found",
        "ok",
        "model_not_downloaded",
    ]
    assert log[0]["key"] == "team-a" and log[0]["collection"] == A
    assert log[0]["client"] == "testclient" and log[2]["key"] == "key1"
    assert all({"time", "action", "key", "client", "collection", "outcome"} <= set(e) for e in log)


def ragd(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RAGD_DATA_DIR": str(data), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def test_key_commands_write_one_line_each_and_ragd_audit_reads_them(tmp_path, monkeypatch, capsys):
    """The commands run in this process (`ragd` is `app.cli.main.main`), as `ragd keys create`
    runs in a subprocess below: five interpreter starts cost 10 s of the fast loop."""
    monkeypatch.setenv("RAGD_DATA_DIR", str(tmp_path))

    def cli(*args: str) -> tuple[int, str]:
        code = main(list(args))
        return code, capsys.readouterr().out

    assert cli("keys", "create", "alice", "--collections", "hr,wiki:admin")[0] == 0
    code, listed = cli("keys", "list", "--json")
    row = json.loads(listed)
    assert code == 0 and row["name"] == "alice" and row["collections"] == "hr:read,wiki:admin"
    assert "ragd_" not in listed  # never the secret
    assert cli("keys", "revoke", "alice")[0] == 0
    shown = cli("audit", "--json", "--since", "1h")[1]
    actions = [json.loads(line)["action"] for line in shown.splitlines()]
    assert actions == ["key.create", "key.revoke"]
    assert cli("audit", "--since", "2999-01-01") == (0, "")


def test_ragd_keys_create_as_a_command_writes_its_audit_line(tmp_path):
    made = ragd(tmp_path, "keys", "create", "bob")
    assert made.returncode == 0, made.stderr
    assert [e["action"] for e in AuditLog.in_dir(tmp_path).read()] == ["key.create"]


def test_the_log_is_whole_json_lines_after_its_writer_is_killed(tmp_path):
    writer = (
        "import sys; from pathlib import Path; from app.answering.audit import AuditLog\n"
        "log = AuditLog.in_dir(Path(sys.argv[1]), max_mb=0.05, keep=3)\n"
        "n = 0\n"
        "while True:\n"
        "    n += 1; log.write('upload', key='k', client='c', collection='x', n=n, pad='p' * 300)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", writer, str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "audit.log.1").exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # wait until it has written and rotated at least once
    process.send_signal(signal.SIGKILL)
    process.wait()
    files = AuditLog.in_dir(tmp_path, keep=3).files()
    assert len(files) >= 2  # rotated by size
    numbers = []
    for path in files:
        for line in path.read_text().splitlines():
            numbers.append(json.loads(line)["n"])  # every line parses
    assert numbers == sorted(numbers) and len(numbers) == len(set(numbers))
    assert all(p.stat().st_size <= 0.05 * 1024 * 1024 + 1000 for p in files)
