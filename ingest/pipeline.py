"""The ingest pipeline, shared by the `ingest` CLI and the upload endpoint."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from config.settings import Settings
from index.protocol import StoreCollection, StoreWriter, VectorStore
from index.types import DocumentRow, IndexSpec, NewChunk
from ingest.chunker import CHUNKER_VERSION, Chunk, Chunker
from ingest.errors import IngestError, UnreadableFile
from ingest.loaders import precheck
from ingest.loaders.blocks import Block
from ingest.sandbox import ParseLimits, Sandbox, shared
from models.embedder import Embedder

Status = Literal["added", "updated", "unchanged", "removed", "skipped", "failed"]
SKIP_ONLY = ("UnsupportedFile", "EmptyDocument")  # a user's choice of files, not a failure


@dataclass(frozen=True)
class SourceFile:
    """A file to ingest and the name it is known by (relative to the folder given)."""

    path: Path
    source: str


@dataclass(frozen=True)
class Outcome:
    source: str
    status: Status
    chunks: int = 0
    reason: str = ""
    doc_id: str = ""
    error: IngestError | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if k != "error"}


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def chunks(self) -> int:
        return sum(o.chunks for o in self.outcomes if o.status in ("added", "updated"))

    @property
    def ok(self) -> bool:
        return self.count("failed") == 0

    def as_dict(self) -> dict[str, object]:
        statuses: tuple[Status, ...] = ("added", "updated", "unchanged", "removed", "skipped")
        counts: dict[str, int] = {s: self.count(s) for s in (*statuses, "failed")}
        files = [o.as_dict() for o in self.outcomes]
        return {**counts, "chunks": self.chunks, "files": files}


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
            yield SourceFile(root, root.name)
        elif root.is_dir():
            yield from _walk(root)
        else:
            yield Outcome(str(root), "failed", reason="no such file or folder")


def _walk(root: Path) -> Iterator[SourceFile | Outcome]:
    base = root.resolve()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if not path.resolve().is_relative_to(base):
            yield Outcome(rel.as_posix(), "skipped", reason="a link to outside the folder given")
        else:
            yield SourceFile(path, rel.as_posix())


@dataclass
class _Parsed:
    source: str
    hash: str
    chunks: list[Chunk]
    replaces: DocumentRow | None


@dataclass
class _Job:
    """A file on its way through the sandbox, or already decided without parsing."""

    source: str
    digest: str = ""
    existing: DocumentRow | None = None
    parsing: Future[list[Block]] | None = None
    outcome: Outcome | None = None


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
    ) -> None:
        self.embedder = embedder
        self.chunker = chunker
        self.collection = collection
        self.spec = index_spec(embedder)
        self.commit_every = commit_every
        self.batch_chunks = batch_chunks
        self.parser = parser or shared(ParseLimits())
        # Files parsing in the sandbox while earlier ones are chunked and embedded here.
        self.lookahead = 2 * self.parser.limits.workers + 2

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
    ) -> Summary:
        """Ingest files incrementally: unchanged ones are skipped by content hash."""
        summary = Summary()
        seen: set[str] = set()
        with self.writer(wait=wait, rebuild=rebuild) as writer:
            for outcome in self._process(writer, items, seen):
                summary.outcomes.append(outcome)
                on_file(outcome)
            if prune:
                summary.outcomes.extend(self._prune(writer, seen))
            writer.commit()
        return summary

    def ingest_bytes(self, writer: StoreWriter, source: str, data: bytes) -> Outcome:
        """Stage one uploaded file in an open writer; the caller commits."""
        batch: list[_Parsed] = []
        outcome = self._finish(self._start(writer, source, data), batch)
        self._flush(writer, batch)
        return outcome

    def _process(
        self, writer: StoreWriter, items: Iterable[SourceFile | Outcome], seen: set[str]
    ) -> Iterator[Outcome]:
        batch: list[_Parsed] = []
        done: list[Outcome] = []
        jobs: deque[_Job] = deque()
        for item in items:
            if isinstance(item, Outcome):
                yield item
                continue
            seen.add(item.source)
            jobs.append(self._read(writer, item))
            while len(jobs) > self.lookahead:
                done.append(self._finish(jobs.popleft(), batch))
            if sum(len(p.chunks) for p in batch) >= self.batch_chunks:
                self._flush(writer, batch)
                yield from done
                done = []
            if writer.staged_chunks >= self.commit_every:
                writer.commit()  # a crash from here on keeps everything before this point
        done.extend(self._finish(job, batch) for job in jobs)
        self._flush(writer, batch)
        yield from done

    def _read(self, writer: StoreWriter, item: SourceFile) -> _Job:
        try:
            data = item.path.read_bytes()
        except OSError as exc:
            reason = f"cannot read: {exc.strerror or exc}"
            return _Job(item.source, outcome=Outcome(item.source, "failed", reason=reason))
        return self._start(writer, item.source, data)

    def _start(self, writer: StoreWriter, source: str, data: bytes) -> _Job:
        """Decide what needs no parsing; send the rest to the sandbox."""
        digest = hashlib.sha256(data).hexdigest()
        existing = writer.document(source=source)
        if existing is not None and existing.hash == digest:
            unchanged = Outcome(source, "unchanged", existing.chunks, doc_id=existing.id)
            return _Job(source, outcome=unchanged)
        try:
            precheck(source, data)
        except IngestError as exc:
            return _Job(source, outcome=_rejected(source, exc))
        return _Job(source, digest, existing, parsing=self.parser.submit(source, data))

    def _finish(self, job: _Job, batch: list[_Parsed]) -> Outcome:
        if job.outcome is not None or job.parsing is None:
            return job.outcome or Outcome(job.source, "failed", reason="not parsed")
        try:
            blocks: list[Block] = self.parser.result(job.parsing)
            chunks = self.chunker.chunk(blocks)
        except IngestError as exc:
            return _rejected(job.source, exc)
        except Exception as exc:  # a chunker bug must cost one file, not the whole run
            return _rejected(job.source, UnreadableFile(f"unreadable: {exc}"))
        batch.append(_Parsed(job.source, job.digest, chunks, job.existing))
        status: Status = "updated" if job.existing else "added"
        return Outcome(job.source, status, len(chunks), doc_id=document_id(job.source))

    def _flush(self, writer: StoreWriter, batch: list[_Parsed]) -> None:
        """Embed a batch of parsed files in one call, then stage each with its vectors."""
        if not batch:
            return
        vectors = self.embedder.embed([c.indexed_text for p in batch for c in p.chunks])
        start = 0
        for parsed in batch:
            end = start + len(parsed.chunks)
            writer.put(_document(parsed), _new_chunks(parsed.chunks), vectors[start:end])
            start = end
        batch.clear()

    def _prune(self, writer: StoreWriter, seen: set[str]) -> Iterator[Outcome]:
        for doc in writer.documents():
            if doc.source not in seen:
                writer.delete(doc.id)
                yield Outcome(
                    doc.source, "removed", doc.chunks, reason="file is gone", doc_id=doc.id
                )


def _rejected(source: str, exc: IngestError) -> Outcome:
    status: Status = "skipped" if type(exc).__name__ in SKIP_ONLY else "failed"
    return Outcome(source, status, reason=str(exc), error=exc)


def _document(parsed: _Parsed) -> DocumentRow:
    pages = [c.page for c in parsed.chunks if c.page is not None]
    return DocumentRow(
        id=document_id(parsed.source),
        source=parsed.source,
        hash=parsed.hash,
        pages=max(pages) if pages else None,
        chunks=len(parsed.chunks),
        ingested_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


def _new_chunks(chunks: Sequence[Chunk]) -> list[NewChunk]:
    return [NewChunk(c.text, c.page, c.display_heading) for c in chunks]


def build_ingestor(
    settings: Settings, embedder: Embedder, store: VectorStore, collection: str | None = None
) -> Ingestor:
    """An Ingestor for one collection, chunking as the settings say."""
    chunker = Chunker(embedder, settings.chunk_tokens, settings.chunk_overlap)
    parser = shared(ParseLimits.from_settings(settings))
    return Ingestor(
        embedder, chunker, store.collection(collection or settings.collection), parser=parser
    )


def upload_source_name(filename: str) -> str:
    """A display name for an uploaded file: its last path part, never a path of its own."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().lstrip(".")
    return name[:200] or "upload"
