"""Shared by the benchmark scripts: time spent inside chosen methods, and quiet ffmpeg children."""
from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import Any, Iterator


class Timer:
    """Adds up the seconds spent in wrapped methods, so a bench can report network time apart from the rest."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, obj: Any, name: str) -> None:
        fn = getattr(obj, name)

        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.seconds += time.perf_counter() - t0

        setattr(obj, name, timed)


@contextlib.contextmanager
def quiet_fds() -> Iterator[None]:
    """The reference's ffmpeg children write to the terminal directly: silence fds 1 and 2."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
