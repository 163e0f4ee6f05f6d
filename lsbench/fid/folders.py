"""FID of two image folders (or saved statistics), as ``python -m pytorch_fid A B`` computes it.

pytorch-fid lists a folder with ``Path.glob('*.<ext>')`` for a fixed set of lower-case
extensions, sorts the paths, and reads each file with ``Image.open(f).convert('RGB')``. A
path ending in ``.npz`` is read as saved statistics (arrays ``mu`` and ``sigma``). Images are
decoded one batch at a time here, so a folder of any size costs one batch of memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from ..errors import LsbenchError
from .features import features, load_inception
from .frechet import frechet_distance, statistics
from .inception import FIDInception

# pytorch-fid 0.3.0's IMAGE_EXTENSIONS (matched case-sensitively, as its glob does on Linux)
IMAGE_EXTENSIONS = ("bmp", "jpg", "jpeg", "pgm", "png", "ppm", "tif", "tiff", "webp")


def image_files(folder: "str | Path") -> List[Path]:
    """The images pytorch-fid would read from ``folder``, in its order."""
    folder = Path(folder)
    if not folder.exists():
        raise LsbenchError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise LsbenchError(f"{folder}: not a folder of images (and not a .npz statistics file)")
    files = sorted(f for ext in IMAGE_EXTENSIONS for f in folder.glob(f"*.{ext}"))
    if not files:
        raise LsbenchError(f"{folder}: no images in it (looked for *.{', *.'.join(IMAGE_EXTENSIONS)})")
    return files


def read_image(path: Path) -> np.ndarray:
    """uint8 RGB (H, W, 3), as ``Image.open(path).convert('RGB')``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except UnidentifiedImageError:
        raise LsbenchError(f"{path}: not a readable image (unknown or corrupt format)") from None
    except (OSError, ValueError, SyntaxError) as exc:  # truncated data, bad headers
        raise LsbenchError(f"{path}: image cannot be decoded ({exc})") from None


def folder_activations(net: FIDInception, folder: "str | Path", batch_size: int = 50,
                       device: Optional[str] = None) -> np.ndarray:
    """pool3 activations (N, 2048) of every image of ``folder``, in pytorch-fid's file order."""
    return _activations(net, image_files(folder), batch_size, device)


def _activations(net: FIDInception, files: List[Path], batch_size: int, device: Optional[str]) -> np.ndarray:
    out = np.empty((len(files), 2048), np.float64)
    for s in range(0, len(files), batch_size):
        chunk = files[s:s + batch_size]
        out[s:s + len(chunk)] = features(net, [read_image(f) for f in chunk], batch_size, device)
    return out


def load_stats(path: "str | Path") -> Tuple[np.ndarray, np.ndarray]:
    """(mu, sigma) saved by ``--save-stats`` (this tool's or pytorch-fid's)."""
    path = Path(path)
    if not path.is_file():
        raise LsbenchError(f"{path}: no such statistics file")
    try:
        with np.load(path) as f:
            return f["mu"][:], f["sigma"][:]
    except KeyError as exc:
        raise LsbenchError(f"{path}: not FID statistics (no array {exc}; expected 'mu' and 'sigma')") from None
    except (OSError, ValueError) as exc:
        raise LsbenchError(f"{path}: statistics file cannot be read ({exc})") from None


def _source(path: "str | Path") -> "Path | List[Path]":
    """pytorch-fid's rule: a path ending in .npz is saved statistics, anything else a folder.
    Checked before any image is decoded, so a bad second path fails at once."""
    if str(path).endswith(".npz"):
        if not Path(path).is_file():
            raise LsbenchError(f"{path}: no such statistics file")
        return Path(path)
    return image_files(path)


def _statistics_of(source: "Path | List[Path]", net_factory, batch_size: int,
                   device: Optional[str]) -> Tuple[np.ndarray, np.ndarray]:
    if isinstance(source, Path):
        return load_stats(source)
    return statistics(_activations(net_factory(), source, batch_size, device))


class _LazyNet:
    def __init__(self, net: Optional[FIDInception], device: str):
        self.net, self.device = net, device

    def __call__(self) -> FIDInception:
        if self.net is None:
            self.net = load_inception(device=self.device)
        return self.net


def score_folders(a: "str | Path", b: "str | Path", batch_size: int = 50, device: str = "cpu",
                  net: Optional[FIDInception] = None) -> float:
    """FID between two folders of images (or ``.npz`` statistics), like ``python -m pytorch_fid A B``.
    ``net=None`` loads the managed weights, and only if one of the paths is a folder."""
    if batch_size < 1:
        raise LsbenchError(f"batch size must be at least 1, got {batch_size}")
    for p in (a, b):
        if not Path(p).exists():
            raise LsbenchError(f"{p}: no such folder or statistics file")
    sources = [_source(a), _source(b)]
    lazy = _LazyNet(net, device)
    mu1, s1 = _statistics_of(sources[0], lazy, batch_size, device)
    mu2, s2 = _statistics_of(sources[1], lazy, batch_size, device)
    return frechet_distance(mu1, s1, mu2, s2)


def save_stats(folder: "str | Path", out_npz: "str | Path", batch_size: int = 50, device: str = "cpu",
               net: Optional[FIDInception] = None) -> Path:
    """pytorch-fid's ``--save-stats``: (mu, sigma) of a folder to ``out_npz`` (never overwritten)."""
    out = Path(out_npz)
    if out.suffix != ".npz":  # np.savez_compressed appends it; say where the file really goes
        out = out.with_name(out.name + ".npz")
    if out.exists():
        raise LsbenchError(f"{out}: exists already; refusing to overwrite saved statistics")
    mu, sigma = _statistics_of(_source(folder), _LazyNet(net, device), batch_size, device)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, mu=mu, sigma=sigma)
    return out
