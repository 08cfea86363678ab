"""Model downloads from the Hugging Face hub: resumable, with progress, SHA-256 verified."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from models.errors import ChecksumMismatch, DownloadFailed

PART = ".part"  # a download in progress: the next pull resumes from its length
CHUNK = 1 << 20
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
Progress = Callable[[int, int | None], None]  # bytes done, bytes in all (None: unknown)


@dataclass(frozen=True)
class Remote:
    """A hub file: where to get it (pinned to a commit), its SHA-256 and size."""

    url: str
    sha256: str
    size: int | None


def gguf_path(repo: str, filename: str, models_dir: Path) -> Path:
    """Where `owner/repo:file.gguf` lives once downloaded."""
    return models_dir / repo.replace("/", "--") / filename


def remote_file(repo: str, filename: str, revision: str = "main") -> Remote:
    """The file's metadata from the hub (HF_ENDPOINT): the LFS SHA-256 is its ETag."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    try:
        meta = get_hf_file_metadata(hf_hub_url(repo, filename, revision=revision))
    except Exception as exc:  # offline, unknown repo or file, hub down: one clear line
        raise DownloadFailed(f"cannot get {repo}:{filename} from the hub: {exc}") from exc
    sha = (meta.etag or "").lower()
    if not _SHA256.match(sha):
        raise DownloadFailed(
            f"the hub gives no SHA-256 for {repo}:{filename} (not an LFS file); "
            "refusing a download that cannot be verified"
        )
    url = hf_hub_url(repo, filename, revision=meta.commit_hash or revision)
    return Remote(url, sha, meta.size)


def pull(
    repo: str, filename: str, models_dir: Path, progress: Progress = lambda done, total: None
) -> Path:
    """Download into data/models, resuming a partial file; keep it only if its SHA-256 is the
    hub's. An existing complete file of the right size is kept as it is."""
    target = gguf_path(repo, filename, models_dir)
    remote = remote_file(repo, filename)
    if target.is_file() and remote.size in (None, target.stat().st_size):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + PART)
    digest = fetch(remote, part, progress)
    if digest != remote.sha256:
        part.unlink()
        raise ChecksumMismatch(
            f"{filename}: SHA-256 {digest} differs from the hub's {remote.sha256}; the file was "
            "removed (a corrupted or tampered download): run the pull again"
        )
    part.replace(target)
    return target


def fetch(remote: Remote, part: Path, progress: Progress) -> str:
    """Append the missing bytes to `part` (a Range request); returns the whole file's SHA-256."""
    have = part.stat().st_size if part.is_file() else 0
    if remote.size is not None and have > remote.size:
        have = 0  # not a prefix of this file: start over
    if remote.size is not None and have == remote.size:
        return _hash_prefix(part, have).hexdigest()
    try:
        return _stream(remote, part, have, progress)
    except httpx.HTTPError as exc:
        done = part.stat().st_size if part.is_file() else 0
        raise DownloadFailed(
            f"download interrupted at {done / 1e6:.1f} of {_mb(remote.size)} MB ({exc}); "
            "run the same pull again to resume"
        ) from exc


def _stream(remote: Remote, part: Path, have: int, progress: Progress) -> str:
    from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]

    digest = _hash_prefix(part, have)
    headers = {**build_hf_headers(), **({"Range": f"bytes={have}-"} if have else {})}
    timeout = httpx.Timeout(30.0, read=120.0)
    with httpx.stream(
        "GET", remote.url, headers=headers, follow_redirects=True, timeout=timeout
    ) as response:
        response.raise_for_status()
        if have and response.status_code != 206:  # the server ignored the range
            have, digest = 0, hashlib.sha256()
        with part.open("r+b" if have else "wb") as out:
            out.truncate(have)
            out.seek(have)
            for chunk in response.iter_bytes():  # as it arrives: a cut loses nothing received
                out.write(chunk)
                digest.update(chunk)
                have += len(chunk)
                progress(have, remote.size)
    return digest.hexdigest()


def _hash_prefix(part: Path, length: int) -> hashlib._Hash:
    digest = hashlib.sha256()
    if length:
        with part.open("rb") as f:
            while chunk := f.read(min(CHUNK, length - f.tell())):
                digest.update(chunk)
    return digest


def _mb(size: int | None) -> str:
    return "?" if size is None else f"{size / 1e6:.1f}"
