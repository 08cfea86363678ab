"""Errors of `ragd eval`."""

from __future__ import annotations


class InvalidDataset(Exception):
    """An evaluation dataset (BEIR folder, QA JSONL) that cannot be read as one."""
