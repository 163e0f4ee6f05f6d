"""Shared by the benchmark scripts: time spent inside chosen methods (the network forward passes)."""
from __future__ import annotations

import time
from typing import Any


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
