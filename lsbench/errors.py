"""Exceptions the CLI turns into one-line messages instead of tracebacks."""

from __future__ import annotations


class LsbenchError(Exception):
    """Base class: a problem the user can act on; the message says what and where."""

    exit_code = 1


class NotBuiltError(LsbenchError):
    """A registered feature whose implementation has not landed yet."""

    exit_code = 2


class UnknownNameError(LsbenchError, KeyError):
    """A registry lookup with a name that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0] if self.args else ""


class WeightsError(LsbenchError):
    """A checkpoint is missing, corrupt, or refused."""


class MediaError(LsbenchError):
    """A media file could not be decoded; the message names the file and the reason."""

    def __init__(self, path: str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")
