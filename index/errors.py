"""Errors raised by the index (the whole tree is drawn in app/server/errors.py)."""


class IndexStoreError(Exception):
    """The index could not be read, written or searched."""


class EmptyCollection(IndexStoreError):
    """Nothing has been ingested into this collection yet."""


class CollectionNotFound(IndexStoreError):
    """No collection of that name exists."""


class DocumentNotFound(IndexStoreError):
    """No document with that id exists in the collection."""


class InvalidCollectionName(IndexStoreError):
    """A collection name outside [A-Za-z0-9_-]{1,64}."""


class ModelMismatch(IndexStoreError):
    """The index was built by a different embedding model or chunker."""


class IndexCorrupt(IndexStoreError):
    """Files on disk disagree with the manifest (checksum, counts, missing files)."""


class WriterBusy(IndexStoreError):
    """Another process or request is already writing to this collection."""


class RowTooLarge(IndexStoreError):
    """A document's text, heading or name is longer than the store can hold (Milvus fields)."""


class InvalidFilter(IndexStoreError):
    """A metadata filter that does not parse: the message says what is wrong and where."""


class FilterUnsupported(IndexStoreError):
    """A collection written before document metadata existed cannot be filtered."""
