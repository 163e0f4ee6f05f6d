"""Exceptions the CLI turns into one-line messages instead of tracebacks.

Two families matter to batch jobs such as `preprocess` and `evaluate`: a `Failure` is a problem
of one unit of work (it becomes a row with the failure's `code`); an `EnvironmentFailure` is a
problem of the machine (a missing binary, a full disk, no memory, a broken GPU, a missing
weights file) and stops the run, so that a later run retries the clips it would have spoilt.
"""

from __future__ import annotations

import errno
from typing import Optional


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


class UnsafeCheckpoint(WeightsError):
    """A checkpoint that pickles objects other than tensors (possibly code): refused unread."""


class EnvironmentFailure(LsbenchError):
    """The machine, not the input, failed: the run stops with this one line and records
    nothing for the clip at hand, so that a re-run once the cause is fixed retries it."""

    exit_code = 3


class Failure(LsbenchError):
    """One unit of work failed for a reason of its own: a clip in `preprocess`, a pair in
    `evaluate`, a video in an LSE route, a metric that cannot run here. This is the one failure
    type: `code` is the short reason its row records (missing_file, unreadable, no_face,
    too_short, wrong_fps, ...) and `stage` where it happened (preprocess: decode, detect, sync),
    both set where the problem is found, so that no caller classifies a failure by its text."""

    code = "failed"

    def __init__(self, message: str, code: Optional[str] = None, stage: Optional[str] = None):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.stage = stage

    def __reduce__(self):  # picklable across processes (Ray) despite the keywords
        return (_rebuild_failure, (type(self), self.__dict__, self.args))


def _rebuild_failure(cls, state, args):
    obj = cls.__new__(cls)
    Exception.__init__(obj, *args)
    obj.__dict__.update(state)
    return obj


class MediaError(Failure):
    """A media file could not be decoded; the message names the file and the reason."""

    def __init__(self, path: str, reason: str, code: str = "unreadable"):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}", code)


# errno values that say the machine, not the file, is out of something
_ENV_ERRNOS = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
               errno.ENOMEM: "out of memory", errno.EMFILE: "too many open files", errno.ENFILE: "too many open files"}


def environment_failure(exc: BaseException) -> Optional[EnvironmentFailure]:
    """The EnvironmentFailure that `exc` amounts to, or None when it may be the input's fault.

    Decided by type (and errno), never by message text: MemoryError, an OSError whose errno
    says disk full / no memory / no file handles, a WeightsError (a weights file missing or
    refused), and torch's CUDA errors (torch.OutOfMemoryError, torch.AcceleratorError),
    recognised by their class so that torch need not be imported here."""
    if isinstance(exc, EnvironmentFailure):
        return exc
    if isinstance(exc, MemoryError):
        return EnvironmentFailure(f"out of memory ({type(exc).__name__}{': ' + str(exc) if str(exc) else ''})")
    if isinstance(exc, OSError) and exc.errno in _ENV_ERRNOS:
        where = f" writing {exc.filename}" if getattr(exc, "filename", None) else ""
        return EnvironmentFailure(f"{_ENV_ERRNOS[exc.errno]}{where} ({exc.strerror or exc})")
    if isinstance(exc, WeightsError):
        return EnvironmentFailure(str(exc))
    for cls in type(exc).__mro__:
        if cls.__module__.split(".")[0] == "torch" and cls.__name__ in ("OutOfMemoryError", "AcceleratorError"):
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            return EnvironmentFailure(f"CUDA failure ({type(exc).__name__}: {first})")
    return None
