"""The one factory of registered models: `evaluate` and `generate` build them here."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Optional

from ..errors import LsbenchError
from ..registry import MODELS


def create_model(name: str, device: str, weights_path: Optional[Path] = None, batch_size: Optional[int] = None):
    """Model `name` on `device`, from `weights_path` (default: its managed checkpoint), with a fixed
    forward batch when given (default: the model's own choice from free memory)."""
    cls = MODELS.load(name)
    params = inspect.signature(cls.__init__).parameters
    if weights_path is not None and "weights_path" not in params:
        raise LsbenchError(f"model {name!r} takes no checkpoint file (--weights)")
    kwargs = {"device": device} if "device" in params else {}
    if batch_size is not None and "batch_size" in params:
        kwargs["batch_size"] = batch_size
    if weights_path is not None:
        kwargs["weights_path"] = weights_path
    return cls(**kwargs)
