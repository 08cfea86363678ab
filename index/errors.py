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


class WriteFailed(IndexStoreError):
    """A commit could not be written (an I/O error); the last committed generation still serves."""


class DiskFull(WriteFailed):
    """No space left on the device, or less free than RAGD_MIN_FREE_MB before starting."""


def is_disk_full(exc: BaseException) -> bool:
    """ENOSPC / EDQUOT from the OS, SQLITE_FULL from SQLite, or a store saying so."""
    if isinstance(exc, OSError):
        return exc.errno in (28, 122)  # ENOSPC, EDQUOT
    if getattr(exc, "sqlite_errorname", "") == "SQLITE_FULL":
        return True
    text = str(exc).lower()
    return "disk is full" in text or "no space left" in text


def write_failed(exc: BaseException, collection: str, doing: str, serving: str) -> WriteFailed:
    """The domain error for a failed write: what happened, what still serves, what to do."""
    if is_disk_full(exc):
        return DiskFull(
            f"collection {collection!r}: the disk is full ({doing}); {serving}. "
            "Free some space in the data folder, then run the same command again"
        )
    return WriteFailed(
        f"collection {collection!r}: I/O error {doing} ({exc}); {serving}. "
        "Check the disk (dmesg, SMART), then run the same command again"
    )


class RowTooLarge(IndexStoreError):
    """A document's text, heading or name is longer than the store can hold (Milvus fields)."""


class InvalidFilter(IndexStoreError):
    """A metadata filter that does not parse: the message says what is wrong and where."""


class FilterUnsupported(IndexStoreError):
    """A collection written before document metadata existed cannot be filtered."""
