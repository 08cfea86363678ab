"""The one configuration error: a setting that cannot be used as given."""

from __future__ import annotations


class SettingsError(Exception):
    """A setting cannot be used as given (a keys file, an origin, serving open to the network)."""
