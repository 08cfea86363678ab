"""Every domain error mapped to an HTTP status, in one place; the server's own request errors.

The exception tree (each root lives in the package that raises it):

    models.errors.ModelError
    ├── ModelNotFound            500  (startup: the CLI prints it and exits)
    │   └── ModelNotDownloaded   404  (a switch to a model not pulled yet)
    ├── DownloadFailed           502  (`ragd models pull`: a rerun resumes)
    ├── ChecksumMismatch         502  (`ragd models pull`: the file is removed)
    ├── ModelLoadError           500
    ├── PromptTooLong            413
    └── RemoteModelError         502
    index.errors.IndexStoreError
    ├── EmptyCollection          409  "run ingest first"
    ├── CollectionNotFound       404
    ├── DocumentNotFound         404
    ├── InvalidCollectionName    422
    ├── ModelMismatch            409  "re-embed with ingest --rebuild"
    ├── IndexCorrupt             503
    ├── WriterBusy               409  "ingest already running"
    ├── RowTooLarge              422  a field over the store's limits (Milvus)
    └── WriteFailed              500  an I/O error mid-commit: the last generation still serves
        └── DiskFull             507  no space left (or under RAGD_MIN_FREE_MB before starting)
    ingest.errors.IngestError
    ├── UnsupportedFile          415
    ├── UnreadableFile           422
    ├── EmptyDocument            422
    ├── FileTooLarge             413
    └── TooMuchText              422  (more text than RAGD_MAX_DOCUMENT_CHARS)
    config.errors.SettingsError      (startup only, never in a request: the CLI prints it)
    app.evals.errors.InvalidDataset  (`ragd eval` only: the CLI prints it)
    app.answering.errors.RequestError
    ├── QuestionTooLong          413
    ├── InvalidQuestion          422  (empty once control characters are removed)
    ├── UnknownModel             404  (/v1: model is not `ragd` or `ragd/<collection>`)
    ├── NotAllowed               403  a key scoped to read a collection, writing to it
    ├── ConversationNotFound     404  not this key's conversation
    ├── QueueFull                429  (with Retry-After)
    ├── Unauthorized             401  (with WWW-Authenticate: Bearer)
    ├── Forbidden                403  a read-only key on an admin route
    ├── CrossOrigin              403  a browser request from an origin not allowed
    ├── UntrustedHost            421  a Host header not allowed (DNS rebinding)
    ├── RequestTooLarge          413  a body over the limit, refused while it streams in
    ├── RequestTimeout           408  a body not sent in time (RAGD_BODY_TIMEOUT_SECONDS)
    └── RateLimited              429  (with Retry-After)
"""

from __future__ import annotations

import math
import re
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.answering.access import NotAllowed
from app.answering.conversations import ConversationNotFound
from app.answering.errors import (
    ROOTS,
    InvalidQuestion,
    QuestionTooLong,
    QueueFull,
    RequestError,
    UnknownModel,
)
from index import errors as index_errors
from ingest import errors as ingest_errors
from models import errors as model_errors


class Unauthorized(RequestError):
    """No API key, or one the server does not know."""

    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": "Bearer"}


class Forbidden(RequestError):
    """The key is valid but its role may not do this."""


class CrossOrigin(RequestError):
    """A browser sent a state-changing request from a page of another origin."""


class UntrustedHost(RequestError):
    """The Host header names no address this server answers to (DNS rebinding)."""


class RequestTooLarge(RequestError):
    """The request body is larger than the configured limit."""


class RequestTimeout(RequestError):
    """The client did not send its request body in time (a slow or stalled client)."""


class RateLimited(RequestError):
    """This key (or client, without keys) sent too many requests."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}


STATUS: dict[type[Exception], int] = {
    model_errors.ModelError: 500,
    model_errors.PromptTooLong: 413,
    model_errors.RemoteModelError: 502,
    model_errors.ModelNotDownloaded: 404,
    model_errors.DownloadFailed: 502,
    model_errors.ChecksumMismatch: 502,
    index_errors.IndexStoreError: 500,
    index_errors.EmptyCollection: 409,
    index_errors.CollectionNotFound: 404,
    index_errors.DocumentNotFound: 404,
    index_errors.InvalidCollectionName: 422,
    index_errors.ModelMismatch: 409,
    index_errors.IndexCorrupt: 503,
    index_errors.WriterBusy: 409,
    index_errors.RowTooLarge: 422,
    index_errors.InvalidFilter: 422,
    index_errors.FilterUnsupported: 409,
    index_errors.WriteFailed: 500,
    index_errors.DiskFull: 507,
    ingest_errors.IngestError: 422,
    ingest_errors.UnsupportedFile: 415,
    ingest_errors.FileTooLarge: 413,
    RequestError: 400,
    QuestionTooLong: 413,
    InvalidQuestion: 422,
    UnknownModel: 404,
    NotAllowed: 403,
    ConversationNotFound: 404,
    QueueFull: 429,
    Unauthorized: 401,
    Forbidden: 403,
    CrossOrigin: 403,
    UntrustedHost: 421,
    RequestTooLarge: 413,
    RequestTimeout: 408,
    RateLimited: 429,
}


class ErrorBody(BaseModel):
    """Every error response: what went wrong and what to do, and a stable kind."""

    detail: str = Field(description="What went wrong and what to do about it.")
    error: str = Field(description="The error kind, e.g. unauthorized, empty_collection.")


class InvalidBody(BaseModel):
    """422: a request that fails validation (detail lists each problem), or a document that
    cannot be read (detail says why)."""

    detail: str | list[dict[str, Any]] = Field(description="What is wrong, where.")
    error: str = Field(description="invalid_request, or e.g. unreadable_file, empty_document.")


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# Documented on every /api route: what the middleware and the domain errors may answer.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("Bad request."),
    401: _error("Missing or unknown API key."),
    403: _error("The key may not do this, or a cross-origin browser request."),
    404: _error("No such collection or document."),
    409: _error("Nothing ingested yet, another ingest is writing, or a model mismatch."),
    413: _error("Request body, upload or question over the limit."),
    415: _error("Unsupported file type."),
    421: _error("Host header not allowed."),
    422: {"model": InvalidBody, "description": "Invalid request or unreadable document."},
    429: _error("Rate limit or model queue full; see Retry-After."),
    507: _error("The disk is full: nothing was written; the last generation still serves."),
}


def status_for(exc: Exception) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_body(exc: Exception) -> dict[str, str]:
    kind = re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()
    return {"detail": _encodable(str(exc)), "error": kind}


def error_response(exc: Exception) -> JSONResponse:
    """The one way an error becomes a response, for handlers and middleware alike."""
    headers: dict[str, str] | None = getattr(exc, "headers", None)
    return JSONResponse(error_body(exc), status_code=status_for(exc), headers=headers)


async def handle(request: Request, exc: Exception) -> JSONResponse:
    return error_response(exc)


async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's list of problems, with the app's error kind, made safe to echo: NaN or
    infinite inputs (which JSON cannot carry, and which made the default handler answer
    500) become strings, lone surrogates (which UTF-8 cannot carry) become U+FFFD, and long
    inputs are cut short."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [_echo(e) for e in jsonable_encoder(errors)]
    return JSONResponse({"detail": detail, "error": "invalid_request"}, 422)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """Framework errors (unparseable body, unknown route, wrong method) in the app's shape."""
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    detail = exc.detail if isinstance(exc, StarletteHTTPException) else "server error"
    headers = exc.headers if isinstance(exc, StarletteHTTPException) else None
    kind = re.sub(r"\W+", "_", HTTPStatus(status).phrase.lower())
    body = {"detail": _encodable(str(detail)), "error": kind}
    return JSONResponse(body, status, headers=headers)


def _echo(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return _encodable(value[:200] + "…" if len(value) > 200 else value)
    if isinstance(value, dict):
        return {_echo(k): _echo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_echo(v) for v in value]
    return value


def _encodable(text: str) -> str:
    """`text` with any lone surrogate replaced, so the response can be encoded as UTF-8."""
    return _SURROGATE.sub("\ufffd", text)


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def install(app: FastAPI) -> None:
    for root in ROOTS:
        app.add_exception_handler(root, handle)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
