"""Errors raised while reading documents (the whole tree is drawn in app/server/errors.py)."""


class IngestError(Exception):
    """A document could not be ingested."""


class UnsupportedFile(IngestError):
    """The file type has no loader."""


class UnreadableFile(IngestError):
    """The file is corrupt, encrypted or otherwise cannot be parsed."""


class EmptyDocument(IngestError):
    """The file holds no extractable text."""


class FileTooLarge(IngestError):
    """An upload exceeds the configured size limit."""


class TooMuchText(IngestError):
    """A document yields more text than RAGD_MAX_DOCUMENT_CHARS (e.g. a decompression bomb)."""
