"""Serving benchmark: the server against llama-cpp-python called directly with the same prompt,
warm vs cold KV cache, and latency percentiles under 1, 4 and 16 concurrent clients.

Everything runs side by side in one process tree on one machine: the server (a real `ragd
serve` over a socket) and the direct calls take turns, never overlap, and use the same
model file, threads, context window, temperature 0 and answer length.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "When do the ragd maintainers meet?",
    "What is the name of the lock file?",
    "How do I add documents?",
    "Why is the GPU not used?",
    "How are answers cited?",
]


@dataclass
class Config:
    questions: int
    repeats: int
    max_tokens: int
    top_k: int
    clients: tuple[int, ...]
    per_client: dict[int, int]
    threads: int = 1


QUICK = Config(3, 1, 16, 2, (1, 4, 16), {1: 2, 4: 1, 16: 1})
FULL = Config(5, 2, 64, 3, (1, 4, 16), {1: 4, 4: 2, 16: 1})


@dataclass
class Run:
    ttft: float  # seconds to the first token
    tps: float | None  # tokens per second after the first
    tokens: int


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench serving")
    parser.add_argument("--quick", action="store_true", help="a tiny run (about a minute)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="llama.cpp threads, both sides"
    )
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    config.threads = args.threads
    results = run(config)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def run(config: Config) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        env = _env(Path(tmp) / "data", config)
        subprocess.run(
            [sys.executable, "-m", "app.cli.ingest", str(ROOT / "samples")],
            env=env,
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        old = {**env, "RAGD_STREAM_INTERVAL_MS": "0"}  # an event per wake-up: per token
        now_server, old_server = serve(env), serve(old)
        with now_server as url, old_server as old_url:
            direct = Direct(config)
            urls = {"server": url, "as before": old_url}
            pids = {"server": now_server.proc.pid, "as before": old_server.proc.pid}
            overhead = compare(urls, direct, config, pids)
            cache = direct.warm_vs_cold(QUESTIONS[: config.questions])
            concurrency = {
                f"{c} clients": load(url, c, config.per_client[c]) for c in config.clients
            }
    return {
        "machine": f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end",
        "settings": {
            "max_tokens": config.max_tokens,
            "top_k": config.top_k,
            "threads": direct.threads,
            "context": 2048,
            "model": "SmolLM2-135M Q4_1",
        },
        "server_vs_direct": overhead,
        "kv_cache_ttft_ms": cache,
        "concurrency": concurrency,
    }


def _env(data: Path, config: Config) -> dict[str, str]:
    return {
        **os.environ,
        "RAGD_DATA_DIR": str(data),
        "HF_HUB_OFFLINE": "1",
        "RAGD_LLM_TEMPERATURE": "0",
        "RAGD_LLM_CONTEXT": "2048",
        "RAGD_TOP_K": str(config.top_k),
        "RAGD_MAX_ANSWER_TOKENS": str(config.max_tokens),
        "RAGD_LLM_THREADS": str(config.threads),
        "RAGD_QUEUE_DEPTH": "32",  # the 16-client run measures queueing, not refusals
    }


class serve:
    """`ragd serve` on a free port, for the length of a with-block."""

    def __init__(self, env: dict[str, str]) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.env = env

    def __enter__(self) -> str:
        cmd = [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)]
        self.proc = subprocess.Popen(
            cmd, env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    return url
            except httpx.TransportError:
                time.sleep(0.5)
        raise RuntimeError("server did not start")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def ask_server(url: str, question: str, count: Counter) -> tuple[Run, dict[str, Any]]:
    """One streamed answer, timed at the client: request sent -> first token -> last token."""
    body, started, first, last = (
        {"question": question, "stream": True},
        time.perf_counter(),
        0.0,
        0.0,
    )
    done: dict[str, Any] = {}
    texts: list[str] = []
    with httpx.stream("POST", f"{url}/api/ask", json=body, timeout=900) as response:
        for name, data in _events(response.iter_lines()):
            if name == "token":
                last = time.perf_counter()
                first = first or last
                texts.append(data["text"])
            elif name == "done":
                done = data
    return _timed_run(started, first, last, texts, count), done


Counter = Callable[[str], int]


def _timed_run(started: float, first: float, last: float, texts: list[str], count: Counter) -> Run:
    """Both sides count tokens alike (the model's tokenizer on the text received), and the
    rate runs from the first event to the last: an event may carry several tokens, so the
    first event's are left out of the rate as the first token is."""
    tokens = count("".join(texts))
    head = count(texts[0]) if texts else 0
    return Run(first - started, _rate(tokens - head + 1, last - first), tokens)


def _events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    name = ""
    for line in lines:
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            yield name, json.loads(line.split(":", 1)[1])


def _rate(tokens: int, seconds: float) -> float | None:
    return (tokens - 1) / seconds if tokens > 1 and seconds > 0 else None


class Direct:
    """llama-cpp-python in this process: the packaged GGUF, the server's settings."""

    def __init__(self, config: Config) -> None:
        from models.device import passive_openmp

        passive_openmp()  # as `ragd serve` does; a spinning OpenMP team is another program
        from llama_cpp import Llama

        from models.resolve import packaged_llm_model

        self.threads = config.threads
        self.config = config
        self.llm = Llama(
            model_path=str(packaged_llm_model()),
            n_ctx=2048,
            verbose=False,
            n_threads=self.threads,
            n_threads_batch=self.threads,
        )

    def ask(self, messages: list[dict[str, str]]) -> Run:
        from app.answering.prompt import STOP

        started, first, last = time.perf_counter(), 0.0, 0.0
        texts: list[str] = []
        for chunk in self.llm.create_chat_completion(
            messages,
            max_tokens=self.config.max_tokens,
            temperature=0.0,
            repeat_penalty=1.1,
            stop=list(STOP),
            stream=True,
        ):
            if text := chunk["choices"][0]["delta"].get("content"):  # type: ignore[index, union-attr]
                last = time.perf_counter()
                first = first or last
                texts.append(str(text))
        return _timed_run(started, first, last, texts, self.count)

    def count(self, text: str) -> int:
        """Tokens of `text` by the model's tokenizer (how both sides are counted)."""
        return len(self.llm.tokenize(text.encode(), add_bos=False)) if text else 0

    def warm_vs_cold(self, questions: list[str]) -> dict[str, float]:
        """TTFT with an empty KV cache, after a different question (shared system prompt), and
        for the very same prompt again."""
        from app.answering.prompt import build_messages

        cold, warm, same = [], [], []
        for i, question in enumerate(questions):
            prompt = [dict(m) for m in build_messages(question, [])]
            other = [dict(m) for m in build_messages(questions[i - 1] + " ", [])]
            self.llm.reset()
            cold.append(self.ask(prompt).ttft)
            self.ask(other)
            warm.append(self.ask(prompt).ttft)
            same.append(self.ask(prompt).ttft)
        return {"cold": _ms(cold), "warm_shared_system_prompt": _ms(warm), "same_prompt": _ms(same)}


def loop_cpu(pid: int) -> float:
    """CPU seconds of a server's main thread (the event loop: routes, SSE writing)."""
    import psutil

    threads = psutil.Process(pid).threads()
    return next((t.user_time + t.system_time for t in threads if t.id == pid), 0.0)


def compare(
    urls: dict[str, str], direct: Direct, config: Config, pids: dict[str, int] | None = None
) -> dict[str, Any]:
    """Each question through each server (in alternating order), then directly with the
    exact prompt the first built. `urls`: "server" (as configured) and "as before"."""
    from app.answering.prompt import Passage, build_messages
    from index.types import ChunkRow

    runs: dict[str, list[Run]] = {name: [] for name in urls}
    loop_ms: dict[str, list[float]] = {name: [] for name in urls}  # per token
    local: list[Run] = []
    retrieval = []
    for repeat in range(config.repeats):
        for i, question in enumerate(QUESTIONS[: config.questions]):
            names = list(urls) if (repeat + i) % 2 == 0 else list(urls)[::-1]
            answers = {}
            for n in names:
                before = loop_cpu(pids[n]) if pids else 0.0
                answers[n] = ask_server(urls[n], question, direct.count)
                if pids and answers[n][0].tokens:
                    spent = loop_cpu(pids[n]) - before
                    loop_ms[n].append(1000 * spent / answers[n][0].tokens)
            for n, (run, _) in answers.items():
                runs[n].append(run)
            done = answers["server"][1]
            retrieval.append(done["timings"]["retrieval_ms"] / 1000)
            passages = [
                Passage(
                    ChunkRow(
                        s["chunk_id"],
                        s["doc_id"],
                        s["source"],
                        0,
                        s["text"],
                        s["page"],
                        s["heading"],
                    ),
                    s["score"],
                )
                for s in done["sources"]
            ]
            messages = [dict(m) for m in build_messages(question, passages)]
            local.append(direct.ask(messages))
    result = _ratios(runs["server"], local, retrieval)
    before = _ratios(runs["as before"], local, retrieval)
    result["as_before"] = {k: before[k] for k in ("tokens_per_s", "tps_ratio_server_over_direct")}
    result["loop_cpu_ms_per_token"] = {n: v for n, v in loop_ms.items() if v}
    result["per_request_tps"] = {
        "server": [round(r.tps or 0, 1) for r in runs["server"]],
        "as_before": [round(r.tps or 0, 1) for r in runs["as before"]],
        "direct": [round(r.tps or 0, 1) for r in local],
    }
    return result


def _ratios(server: list[Run], local: list[Run], retrieval: list[float]) -> dict[str, Any]:
    s_ttft, d_ttft = (
        statistics.median(r.ttft for r in server),
        statistics.median(r.ttft for r in local),
    )
    s_tps = statistics.median(r.tps for r in server if r.tps)
    d_tps = statistics.median(r.tps for r in local if r.tps)
    return {
        "requests": len(server),
        "ttft_ms": {
            "server": round(s_ttft * 1000),
            "direct": round(d_ttft * 1000),
            "server_retrieval": _ms(retrieval),
        },
        "ttft_ratio_server_over_direct": round(s_ttft / d_ttft, 3),
        "tokens_per_s": {"server": round(s_tps, 1), "direct": round(d_tps, 1)},
        "tps_ratio_server_over_direct": round(s_tps / d_tps, 3),
        "tokens": {"server": sum(r.tokens for r in server), "direct": sum(r.tokens for r in local)},
    }


def load(url: str, clients: int, each: int) -> dict[str, Any]:
    """`clients` threads, each asking `each` questions back to back (non-streamed JSON)."""

    def client(i: int) -> list[float]:
        times = []
        for j in range(each):
            question = QUESTIONS[(i + j) % len(QUESTIONS)]
            started = time.perf_counter()
            r = httpx.post(f"{url}/api/ask", json={"question": question}, timeout=1800)
            r.raise_for_status()
            times.append(time.perf_counter() - started)
        return times

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = sorted(t for times in pool.map(client, range(clients)) for t in times)
    wall = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "p50_s": round(statistics.median(latencies), 2),
        "p95_s": round(_percentile(latencies, 0.95), 2),
        "answers_per_min": round(len(latencies) / wall * 60, 1),
    }


def _percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return values[min(len(values) - 1, max(0, round(q * len(values) + 0.5) - 1))]


def _ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)
