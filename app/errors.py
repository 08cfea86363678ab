"""Domain errors mapped to HTTP status, in one place.

The exception tree (each root lives in the package that raises it):

    models.errors.ModelError
    ├── ModelNotFound            500  (startup: the CLI prints it and exits)
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
    └── WriterBusy               409  "ingest already running"
    ingest.errors.IngestError
    ├── UnsupportedFile          415
    ├── UnreadableFile           422
    ├── EmptyDocument            422
    └── FileTooLarge             413
    app.errors.RequestError
    ├── QuestionTooLong          413
    ├── UnknownModel             404  (/v1: model is not `ragd` or `ragd/<collection>`)
    └── QueueFull                429  (with Retry-After)
"""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from index import errors as index_errors
from ingest import errors as ingest_errors
from models import errors as model_errors


class RequestError(Exception):
    """A request the service cannot serve as asked."""


class QuestionTooLong(RequestError):
    """The question (with history) alone does not fit the model's context window."""


class UnknownModel(RequestError):
    """An OpenAI-style request named a model ragd does not serve."""


class QueueFull(RequestError):
    """Too many requests are already waiting for the model."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


STATUS: dict[type[Exception], int] = {
    model_errors.ModelError: 500,
    model_errors.PromptTooLong: 413,
    model_errors.RemoteModelError: 502,
    index_errors.IndexStoreError: 500,
    index_errors.EmptyCollection: 409,
    index_errors.CollectionNotFound: 404,
    index_errors.DocumentNotFound: 404,
    index_errors.InvalidCollectionName: 422,
    index_errors.ModelMismatch: 409,
    index_errors.IndexCorrupt: 503,
    index_errors.WriterBusy: 409,
    ingest_errors.IngestError: 422,
    ingest_errors.UnsupportedFile: 415,
    ingest_errors.FileTooLarge: 413,
    RequestError: 400,
    QuestionTooLong: 413,
    UnknownModel: 404,
    QueueFull: 429,
}
ROOTS = (
    model_errors.ModelError,
    index_errors.IndexStoreError,
    ingest_errors.IngestError,
    RequestError,
)


def status_for(exc: Exception) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_body(exc: Exception) -> dict[str, str]:
    kind = re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()
    return {"detail": str(exc), "error": kind}


async def handle(request: Request, exc: Exception) -> JSONResponse:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, QueueFull) else None
    return JSONResponse(error_body(exc), status_code=status_for(exc), headers=headers)


def install(app: FastAPI) -> None:
    for root in ROOTS:
        app.add_exception_handler(root, handle)
