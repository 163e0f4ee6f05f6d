"""Output paths are checked before any work: a run that can only fail at its last step
(a read-only folder, a path under /proc, a parent that is a file) fails first, in one line.

The check really writes: it creates and removes an empty file where the output will go,
so it holds whatever the reason (permissions, read-only mounts, pseudo file systems), and
for root too, whom permission bits alone do not stop.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import LsbenchError


class OutputError(LsbenchError):
    """An output path that cannot be written."""


def _reason(exc: OSError) -> str:
    return os.strerror(exc.errno).lower() if exc.errno else str(exc)


def _nearest_existing(p: Path) -> Path:
    q = p
    while not q.exists() and q != q.parent:
        q = q.parent
    return q


def _probe(folder: Path, out: Path) -> None:
    """Create and remove an empty file in folder, the place out will be made in."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".lsbench-write-check-", dir=folder)
    except OSError as exc:
        inside = "" if folder == out.absolute() else f" (cannot create files in {folder})"
        raise OutputError(f"cannot write {out}: {_reason(exc)}{inside}") from None
    os.close(fd)
    os.unlink(tmp)


def check_output_dir(path: "str | os.PathLike") -> Path:
    """path is (or can be made as) a folder lsbench can write files in; else OutputError
    "cannot write PATH: <reason>". Nothing is left behind: a missing folder is not created."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise OutputError(f"cannot write {out}: it exists and is not a folder")
    base = _nearest_existing(out.absolute())
    if not base.is_dir():
        raise OutputError(f"cannot write {out}: {base} is not a folder")
    _probe(base, out)
    return out


def check_output_file(path: "str | os.PathLike") -> Path:
    """path is a file lsbench can create or replace; else OutputError "cannot write PATH: <reason>"."""
    out = Path(path)
    if out.is_dir():
        raise OutputError(f"cannot write {out}: it is a folder, not a file")
    if out.exists():
        try:
            with open(out, "ab"):  # opens for writing without changing a byte
                pass
        except OSError as exc:
            raise OutputError(f"cannot write {out}: {_reason(exc)}") from None
        return out
    base = _nearest_existing(out.absolute().parent)
    if not base.is_dir():
        raise OutputError(f"cannot write {out}: {base} is not a folder")
    _probe(base, out)
    return out


def check_appendable(folder: "str | os.PathLike", pattern: str) -> None:
    """Files matching pattern in folder (e.g. a resumable run's .partial.jsonl) can be appended to."""
    for f in sorted(Path(folder).glob(pattern)) if Path(folder).is_dir() else []:
        check_output_file(f)
