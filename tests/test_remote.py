"""The remote generator's protocol logic on httpx.MockTransport (real server: e2e tests)."""

import json
import threading

import httpx
import pytest

from models.errors import PromptTooLong, RemoteModelError
from models.remote import TEMPLATE_ALLOWANCE, RemoteGenerator

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "héllo"}]


def server(routes: dict[str, object], models=({"id": "m1"},)):
    """A fake server: path -> JSON body, or a callable(request) -> httpx.Response."""
    seen = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.headers.get("authorization")))
        if request.url.path == "/v1/models":
            return httpx.Response(200, json={"data": list(models)})
        route = routes.get(request.url.path)
        if route is None:
            return httpx.Response(404, json={"detail": "Not Found"})
        return route(request) if callable(route) else httpx.Response(200, json=route)

    return httpx.MockTransport(handle), seen


def sse(*pieces: str) -> httpx.Response:
    lines = [f"data: {json.dumps({'choices': [{'delta': {'content': p}}]})}" for p in pieces]
    return httpx.Response(200, text="\n\n".join([*lines, "data: [DONE]"]) + "\n\n")


def test_vllm_style_counts_include_the_template_and_the_first_model_is_used():
    transport, seen = server({"/tokenize": {"count": 42}})
    gen = RemoteGenerator("http://gpu:8000", api_key="k", transport=transport)
    assert (gen.model, gen.token_count, gen.count_tokens(MESSAGES)) == ("m1", "template", 42)
    assert gen.base == "http://gpu:8000/v1" and seen[0] == ("/v1/models", "Bearer k")


def test_llama_server_counts_the_rendered_template():
    rendered = {"prompt": "<s>x</s>"}
    transport, _ = server({"/apply-template": rendered, "/tokenize": {"tokens": [1, 2, 3]}})
    gen = RemoteGenerator("http://box/v1", transport=transport)
    assert (gen.token_count, gen.count_tokens(MESSAGES)) == ("template", 3)


def test_content_counts_add_a_template_allowance_per_message():
    transport, _ = server({"/extras/tokenize/count": {"count": 5}})
    gen = RemoteGenerator("http://box", transport=transport)
    assert gen.token_count == "content"
    assert gen.count_tokens(MESSAGES) == 2 * 5 + 3 * TEMPLATE_ALLOWANCE


def test_without_a_tokenizer_the_count_is_a_byte_upper_bound():
    transport, _ = server({})
    gen = RemoteGenerator("http://box", transport=transport)
    assert gen.token_count == "bytes"
    assert gen.count_tokens(MESSAGES) == 9 + 6 + 3 * TEMPLATE_ALLOWANCE  # é is two bytes


def test_vllm_context_window_caps_the_configured_one():
    transport, _ = server({}, models=({"id": "m1", "max_model_len": 1024},))
    assert RemoteGenerator("http://b", context_window=4096, transport=transport).context_window == (
        1024
    )


def test_unknown_model_names_what_the_server_has():
    transport, _ = server({})
    with pytest.raises(RemoteModelError, match="it serves: m1"):
        RemoteGenerator("http://b", model="other", transport=transport)


def test_unreachable_server_is_a_remote_model_error():
    def refuse(request):
        raise httpx.ConnectError("refused")

    with pytest.raises(RemoteModelError, match="unreachable"):
        RemoteGenerator("http://b", transport=httpx.MockTransport(refuse))


def test_stream_yields_deltas_and_stops_on_cancel():
    transport, _ = server({"/v1/chat/completions": lambda r: sse("Hel", "lo", " there")})
    gen = RemoteGenerator("http://b", transport=transport)
    assert "".join(gen.stream(MESSAGES, 10, threading.Event())) == "Hello there"
    cancel, got = threading.Event(), []
    for piece in gen.stream(MESSAGES, 10, cancel):
        got.append(piece)
        cancel.set()
    assert got == ["Hel"]


def test_server_errors_map_to_domain_errors():
    too_long = httpx.Response(400, json={"error": {"message": "exceeds the context window"}})
    transport, _ = server({"/v1/chat/completions": lambda r: too_long})
    gen = RemoteGenerator("http://b", transport=transport)
    with pytest.raises(PromptTooLong):
        list(gen.stream(MESSAGES, 10, threading.Event()))
    mid = httpx.Response(200, text='data: {"error": {"message": "boom"}}\n\n')
    transport, _ = server({"/v1/chat/completions": lambda r: mid})
    with pytest.raises(RemoteModelError, match="boom"):
        list(
            RemoteGenerator("http://b", transport=transport).stream(MESSAGES, 10, threading.Event())
        )
