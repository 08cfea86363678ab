"""The ingest pipeline, shared by the `ingest` CLI and the upload endpoint."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from config.settings import Settings
from index.errors import DocumentNotFound, RowTooLarge
from index.protocol import StoreCollection, StoreWriter, VectorStore
from index.space import require_free
from index.types import DocumentRow, IndexSpec, NewChunk
from ingest import frontmatter
from ingest.chunker import CHUNKER_VERSION, Chunk, Chunker
from ingest.errors import FileTooLarge, IngestError, TooMuchText, UnreadableFile
from ingest.lane import EmbedLane, Stages
from ingest.loaders import precheck
from ingest.loaders.blocks import Block
from ingest.loaders.context import Loaded
from ingest.normalize import bound_heading, cap_invisible
from ingest.sandbox import ParseLimits, Sandbox, shared
from models.embedder import Embedder

Status = Literal["added", "updated", "unchanged", "removed", "skipped", "failed"]
SKIP_ONLY = ("UnsupportedFile", "EmptyDocument", "FileTooLarge")  # the user's files, not a failure
MARKDOWN = (".md", ".markdown")
MAX_FILE_BYTES = 200 * 1024 * 1024  # RAGD_MAX_FILE_MB: a file is refused before it is read
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


@dataclass(frozen=True)
class SourceFile:
    """A file to ingest and the name it is known by (relative to the folder given)."""

    path: Path
    source: str
    identity: tuple[int, int] | None = None  # (device, inode) when discovered; checked at open


@dataclass(frozen=True)
class Outcome:
    source: str
    status: Status
    chunks: int = 0
    reason: str = ""
    doc_id: str = ""
    ocr_pages: int = 0  # pages (or image frames) read by OCR: the slow part of a scan
    error: IngestError | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if k != "error"}


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)
    kept: int = 0  # how many outcomes were committed (all of them once the ingest finishes)
    generation: int = 0  # the generation that holds them

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def chunks(self) -> int:
        return sum(o.chunks for o in self.outcomes if o.status in ("added", "updated"))

    @property
    def ocr_pages(self) -> int:
        return sum(o.ocr_pages for o in self.outcomes)

    @property
    def ok(self) -> bool:
        return self.count("failed") == 0

    def as_dict(self) -> dict[str, object]:
        statuses: tuple[Status, ...] = ("added", "updated", "unchanged", "removed", "skipped")
        counts: dict[str, int] = {s: self.count(s) for s in (*statuses, "failed")}
        files = [o.as_dict() for o in self.outcomes]
        return {
            **counts,
            "chunks": self.chunks,
            "ocr_pages": self.ocr_pages,
            "generation": self.generation,
            "files": files,
        }

    def kept_line(self) -> str:
        """What an interrupted ingest kept: the files committed before it stopped."""
        kept = [o for o in self.outcomes[: self.kept] if o.status in ("added", "updated")]
        chunks = sum(o.chunks for o in kept)
        if not kept:
            return "no new files were committed before it stopped"
        return (
            f"{len(kept)} new or updated files ({chunks} chunks) were committed before it "
            f"stopped (generation {self.generation}); run the same command again to add the rest"
        )


def document_id(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def index_spec(embedder: Embedder) -> IndexSpec:
    return IndexSpec(
        embedder.name,
        embedder.dimension,
        normalized=True,
        chunker=CHUNKER_VERSION,
        embed_backend=embedder.backend,
    )


def discover(paths: Iterable[Path]) -> Iterator[SourceFile | Outcome]:
    """Files under `paths`, each named relative to the folder given; never outside it."""
    for root in paths:
        if root.is_file():
            yield _found(root.resolve(), root.name)  # named by the user: a link is followed
        elif root.is_dir():
            yield from _walk(root)
        else:
            yield Outcome(str(root), "failed", reason="no such file or folder")


def _walk(root: Path) -> Iterator[SourceFile | Outcome]:
    """Regular files in sorted order, hidden names and linked folders left out. Iterative:
    folders nested thousands deep cost a list entry each, not a stack frame."""
    base = root.resolve()
    found: list[tuple[tuple[str, ...], os.DirEntry[str]]] = []
    stack: list[tuple[tuple[str, ...], Path]] = [((), root)]
    while stack:
        rel, folder = stack.pop()
        for entry in _entries(folder):
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(((*rel, entry.name), Path(entry.path)))
            elif entry.is_file():
                found.append(((*rel, entry.name), entry))
    for rel, entry in sorted(found, key=lambda item: item[0]):
        yield _linked_or_found(base, Path(entry.path), "/".join(rel))


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except OSError:
        return []  # a folder that vanished or cannot be listed holds nothing to ingest


def _linked_or_found(base: Path, path: Path, source: str) -> SourceFile | Outcome:
    target = path.resolve()
    if not target.is_relative_to(base):
        return Outcome(source, "skipped", reason="a link to outside the folder given")
    return _found(target, source)


def _found(path: Path, source: str) -> SourceFile:
    """The file as discovered: its identity is checked again when it is opened."""
    try:
        info = path.stat()
    except OSError:
        return SourceFile(path, source)
    return SourceFile(path, source, (info.st_dev, info.st_ino))


def read_checked(item: SourceFile, limit: int = MAX_FILE_BYTES) -> bytes:
    """The file's bytes, opened once without following a link or blocking on a FIFO, after
    checking the open descriptor: a regular file, the one discovered, no larger than `limit`.
    A file swapped after discovery (for a link to a secret, or a pipe) is refused."""
    fd = os.open(item.path, _OPEN_FLAGS | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(fd)
        _check_opened(item, info, limit)
        data = file.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(_too_large(len(data), limit))
    return data


def _check_opened(item: SourceFile, info: os.stat_result, limit: int) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise UnreadableFile("not a regular file (it changed after it was found)")
    if item.identity is not None and item.identity != (info.st_dev, info.st_ino):
        raise UnreadableFile("the file was replaced after it was found; run ingest again")
    if info.st_size > limit:
        raise FileTooLarge(_too_large(info.st_size, limit))


def _too_large(size: int, limit: int) -> str:
    return (
        f"the file is {size / 1048576:,.0f} MB, larger than the {limit / 1048576:,.0f} MB "
        "allowed (RAGD_MAX_FILE_MB)"
    )


@dataclass(frozen=True)
class FileMeta:
    """What is known of a file before parsing: size, modification time, front-matter tags."""

    size: int = 0
    modified: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    title: str = ""


@dataclass
class _Parsed:
    source: str
    hash: str
    chunks: list[Chunk]
    meta: FileMeta = field(default_factory=FileMeta)


@dataclass
class _Embedding:
    """A batch on its way through the embedding lane, and the outcomes of its files."""

    batch: list[_Parsed]
    done: list[Outcome]
    vectors: Future[np.ndarray]


@dataclass
class _Job:
    """A file on its way through the sandbox, or already decided without parsing."""

    source: str
    digest: str = ""
    existing: DocumentRow | None = None
    parsing: Future[Loaded] | None = None
    outcome: Outcome | None = None
    meta: FileMeta = field(default_factory=FileMeta)


class Ingestor:
    """Reads, chunks and embeds files, then commits them to a collection in generations."""

    def __init__(
        self,
        embedder: Embedder,
        chunker: Chunker,
        collection: StoreCollection,
        commit_every: int = 2048,
        batch_chunks: int = 256,
        parser: Sandbox | None = None,
        max_file_bytes: int = MAX_FILE_BYTES,
        commit_seconds: float = 30,
        space_check: Callable[[], None] = lambda: None,
    ) -> None:
        self.embedder = embedder
        self.chunker = chunker
        self.collection = collection
        self.spec = index_spec(embedder)
        self.commit_every = commit_every
        self.commit_seconds = commit_seconds  # at most this much work is lost to an interruption
        self.space_check = space_check  # raises DiskFull before a write starts on a full disk
        self.summary = Summary()  # the last ingest's, read by a caller it was interrupted in
        self._committed_at = 0.0
        self.batch_chunks = batch_chunks
        self.parser = parser or shared(ParseLimits())
        self.max_file_bytes = max_file_bytes
        self.tags: dict[str, str] = {}  # given to every file ingested (`ingest --tag K=V`)
        # Unchanged files whose tags changed, by document id: retagged once the writer closes.
        self._retags: dict[str, dict[str, str]] | None = None
        # Files parsing in the sandbox while earlier ones are chunked and embedded here.
        self.lookahead = 2 * self.parser.limits.workers + 2
        # Embedding runs on its own thread while the next batch is read, chunked and the last
        # one written; False embeds in line (the path before, for the benchmark's A/B).
        self.overlap = True
        self.stages = Stages()  # where the last ingest's seconds went
        self._lane: EmbedLane | None = None

    def writer(self, wait: float = 0, rebuild: bool = False) -> StoreWriter:
        return self.collection.writer(self.spec, wait=wait, rebuild=rebuild)

    def ingest(
        self,
        items: Iterable[SourceFile | Outcome],
        *,
        prune: bool = False,
        rebuild: bool = False,
        wait: float = 0,
        on_file: Callable[[Outcome], None] = lambda _: None,
        forget: Callable[[str], bool] | None = None,
    ) -> Summary:
        """Ingest files incrementally: unchanged ones are skipped by content hash. `prune`
        removes every document not among `items`; `forget` only those whose source it selects
        (a watcher's deleted or renamed files), in the same commit."""
        self.space_check()
        summary = self.summary = Summary()  # kept here too: an interrupted caller reports it
        seen: set[str] = set()
        self._retags = {} if not rebuild else None
        self.stages = Stages()
        self._lane = EmbedLane(self.embedder, self.stages, self.overlap, self._ids_fit())
        try:
            with self.stages.timing("total"), self.writer(wait=wait, rebuild=rebuild) as writer:
                for outcome in self._process(writer, items, seen, summary):
                    summary.outcomes.append(outcome)
                    on_file(outcome)
                if prune or forget:
                    gone = forget if forget and not prune else lambda _: True
                    summary.outcomes.extend(self._prune(writer, seen, gone))
                self._commit(writer, summary)
            self._apply_retags(self._retags or {}, wait)
        finally:
            self._retags = None
            self._lane.close()
            self._lane = None
        return summary

    def _ids_fit(self) -> bool:
        """Chunks' ids are the embedder's own only when it is the chunker's tokenizer."""
        return self.chunker.tokenizer is self.embedder

    def _apply_retags(self, retags: dict[str, dict[str, str]], wait: float) -> None:
        """New tags on unchanged files, as PATCH sets them: metadata only, nothing re-embedded
        (the store's tag update takes the writer's lock, so it runs once the writer is closed)."""
        for doc_id, tags in retags.items():
            with suppress(DocumentNotFound):  # deleted by another writer since: nothing to tag
                self.collection.set_tags(doc_id, tags, wait=max(wait, 30))

    def _commit(self, writer: StoreWriter, summary: Summary) -> None:
        """Commit what is staged: every outcome reported so far is then kept."""
        with self.stages.timing("commit"):
            summary.generation = writer.commit().generation
        summary.kept = len(summary.outcomes)
        self._committed_at = time.monotonic()

    def _commit_due(self, writer: StoreWriter) -> bool:
        staged = writer.staged_chunks
        late = time.monotonic() - self._committed_at >= self.commit_seconds
        return staged >= self.commit_every or (staged > 0 and late)

    def ingest_bytes(
        self, writer: StoreWriter, source: str, data: bytes, tags: dict[str, str] | None = None
    ) -> Outcome:
        """Stage one uploaded file in an open writer (modified: now); the caller commits."""
        batch: list[_Parsed] = []
        job = self._start(writer, source, data, _now(), tags or {})
        outcome = self._finish(job, batch)
        if not batch:
            return outcome
        lane = EmbedLane(self.embedder, Stages(), overlap=False, use_ids=self._ids_fit())
        vectors = lane.result(lane.submit(batch[0].chunks))
        return self._put(writer, batch, vectors).get(source, outcome)

    def _process(
        self,
        writer: StoreWriter,
        items: Iterable[SourceFile | Outcome],
        seen: set[str],
        summary: Summary,
    ) -> Iterator[Outcome]:
        self._committed_at = time.monotonic()
        batch: list[_Parsed] = []
        done: list[Outcome] = []
        jobs: deque[_Job] = deque()
        embedding: deque[_Embedding] = deque()
        for item in items:
            if isinstance(item, Outcome):
                yield item  # decided before reading: nothing staged, so never held back
                continue
            seen.add(item.source)
            with self.stages.timing("read"):
                jobs.append(self._read(writer, item))
            while len(jobs) > self.lookahead:
                done.append(self._finish(jobs.popleft(), batch))
            if self._batch_ready(batch):
                embedding.append(self._embed(batch, done))
                batch, done = [], []
            while len(embedding) > 1:  # one embedding, one waiting: the lane never idles
                yield from self._land(writer, embedding.popleft())
            if self._commit_due(writer):
                self._commit(writer, summary)  # a crash from here on keeps all before this
        done.extend(self._finish(job, batch) for job in jobs)
        embedding.append(self._embed(batch, done))
        while embedding:
            yield from self._land(writer, embedding.popleft())

    def _batch_ready(self, batch: list[_Parsed]) -> bool:
        """Full, or enough for one of the embedder's batches while the lane has nothing."""
        chunks = sum(len(p.chunks) for p in batch)
        lane = self._lane
        first = getattr(self.embedder, "batch_size", 64)
        idle = lane is not None and lane.overlap and lane.idle()
        return chunks >= self.batch_chunks or (idle and chunks >= first)

    def _embed(self, batch: list[_Parsed], done: list[Outcome]) -> _Embedding:
        assert self._lane is not None
        return _Embedding(batch, done, self._lane.submit([c for p in batch for c in p.chunks]))

    def _land(self, writer: StoreWriter, embedding: _Embedding) -> list[Outcome]:
        """Stage a batch once its vectors are ready; its outcomes, in file order."""
        assert self._lane is not None
        vectors = self._lane.result(embedding.vectors)
        return _replaced(embedding.done, self._put(writer, embedding.batch, vectors))

    def _read(self, writer: StoreWriter, item: SourceFile) -> _Job:
        try:
            data = read_checked(item, self.max_file_bytes)
        except IngestError as exc:
            return _Job(item.source, outcome=_rejected(item.source, exc))
        except OSError as exc:
            reason = f"cannot read: {exc.strerror or exc}"
            return _Job(item.source, outcome=Outcome(item.source, "failed", reason=reason))
        return self._start(writer, item.source, data, _modified(item.path))

    def _start(
        self,
        writer: StoreWriter,
        source: str,
        data: bytes,
        modified: str,
        tags: dict[str, str] | None = None,
    ) -> _Job:
        """Decide what needs no parsing; send the rest to the sandbox."""
        digest = hashlib.sha256(data).hexdigest()
        existing = writer.document(source=source)
        meta = self._meta(source, data, modified, existing, tags or {})
        same = self._same_content(source, digest, existing, meta)
        if same is not None:
            return same
        try:
            precheck(source, data)
        except IngestError as exc:
            return _Job(source, outcome=_rejected(source, exc))
        return _Job(source, digest, existing, self.parser.submit(source, data), meta=meta)

    def _same_content(
        self, source: str, digest: str, existing: DocumentRow | None, meta: FileMeta
    ) -> _Job | None:
        """A file whose content is stored already: unchanged, or retagged without re-embedding
        (during `ingest`; an upload re-embeds); None when it must be parsed."""
        if existing is None or existing.hash != digest:
            return None
        reason = ""
        if existing.tags != meta.tags:
            if self._retags is None:
                return None
            self._retags[existing.id] = meta.tags
            reason = "tags updated; nothing re-embedded"
        outcome = Outcome(source, "unchanged", existing.chunks, reason, existing.id)
        return _Job(source, outcome=outcome)

    def _meta(
        self,
        source: str,
        data: bytes,
        modified: str,
        existing: DocumentRow | None,
        tags: dict[str, str],
    ) -> FileMeta:
        """Tags kept from before (an admin's edits), then front matter's, then the command's."""
        front = frontmatter.split(data)[0] if source.lower().endswith(MARKDOWN) else {}
        merged = {**(existing.tags if existing else {}), **frontmatter.tags_of(front)}
        title = frontmatter.text(front["title"]) if "title" in front else ""
        return FileMeta(len(data), modified, {**merged, **self.tags, **tags}, title)

    def _finish(self, job: _Job, batch: list[_Parsed]) -> Outcome:
        if job.outcome is not None or job.parsing is None:
            return job.outcome or Outcome(job.source, "failed", reason="not parsed")
        try:
            with self.stages.timing("parse"):
                loaded = self.parser.result(job.parsing)
            with self.stages.timing("normalize"):
                blocks = bounded(loaded)
            chunks = self._chunk(blocks)
            self._check_stored(chunks)
        except IngestError as exc:
            return _rejected(job.source, exc)
        except Exception as exc:  # a chunker bug must cost one file, not the whole run
            return _rejected(job.source, UnreadableFile(f"unreadable: {exc}"))
        batch.append(_Parsed(job.source, job.digest, chunks, meta=job.meta))
        status: Status = "updated" if job.existing else "added"
        return Outcome(
            job.source,
            status,
            len(chunks),
            reason="; ".join(loaded.notes),  # what was cut, and why
            doc_id=document_id(job.source),
            ocr_pages=loaded.ocr_pages,
        )

    def _chunk(self, blocks: list[Block]) -> list[Chunk]:
        tokenizing = getattr(self.chunker, "tokenize_seconds", 0.0)
        with self.stages.timing("chunk"):
            chunks = self.chunker.chunk(blocks)
        tokenized = getattr(self.chunker, "tokenize_seconds", 0.0) - tokenizing
        self.stages.tokenize += tokenized
        self.stages.chunk -= tokenized
        return chunks

    def _check_stored(self, chunks: Sequence[Chunk]) -> None:
        """What a document stores (chunk texts with their overlap, a heading per chunk) is held
        to RAGD_MAX_DOCUMENT_CHARS too, not only the text it yields."""
        limit = self.parser.limits.max_chars
        stored = sum(len(c.text) + len(c.heading or "") for c in chunks)
        if stored > limit:
            raise TooMuchText(
                f"the document would store {stored:,} characters (chunks and their headings), "
                f"more than the {limit:,} allowed (RAGD_MAX_DOCUMENT_CHARS)"
            )

    def _put(
        self, writer: StoreWriter, batch: list[_Parsed], vectors: np.ndarray
    ) -> dict[str, Outcome]:
        """Stage each parsed file with its vectors (embedded in one call); a file the store
        cannot hold fails alone (its outcome is returned by source)."""
        failed: dict[str, Outcome] = {}
        start = 0
        with self.stages.timing("write"):
            for parsed in batch:
                end = start + len(parsed.chunks)
                try:
                    writer.put(_document(parsed), _new_chunks(parsed.chunks), vectors[start:end])
                except RowTooLarge as exc:
                    failed[parsed.source] = _rejected(parsed.source, UnreadableFile(str(exc)))
                start = end
        return failed

    def _prune(
        self, writer: StoreWriter, seen: set[str], gone: Callable[[str], bool]
    ) -> Iterator[Outcome]:
        for doc in writer.documents():
            if doc.source not in seen and gone(doc.source):
                writer.delete(doc.id)
                yield Outcome(
                    doc.source, "removed", doc.chunks, reason="file is gone", doc_id=doc.id
                )


def bounded(blocks: list[Block]) -> list[Block]:
    """Every loader's blocks with runs of invisible characters capped and heading paths
    bounded in depth and length: a heading is stored with each chunk under it."""
    return [Block(cap_invisible(b.text), b.page, bound_heading(b.heading), b.label) for b in blocks]


def _replaced(outcomes: list[Outcome], failed: dict[str, Outcome]) -> list[Outcome]:
    return [failed.get(o.source, o) for o in outcomes]


def _rejected(source: str, exc: IngestError) -> Outcome:
    status: Status = "skipped" if type(exc).__name__ in SKIP_ONLY else "failed"
    return Outcome(source, status, reason=str(exc), error=exc)


def _document(parsed: _Parsed) -> DocumentRow:
    pages = [c.page for c in parsed.chunks if c.page is not None]
    meta = parsed.meta
    return DocumentRow(
        id=document_id(parsed.source),
        source=parsed.source,
        hash=parsed.hash,
        pages=max(pages) if pages else None,
        chunks=len(parsed.chunks),
        ingested_at=_now(),
        type=file_type(parsed.source),
        size=meta.size,
        modified=meta.modified,
        title=meta.title or _first_heading(parsed.chunks),
        tags=dict(meta.tags),
    )


def file_type(source: str) -> str:
    """The suffix, lower case, without its dot ("" when there is none)."""
    return Path(source).suffix.lower().lstrip(".")


def _first_heading(chunks: Sequence[Chunk]) -> str:
    heading = next((c.heading for c in chunks if c.heading), "")
    return heading.split(" > ")[0][:200] if heading else ""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _modified(path: Path) -> str:
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return _now()
    return dt.datetime.fromtimestamp(stamp, dt.UTC).isoformat(timespec="seconds")


def _new_chunks(chunks: Sequence[Chunk]) -> list[NewChunk]:
    return [NewChunk(c.text, c.page, c.display_heading) for c in chunks]


def build_ingestor(
    settings: Settings, embedder: Embedder, store: VectorStore, collection: str | None = None
) -> Ingestor:
    """An Ingestor for one collection, chunking as the settings say."""
    chunker = Chunker(embedder, settings.chunk_tokens, settings.chunk_overlap)
    parser = shared(ParseLimits.from_settings(settings))
    return Ingestor(
        embedder,
        chunker,
        store.collection(collection or settings.collection),
        parser=parser,
        max_file_bytes=int(settings.max_file_mb * 1024 * 1024),
        commit_seconds=settings.commit_seconds,
        space_check=lambda: require_free(settings.data_dir, settings.min_free_mb, "an ingest"),
    )


def upload_source_name(filename: str) -> str:
    """A display name for an uploaded file: its last path part, never a path of its own."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().lstrip(".")
    return name[:200] or "upload"
