"""Errors raised by the model adapters (the whole tree is drawn in app/server/errors.py)."""


class ModelError(Exception):
    """A model could not be found, loaded or run."""


class ModelNotFound(ModelError):
    """A configured model path or name does not resolve to a model on this machine."""


class ModelLoadError(ModelError):
    """A model file was found but could not be loaded."""


class PromptTooLong(ModelError):
    """A prompt does not fit the model's context window, even with no retrieved context."""


class RemoteModelError(ModelError):
    """A remote OpenAI-compatible model server failed or could not be reached."""


class ModelNotDownloaded(ModelNotFound):
    """A catalogue or hub model that is not in data/models yet (`ragd models pull` gets it)."""


class DownloadFailed(ModelError):
    """A model download could not start or was cut short (a rerun resumes it)."""


class ChecksumMismatch(ModelError):
    """A downloaded file's SHA-256 differs from the hub's: it was refused and removed."""
