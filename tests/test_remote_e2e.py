"""The remote generation backend against a real OpenAI-compatible server process:
llama-cpp-python's own server (`python -m llama_cpp.server`) serving the packaged GGUF."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import env_for, running_ragd

pytestmark = pytest.mark.e2e
MESSAGES = [
    {"role": "system", "content": "You answer briefly."},
    {"role": "user", "content": "Name three colours, then describe each in detail."},
]


def test_remote_token_counts_are_never_below_the_exact_count(llm_url):
    from llama_cpp import Llama

    from models.generator import _chat_formatter
    from models.remote import RemoteGenerator
    from models.resolve import packaged_llm_model

    remote = RemoteGenerator(llm_url, context_window=2048, temperature=0)
    assert (remote.device, remote.token_count) == ("remote", "content")
    vocab = Llama(model_path=str(packaged_llm_model()), vocab_only=True, verbose=False)
    rendered = _chat_formatter(vocab)(messages=MESSAGES).prompt
    exact = len(vocab.tokenize(rendered.encode(), add_bos=False, special=True))
    counted = remote.count_tokens(MESSAGES)
    assert exact <= counted <= exact + 40, (exact, counted)  # safe, and not wasteful


def test_remote_stream_answers_and_cancels_within_a_token(llm_url):
    from models.remote import RemoteGenerator

    remote = RemoteGenerator(llm_url, context_window=2048, temperature=0)
    cancel, pieces = threading.Event(), []
    for piece in remote.stream(MESSAGES, 200, cancel):
        pieces.append(piece)
        cancel.set()
    assert len(pieces) == 1
    # The server dropped the cut answer and serves the next one.
    full = "".join(remote.stream(MESSAGES, 24, threading.Event()))
    assert full.strip()


@pytest.fixture(scope="module")
def ragd_on_remote(llm_url: str, samples_data_dir: Path) -> Iterator[str]:
    env = env_for(
        samples_data_dir,
        RAGD_LLM_URL=llm_url,
        RAGD_LLM_CONTEXT="2048",
        RAGD_MAX_ANSWER_TOKENS="48",
        RAGD_TOP_K="2",
    )
    with running_ragd(env) as url:
        yield url


def test_ragd_answers_through_the_remote_server(ragd_on_remote: str, llm_url: str):
    generation = httpx.get(f"{ragd_on_remote}/health").json()["models"]["generation"]
    assert generation["backend"] == "openai-compatible" and generation["device"] == "remote"
    assert llm_url.removesuffix("/v1") in generation["name"]
    body = {"question": "What is the name of the lock file?"}
    answer = httpx.post(f"{ragd_on_remote}/api/ask", json=body, timeout=600).json()
    assert answer["answer"].strip() and answer["usage"]["completion_tokens"] > 0, answer
    assert answer["sources"][0]["source"] == "architecture.pdf"
    assert answer["usage"]["prompt_tokens"] + 48 <= 2048
