"""Loading the FID Inception and computing pool3 activations the way pytorch-fid does.

pytorch-fid reads each image with PIL, applies ``ToTensor`` (uint8 HWC -> float32 CHW / 255)
and lets its ``InceptionV3`` resize to 299x299 (bilinear, ``align_corners=False``, no
antialias) and map to ``2x - 1``; the float32 outputs are copied into a float64 array. The
same steps run here on arrays, so callers that already hold frames in memory (``evaluate``)
never write them to disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .. import weights
from ..errors import LsbenchError, WeightsError
from .specs import WEIGHTS
from .inception import DIMS, PYTORCH_FID, Conventions, FIDInception

Images = Union[np.ndarray, Sequence[np.ndarray]]

SPEC = WEIGHTS[0]  # pt_inception-2015-12-05-6726825d.pth
WHAT = "FID Inception checkpoint"


def load_inception(path: "str | Path | None" = None, device: str = "cpu",
                   conventions: Conventions = PYTORCH_FID) -> FIDInception:
    """The FID Inception with pytorch-fid's weights file loaded strictly.

    ``path=None`` uses the managed file (``lsbench weights fetch fid_inception``); a missing
    file raises WeightsError saying how to get it. ``conventions`` exists for tests that build
    deliberately wrong variants; leave it at its default for real scores."""
    p = Path(path) if path is not None else weights.path(SPEC)
    state = weights.load_torch(p, WHAT)
    if not isinstance(state, dict):
        raise WeightsError(f"{p}: {WHAT} is not a state_dict (got {type(state).__name__})")
    # The published file has no num_batches_tracked counters; a re-saved copy may. Eval-mode
    # batch norm never reads them, so they are dropped rather than refused.
    state = {k: v for k, v in state.items() if not k.endswith(".num_batches_tracked")}
    net = FIDInception(conventions)
    weights.load_state_checked(net, state, p, WHAT, "pytorch-fid's Inception state_dict (472 tensors)")
    return net.to(device).eval()


def _check(img: np.ndarray, where: str) -> None:
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        what = f"{img.dtype} {img.shape}" if isinstance(img, np.ndarray) else type(img).__name__
        raise LsbenchError(f"{where}: FID features need uint8 RGB images (H, W, 3), got {what}")


def _groups(images: Images) -> Tuple[List[np.ndarray], List[List[int]]]:
    """Stacks of same-sized images and, for each stack, the input positions of its images."""
    if isinstance(images, np.ndarray):
        if images.ndim != 4:
            raise LsbenchError(f"FID features need (N, H, W, 3) uint8 images, got an array of shape {images.shape}")
        if len(images):
            _check(images[0], "images")
        return ([images], [list(range(len(images)))]) if len(images) else ([], [])
    by_size: Dict[tuple, List[int]] = {}
    for i, img in enumerate(images):
        _check(img, f"image {i}")
        by_size.setdefault(img.shape, []).append(i)
    return [np.stack([images[i] for i in idx]) for idx in by_size.values()], list(by_size.values())


def _batch_pool3(net: FIDInception, batch: np.ndarray, device: str) -> np.ndarray:
    x = torch.from_numpy(np.ascontiguousarray(batch)).to(device)
    x = x.permute(0, 3, 1, 2).to(torch.float32).div(255)  # ToTensor: HWC uint8 -> CHW float32 / 255
    return net(x).cpu().numpy()


def features(net: FIDInception, images: Images, batch_size: int = 50, device: Optional[str] = None) -> np.ndarray:
    """pool3 activations, float64 (N, 2048), in input order.

    ``images``: uint8 RGB, one (N, H, W, 3) array or a list of (H, W, 3) arrays of any sizes
    (same-sized images are batched together). Equal to pytorch-fid's ``get_activations`` on
    PNG files holding these images. ``device=None`` runs where the network already is."""
    if batch_size < 1:
        raise LsbenchError(f"batch size must be at least 1, got {batch_size}")
    stacks, positions = _groups(images)
    n = sum(len(p) for p in positions)
    out = np.empty((n, DIMS), np.float64)
    if device is None:
        device = str(next(net.parameters()).device)
    net = net.to(device)
    with torch.inference_mode():
        for stack, pos in zip(stacks, positions):
            idx = np.asarray(pos)
            for s in range(0, len(stack), batch_size):
                out[idx[s:s + batch_size]] = _batch_pool3(net, stack[s:s + batch_size], device)
    return out
