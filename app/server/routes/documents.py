"""Documents and collections: list, upload (multipart, field `file`, repeatable), delete."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, File, Form, Query, Request, UploadFile

from app.answering.services import Services
from app.server.audit import audited
from app.server.deps import ServicesDep
from app.server.schemas import MAX_TAGS, DocumentOut, DocumentsResponse, TagsUpdate, valid_tags
from index.errors import InvalidFilter
from index.space import require_free
from ingest.errors import FileTooLarge
from ingest.pipeline import Summary, upload_source_name

router = APIRouter(prefix="/api", tags=["documents"])
CollectionQuery = Annotated[str | None, Query(description="Collection (default: default).")]


@router.get("/collections")
def collections(services: ServicesDep) -> dict[str, list[dict[str, Any]]]:
    out = []
    for name in services.store.names():
        manifest = services.store.collection(name).state()
        if manifest is not None:
            out.append({"name": name, "documents": manifest.documents, "chunks": manifest.rows})
    return {"collections": out}


@router.get("/documents")
def list_documents(services: ServicesDep, collection: CollectionQuery = None) -> DocumentsResponse:
    name = collection or services.settings.collection
    coll = services.store.collection(name)
    docs = coll.snapshot().documents() if coll.exists() else []
    return DocumentsResponse(collection=name, documents=[DocumentOut(**d.__dict__) for d in docs])


@router.post("/documents")
async def upload(
    services: ServicesDep,
    request: Request,
    file: Annotated[list[UploadFile], File(description="One or more files to ingest.")],
    collection: Annotated[str | None, Form()] = None,
    tag: Annotated[
        list[str] | None, Form(description="KEY=VALUE, repeatable: tags for every file.")
    ] = None,
) -> dict[str, object]:
    """Ingest the files; 200 with one outcome per file, or the first file's error when none
    was accepted. The body limit (RAGD_MAX_UPLOAD_MB, all files together) is enforced by the
    Guard middleware while the body streams in; names are display names, never paths."""
    settings = services.settings
    require_free(settings.data_dir, settings.min_free_mb, "an upload")  # 507, before writing
    tags = form_tags(tag or [])
    limit = int(settings.max_upload_mb * 1024 * 1024)
    names = [upload_source_name(f.filename or "") for f in file]
    name = collection or settings.collection
    async with audited(request, "upload", collection=name, files=names) as details:
        received = [(n, await _read(f, limit)) for n, f in zip(names, file, strict=True)]
        summary = await anyio.to_thread.run_sync(_ingest, services, collection, received, tags)
        _raise_if_nothing_accepted(summary)
        details["outcomes"] = {o.source: o.status for o in summary.outcomes}
    return summary.as_dict()


@router.delete("/documents/{doc_id}")
async def delete(
    doc_id: str, services: ServicesDep, request: Request, collection: CollectionQuery = None
) -> dict[str, object]:
    name = collection or services.settings.collection
    async with audited(request, "delete", collection=name, document=doc_id) as details:
        deleted = await anyio.to_thread.run_sync(_delete, services, collection, doc_id)
        details["source"] = deleted["source"]
    return deleted


async def _read(upload: UploadFile, limit: int) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(f"{upload.filename!r} is larger than the {limit / 1048576:g} MB limit")
    return data


def _raise_if_nothing_accepted(summary: Summary) -> None:
    rejected = [o for o in summary.outcomes if o.status in ("skipped", "failed")]
    if not rejected or len(rejected) < len(summary.outcomes):
        return
    first, error = rejected[0], rejected[0].error
    if error is not None:
        raise type(error)(f"{first.source}: {first.reason}")


def form_tags(fields: list[str]) -> dict[str, str]:
    """`tag` form fields, each KEY=VALUE; a malformed one is a 422 naming it."""
    pairs = [field.partition("=") for field in fields]
    bad = [f for f, (_, sep, _) in zip(fields, pairs, strict=True) if not sep]
    try:
        if bad or len(pairs) > MAX_TAGS:
            raise ValueError(f"tag fields are KEY=VALUE (at most {MAX_TAGS}): {bad[:1]}")
        return valid_tags({key: value for key, _, value in pairs})
    except ValueError as exc:
        raise InvalidFilter(str(exc)) from None


@router.patch("/documents/{doc_id}")
async def update_tags(
    doc_id: str,
    body: TagsUpdate,
    services: ServicesDep,
    request: Request,
    collection: CollectionQuery = None,
) -> DocumentOut:
    """Replace a document's tags (admin keys): takes effect for the next search, re-embeds
    nothing, and is kept when the file is ingested again."""
    name = collection or services.settings.collection
    async with audited(request, "tags", collection=name, document=doc_id):
        coll = services.store.collection(name, must_exist=True)
        doc = await anyio.to_thread.run_sync(coll.set_tags, doc_id, body.tags)
    return DocumentOut(**doc.__dict__)


def _ingest(
    services: Services,
    collection: str | None,
    files: list[tuple[str, bytes]],
    tags: dict[str, str],
) -> Summary:
    ingestor = services.ingestor(collection)
    summary = Summary()
    with ingestor.writer() as writer:
        summary.outcomes = [ingestor.ingest_bytes(writer, name, data, tags) for name, data in files]
        writer.commit()
    return summary


def _delete(services: Services, collection: str | None, doc_id: str) -> dict[str, object]:
    ingestor = services.ingestor(collection)
    with ingestor.writer() as writer:
        doc = writer.delete(doc_id)
        manifest = writer.commit()
    return {
        "deleted": doc.id,
        "source": doc.source,
        "chunks": doc.chunks,
        "generation": manifest.generation,
    }
