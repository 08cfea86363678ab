"""Errors of answering a question, free of any web framework (the server maps them to HTTP)."""

from __future__ import annotations

from index import errors as index_errors
from ingest import errors as ingest_errors
from models import errors as model_errors


class RequestError(Exception):
    """A request the service cannot serve as asked."""


class QuestionTooLong(RequestError):
    """The question (with history) alone does not fit the model's context window."""


class InvalidQuestion(RequestError):
    """A question that is empty once control characters are removed."""


class UnknownModel(RequestError):
    """An OpenAI-style request named a model ragd does not serve."""


class QueueFull(RequestError):
    """Too many requests are already waiting for the model."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


# The root of every error a question can meet, from the model to the index: what a stream reports.
ROOTS = (
    model_errors.ModelError,
    index_errors.IndexStoreError,
    ingest_errors.IngestError,
    RequestError,
)
