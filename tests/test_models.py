"""Models you can pick and pull: the catalogue, `ragd models pull` (resumable, SHA-256 checked)
against a local hub serving the packaged GGUF, `ragd models use`, and live switching."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from app.answering.answer import Answerer
from app.answering.models import switch_model
from app.answering.queue import GenerationQueue
from app.answering.services import Services
from config.settings import Settings
from models.catalog import BY_NAME, CATALOGUE, RECOMMENDED, current, expand, record_current
from models.errors import ModelNotDownloaded
from models.pull import PART, gguf_path
from models.resolve import local_llm_model, packaged_llm_model, resolve_llm_model
from tests.fakes import FakeGenerator
from tests.local_hub import COMMIT, Hub, serving
from tests.support import RAGD, env_for, run, running_ragd

REPO, FILE = "ragd-test/SmolLM2-GGUF", "SmolLM2-135M-Instruct.Q4_1.gguf"
SPEC = f"{REPO}:{FILE}"


def test_catalogue_spans_half_a_billion_to_eight_billion_with_sizes_and_licences():
    params = [float(e.params.rstrip("B")) for e in CATALOGUE]
    assert min(params) == 0.5 and max(params) == 8.0 and params == sorted(params)
    assert len(BY_NAME) == len(CATALOGUE) and RECOMMENDED in BY_NAME
    for entry in CATALOGUE:
        assert entry.file.endswith(".gguf") and "Q4_K_M" in entry.file
        assert entry.size_gb < entry.memory_gb < entry.size_gb + 2.5
        assert entry.licence and entry.note


def test_catalogue_names_resolve_to_the_downloaded_file(tmp_path):
    entry = CATALOGUE[0]
    assert expand(entry.name) == entry.spec and expand("other/repo:x.gguf") == "other/repo:x.gguf"
    assert local_llm_model(entry.name, tmp_path) is None
    path = gguf_path(entry.repo, entry.file, tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"GGUF")
    assert local_llm_model(entry.name, tmp_path) == path
    assert resolve_llm_model(entry.name, tmp_path) == path


def test_the_recorded_choice_applies_unless_ragd_llm_model_is_set(tmp_path, monkeypatch):
    monkeypatch.delenv("RAGD_LLM_MODEL", raising=False)
    settings = Settings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    assert (
        settings.llm_choice == "SmolLM2-135M-Instruct-Q4_1" and current(tmp_path / "models") is None
    )
    record_current("qwen2.5-1.5b", settings.models_dir)
    assert settings.llm_choice == "qwen2.5-1.5b"
    monkeypatch.setenv("RAGD_LLM_MODEL", "llama3.2-1b")
    assert Settings(data_dir=tmp_path, _env_file=None).llm_choice == "llama3.2-1b"  # type: ignore[call-arg]


@pytest.fixture
def hub():
    with serving(Hub.of(packaged_llm_model())) as running:
        yield running


# Each of these moves the packaged 98 MB model through the local hub and hashes it: `make test`
# runs them, the fast loop leaves them out.
SERVES_THE_MODEL = pytest.mark.slow


def pull(data: Path, hub: Hub, model: str = SPEC):
    env = env_for(data, HF_ENDPOINT=hub.url, HF_HUB_OFFLINE="0", HF_HUB_DISABLE_TELEMETRY="1")
    result = run([*RAGD, "models", "pull", model], env, timeout=120)
    result.stderr = " ".join(result.stderr.split())  # rich wraps lines at the terminal width
    return result


@SERVES_THE_MODEL
def test_interrupted_download_resumes_where_it_stopped_and_is_verified(tmp_path, hub):
    hub.cut_after = 30_000_000
    first = pull(tmp_path, hub)
    part = gguf_path(REPO, FILE, tmp_path / "models").with_name(FILE + PART)
    assert first.returncode == 2 and "interrupted at 30.0 of" in first.stderr
    assert "run the same pull again to resume" in first.stderr and part.stat().st_size == 30_000_000
    second = pull(tmp_path, hub)
    assert second.returncode == 0, second.stderr
    resumed = ("GET", f"/{REPO}/resolve/{COMMIT}/{FILE}", "bytes=30000000-")
    assert hub.requests[-1] == resumed  # pinned to the commit the metadata named
    target = gguf_path(REPO, FILE, tmp_path / "models")
    assert hashlib.sha256(target.read_bytes()).hexdigest() == hub.sha256 and not part.exists()


@SERVES_THE_MODEL
def test_a_corrupted_download_is_refused_by_its_checksum_and_removed(tmp_path, hub):
    hub.corrupt = True
    result = pull(tmp_path, hub)
    assert result.returncode == 2
    assert re.search(r"SHA-256 [0-9a-f]{64} differs from the hub's " + hub.sha256, result.stderr)
    assert not any((tmp_path / "models").rglob("*.gguf*"))


@SERVES_THE_MODEL
def test_pull_by_catalogue_name_fetches_the_catalogue_file_then_use_and_list_show_it(tmp_path, hub):
    entry = BY_NAME[RECOMMENDED]
    assert pull(tmp_path, hub, RECOMMENDED).returncode == 0
    assert any(
        path.endswith(f"/{entry.repo}/resolve/main/{entry.file}") for _, path, _ in hub.requests
    )
    env = env_for(tmp_path)
    assert run([*RAGD, "models", "use", RECOMMENDED], env).returncode == 0
    listed = json.loads(run([*RAGD, "models", "list", "--json"], env).stdout)
    row = next(r for r in listed["catalogue"] if r["name"] == RECOMMENDED)
    assert row["downloaded"] and row["in_use"] and listed["using"] == RECOMMENDED


def test_offline_pull_fails_with_one_clear_line(tmp_path):
    result = run([*RAGD, "models", "pull", SPEC], env_for(tmp_path))
    assert result.returncode == 2 and "cannot get" in result.stderr
    assert "Traceback" not in result.stderr


def test_use_refuses_a_model_that_is_not_downloaded(tmp_path):
    result = run([*RAGD, "models", "use", "qwen2.5-7b"], env_for(tmp_path))
    assert result.returncode == 2 and "ragd models pull qwen2.5-7b" in " ".join(
        result.stderr.split()
    )


def fake_services(settings: Settings, generator: FakeGenerator) -> Services:
    return Services(settings, None, generator, None)  # type: ignore[arg-type]


def test_swap_waits_for_the_running_generation_and_queued_requests_run_on_the_new_model():
    old, new = FakeGenerator("old " * 20, delay=0.05), FakeGenerator("new answer")
    queue = GenerationQueue(old)

    async def generate(label: str, log: list[str]) -> str:
        with queue.reserve() as slot:
            text = "".join([p async for p in slot.stream([{"role": "user", "content": "q"}], 64)])
        log.append(label)
        return text

    def load() -> FakeGenerator:
        time.sleep(0.5)  # a model file loading
        return new

    async def scenario() -> tuple[str, str, list[str]]:
        log: list[str] = []
        running = asyncio.create_task(generate("running", log))
        await asyncio.sleep(0.1)
        swap = asyncio.create_task(queue.swap(load))
        await asyncio.sleep(0.05)
        queued = asyncio.create_task(generate("queued", log))
        await swap
        log.append("swapped")
        return await running, await queued, log

    first, second, order = asyncio.run(scenario())
    assert first.startswith("old") and second == "new answer"
    assert order == ["running", "swapped", "queued"] and queue.generator is new


def test_switch_to_a_model_not_downloaded_is_refused_and_keeps_the_current_one(settings):
    generator = FakeGenerator()
    answerer = Answerer.__new__(Answerer)
    answerer.services, answerer.queue = (
        fake_services(settings, generator),
        GenerationQueue(generator),
    )
    with pytest.raises(ModelNotDownloaded, match=r"ragd models pull qwen2\.5-7b"):
        asyncio.run(switch_model(answerer, "qwen2.5-7b"))
    assert answerer.queue.generator is generator and current(settings.models_dir) is None


ADMIN, READER = "admin-key-0123456789abcdef", "read-key-0123456789abcdef"


@pytest.mark.e2e
def test_live_switch_while_a_question_is_queued_answers_it_on_the_new_model_and_keeps_it(
    samples_data_dir, tmp_path
):
    data = tmp_path / "data"
    shutil.copytree(samples_data_dir, data)
    target = gguf_path(REPO, "switched.gguf", data / "models")
    target.parent.mkdir(parents=True)
    shutil.copy(packaged_llm_model(), target)
    env = env_for(data, RAGD_API_KEYS=f"{ADMIN}:admin,{READER}:read", RAGD_MAX_ANSWER_TOKENS="200")
    order: list[str] = []  # completion order
    with running_ragd(env) as url, ThreadPoolExecutor(4) as pool:
        running = pool.submit(ask, url, "running", order)
        wait_until_generating(url)
        refused = post_model(url, READER, f"{REPO}:switched.gguf")
        switch = pool.submit(post_model, url, ADMIN, f"{REPO}:switched.gguf", order)
        time.sleep(0.2)
        queued = pool.submit(ask, url, "queued", order)
        results, switched = [running.result(), queued.result()], switch.result()
        health = httpx.get(f"{url}/health").json()
    assert refused.status_code == 403
    assert switched.status_code == 200, switched.text
    assert switched.json()["model"] == "switched" and switched.json()["previous"] != "switched"
    assert all(r.status_code == 200 and r.json()["answer"] for r in results), results
    # The switch waited for the answer being generated; the queued one waited for the switch.
    assert order == ["running", "switch", "queued"]
    assert health["models"]["generation"]["name"] == "switched" and health["notice"] is None
    assert current(data / "models") == f"{REPO}:switched.gguf"


def wait_until_generating(url: str) -> None:
    headers = {"Authorization": f"Bearer {READER}"}
    deadline = time.monotonic() + 60
    while not httpx.get(f"{url}/health", headers=headers).json()["queue"]["busy"]:
        assert time.monotonic() < deadline, "the first question never reached the model"
        time.sleep(0.05)


def ask(url: str, label: str, order: list[str]) -> httpx.Response:
    response = httpx.post(
        f"{url}/api/ask",
        json={"question": "How do I add documents to ragd?"},
        headers={"Authorization": f"Bearer {READER}"},
        timeout=300,
    )
    order.append(label)
    return response


def post_model(url: str, key: str, model: str, order: list[str] | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"}
    response = httpx.post(
        f"{url}/api/models/current", json={"model": model}, headers=headers, timeout=300
    )
    if order is not None:
        order.append("switch")
    return response


def test_switch_refuses_a_gguf_outside_data_models(settings, tmp_path):
    outside = tmp_path / "elsewhere.gguf"
    outside.write_bytes(b"GGUF")
    generator = FakeGenerator()
    answerer = Answerer.__new__(Answerer)
    answerer.services = fake_services(settings, generator)
    answerer.queue = GenerationQueue(generator)
    with pytest.raises(ModelNotDownloaded, match="is not in"):
        asyncio.run(switch_model(answerer, str(outside)))
    assert answerer.queue.generator is generator
