"""Drop known-noise lines that Ray's C++ core writes straight to file descriptor 2.

Ray Data starts its actors with ObjectRefs among the constructor arguments, and every actor
created with max_restarts > 0 (which the restart-on-crash guarantee of `preprocess` needs)
makes the driver's core worker log, at error level and for each actor:

  [...] E ... core_worker.cc:NNNN: Actor with class name: ... has constructor arguments in
  the object store and max_restarts > 0. ...

The line is no error of ours and cannot be turned off alone (RAY_BACKEND_LOG_LEVEL would
also hide real errors), so the driver's fd 2 goes through a filter for the run: whole lines
matching a pattern are dropped, everything else (the progress bar included, which writes
partial lines) passes through at once.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from contextlib import contextmanager
from typing import Iterator, Pattern

RAY_NOISE = re.compile(rb"core_worker\.cc:\d+: Actor with class name: .* max_restarts > 0")


def _forward(read_fd: int, write_fd: int, pattern: Pattern[bytes]) -> None:
    held = b""  # a partial line that may turn out to be noise: Ray's lines start with "["
    while True:
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        data = held + chunk
        *lines, rest = data.split(b"\n")
        out = b"".join(line + b"\n" for line in lines if not pattern.search(line))
        if rest.startswith(b"["):
            held = rest
        else:
            out, held = out + rest, b""
        if out:
            os.write(write_fd, out)
    if held and not pattern.search(held):
        os.write(write_fd, held)


@contextmanager
def filtered_stderr(pattern: Pattern[bytes] = RAY_NOISE) -> Iterator[None]:
    """Within the block, lines on fd 2 (Python's and C++'s alike) matching `pattern` are dropped."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (embedded, closed): nothing to filter
        yield
        return
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    thread = threading.Thread(target=_forward, args=(read_fd, saved, pattern), daemon=True)
    thread.start()
    try:
        yield
    finally:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(saved, 2)  # closes our write end: the thread drains the pipe and ends
        thread.join(timeout=1)
        if not thread.is_alive():  # else a child process still holds the pipe: the daemon
            os.close(read_fd)  # thread keeps forwarding its lines until the process exits
            os.close(saved)
