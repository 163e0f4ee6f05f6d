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


def free_bytes(device: str) -> int:
    """Memory a batch may use on `device`: free CUDA memory, or MemAvailable from /proc/meminfo."""
    if device.startswith("cuda"):
        import torch

        return int(torch.cuda.mem_get_info(torch.device(device))[0])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import os

    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def batch_size_for(device: str, bytes_per_item: int, cap: int = 128) -> int:
    """Items per forward pass so that a quarter of the free memory holds the batch: 1..cap."""
    try:
        free = free_bytes(device)
    except Exception:  # cannot ask: stay small rather than run out
        return 16
    return int(max(1, min(cap, free // 4 // bytes_per_item)))
