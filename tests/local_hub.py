"""A local HTTP server speaking the part of the Hugging Face hub API that downloads use (HEAD
and GET on /{repo}/resolve/{revision}/{file}, with Range), serving one real file. Tests point
HF_ENDPOINT at it: downloads are tested without the internet."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")


@dataclass
class Hub:
    """What the hub serves and how it misbehaves; `requests` records (method, path, Range)."""

    data: bytes
    sha256: str
    cut_after: int | None = None  # the next full GET stops after this many bytes
    corrupt: bool = False  # serve one byte changed (the advertised SHA-256 stays the true one)
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    url: str = ""

    @classmethod
    def of(cls, path: Path) -> Hub:
        data = path.read_bytes()
        return cls(data, hashlib.sha256(data).hexdigest())

    def body(self) -> bytes:
        if not self.corrupt:
            return self.data
        middle = len(self.data) // 2
        return self.data[:middle] + bytes([self.data[middle] ^ 0xFF]) + self.data[middle + 1 :]


def handler(hub: Hub) -> type[BaseHTTPRequestHandler]:
    class Resolve(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_HEAD(self) -> None:
            self.answer(send_body=False)

        def do_GET(self) -> None:
            self.answer(send_body=True)

        def answer(self, send_body: bool) -> None:
            hub.requests.append((self.command, self.path, self.headers.get("Range", "")))
            if not _RESOLVE.match(self.path):
                self.send_error(404)
                return
            start = _range_start(self.headers.get("Range", ""))
            body = hub.body()[start:]
            self.send_response(206 if start else 200)
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("ETag", f'"{hub.sha256}"')  # an LFS file's ETag is its SHA-256
            self.send_header("X-Linked-Size", str(len(hub.data)))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(len(body)))
            if start:
                self.send_header(
                    "Content-Range", f"bytes {start}-{len(hub.data) - 1}/{len(hub.data)}"
                )
            self.end_headers()
            if send_body:
                self.send_body(body)

        def send_body(self, body: bytes) -> None:
            if hub.cut_after is not None:
                body, hub.cut_after = body[: hub.cut_after], None
                self.close_connection = True
            self.wfile.write(body)

    return Resolve


def _range_start(header: str) -> int:
    match = re.match(r"bytes=(\d+)-$", header)
    return int(match.group(1)) if match else 0


@contextmanager
def serving(hub: Hub) -> Iterator[Hub]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(hub))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
