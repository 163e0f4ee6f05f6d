"""Which torch device a run uses: CPU by default, CUDA when present, or what --device says."""

from __future__ import annotations

from typing import Optional

from .errors import LsbenchError


def pick(device: Optional[str] = "auto") -> str:
    import torch

    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise LsbenchError(f"--device {device}: CUDA is not available on this machine (use cpu or auto)")
    if device not in ("cpu",) and not device.startswith(("cuda", "mps")):
        raise LsbenchError(f"--device {device!r}: expected auto, cpu, cuda or cuda:N")
    return device
