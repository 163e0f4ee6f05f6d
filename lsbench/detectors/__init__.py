"""Face detectors; `create` is the one place that picks one by name (auto: S3FD when its weights are present)."""

from __future__ import annotations


def resolve_name(name: str = "auto") -> str:
    """The detector `auto` stands for here: s3fd with its official weights present, else dlib."""
    from .. import weights as W
    from .specs import S3FD

    if name in (None, "", "auto"):
        return "s3fd" if W.find(S3FD) else "dlib"
    return name


def create(name: str = "auto", device: str = "auto"):
    """The detector `name` (or auto: s3fd with its official weights present, else dlib). S3FD runs on `device`
    with batches sized for it; the dlib detectors run on the CPU only."""
    from ..device import pick
    from ..registry import DETECTORS

    name = resolve_name(name)
    if name == "s3fd":
        dev = pick(device)
        return DETECTORS.create(name, device=dev, batch_size=64 if dev.startswith("cuda") else 16)
    return DETECTORS.create(name)
