"""cpbd: CPBD sharpness (Narvekar & Karam, "A No-Reference Image Blur Metric Based on the Cumulative
Probability of Blur Detection", IEEE TIP 2011) of each generated evaluation crop.

A port of the `cpbd` 1.0.7 package (PyPI, a port of the authors' MATLAB release) written for this
project: the package cannot be a dependency (it installs, but its module imports
`scipy.ndimage.imread`, gone since SciPy 1.2, so it fails on import; it is unmaintained since 2018,
and costs ~17 ms a 96x96 crop in Python loops), so each step of `cpbd.compute` as run with its
era's libraries (scikit-image 0.13.1, SciPy 1.0.0, NumPy 1.14.0) is done here with NumPy, ~2 ms. tests/test_cpbd.py holds it equal to that package on
real frames (tests/data/cpbd_expected.json, made by tests/reference/make_cpbd_expected.py).

The steps, on the grayscale image as float64 (values 0..255):
1. Canny (scikit-image 0.13.1 defaults on a float image: Gaussian sigma 1 with zero padding and
   its bleed-over correction, scipy.ndimage Sobel gradients, interpolated non-maximum suppression,
   hysteresis at 0.1 / 0.2 on the 0..255 scale) marks edge blocks: a 64x64 block whose count of
   Canny edges exceeds 0.002 of its pixels. Blocks tile from the top-left; the rest is not scored.
2. An Octave-style Sobel (horizontal derivative, kernel normalised to 1/8, squared strength kept
   above 2 * sqrt(mean), thinned to local maxima across rows or columns) marks the edges whose
   width is measured.
3. Each such edge whose gradient angle (np.gradient, degrees, quantised to 45) is 0 or +-180 gets
   the Marziliano width: 1 + the run of monotone pixels on each side (at most 100), starting one
   pixel away; edges at other angles get none.
4. In each edge block the widths become probabilities of detecting blur,
   1 - exp(-(width / JNB) ** 3.6), JNB = 5 for a block contrast (max - min) <= 50, else 3,
   histogrammed in steps of 0.01; CPBD is the share of widths whose probability rounds below 0.64.
   An image with no measured width (flat, or no edge block) is 0.0, as the package returns.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from .base import CropMetric, Undefined

BLOCK = 64  # block height and width
EDGE_BLOCK_SHARE = 0.002  # an edge block has more Canny edges than this share of its pixels
BETA = 3.6
MAX_MARGIN = 100  # the width search stops after this many pixels on a side
PROB_BUCKETS = 64  # CPBD sums the probability histogram's buckets 0..63 (probability < 0.635)
CANNY_LOW, CANNY_HIGH = 0.1, 0.2  # scikit-image 0.13: 10% and 20% of a float image's dtype maximum (1.0)
# scipy.ndimage's sigma-1 Gaussian (radius 4) as SciPy 1.0 computes it, bit for bit (the centre last):
GAUSS = tuple(float.fromhex(h) for h in ("0x1.18a9c4fd536c6p-13", "0x1.22724cb7eb269p-8", "0x1.ba4b99d1799abp-5",
                                         "0x1.ef8eb9ad499bap-3", "0x1.9884a307594fbp-2"))


def _jnb_buckets() -> dict[int, np.ndarray]:
    """Histogram bucket of every possible width (0..202) for each just-noticeable width: widths are
    integers, so the probabilities form a table; each lies at least 0.019 from a rounding edge."""
    widths = np.arange(2 * (MAX_MARGIN + 1) + 1, dtype=np.float64)
    return {jnb: np.rint(100 * (1 - np.exp(-np.abs(widths / jnb) ** BETA))).astype(np.int64) for jnb in (3, 5)}


BUCKETS = _jnb_buckets()


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """Pillow's convert('L') (ITU-R 601-2 luma in 16-bit fixed point, rounded): how the package's
    users read images (`imread(..., mode='L')`); uint8, any leading shape."""
    c = rgb.astype(np.uint32)
    return ((c[..., 0] * 19595 + c[..., 1] * 38470 + c[..., 2] * 7471 + 0x8000) >> 16).astype(np.uint8)


def _gauss_last(x: np.ndarray) -> np.ndarray:
    """The sigma-1 Gaussian along the last axis, zeros beyond the edge, summed in scipy.ndimage's
    order for a symmetric kernel (centre, then the outermost pair inwards), so equal to the bit."""
    n = x.shape[-1]
    p = np.pad(x, ((0, 0), (4, 4)))
    out = p[:, 4:4 + n] * GAUSS[4]
    for k in (4, 3, 2, 1):
        out = out + (p[:, 4 - k:4 - k + n] + p[:, 4 + k:4 + k + n]) * GAUSS[4 - k]
    return out


def _ndi_sobel_last(x: np.ndarray) -> np.ndarray:
    """scipy.ndimage.sobel along the last axis (derivative [-1, 0, 1], then [1, 2, 1] across), mirrored
    edges ('reflect'), in its order of operations."""
    p = np.pad(x, ((0, 0), (1, 1)), mode="symmetric")
    d = p[:, 2:] - p[:, :-2]
    q = np.pad(d, ((1, 1), (0, 0)), mode="symmetric")
    return d * 2.0 + (q[:-2] + q[2:])


def _octant(padded: np.ndarray, pts: np.ndarray, w: np.ndarray, plus: tuple, minus: tuple) -> np.ndarray:
    """Non-maximum test of one direction sector at its pixels pts: the magnitude interpolated between
    two neighbours on each side of the normal (offsets (dr, dc) of c1 and c2) must not exceed the pixel's."""
    h, wd = pts.shape

    def at(dr: int, dc: int) -> np.ndarray:
        return padded[1 + dr:1 + dr + h, 1 + dc:1 + dc + wd][pts]

    m = at(0, 0)
    (a1, a2), (b1, b2) = plus, minus
    return (at(*a2) * w + at(*a1) * (1.0 - w) <= m) & (at(*b2) * w + at(*b1) * (1.0 - w) <= m)


def canny_edges(image: np.ndarray) -> np.ndarray:
    """skimage.feature.canny(image) of scikit-image 0.13.1 with its defaults, for a float64 image:
    what the package ran to find edge blocks (written out so that no later scikit-image change,
    such as its 0.19 rewrite of the smoothing and suppression, can move the value)."""
    h, w = image.shape
    ones = np.ones_like(image)
    bleed = _gauss_last(_gauss_last(ones.T).T)
    smoothed = _gauss_last(_gauss_last(image.T).T) / (bleed + np.finfo(float).eps)
    jsobel = _ndi_sobel_last(smoothed)
    isobel = _ndi_sobel_last(smoothed.T).T
    ai, aj = np.abs(isobel), np.abs(jsobel)
    mag = np.hypot(isobel, jsobel)
    inner = np.zeros((h, w), bool)
    inner[1:-1, 1:-1] = True
    inner &= mag > 0
    same = ((isobel >= 0) & (jsobel >= 0)) | ((isobel <= 0) & (jsobel <= 0))
    opposite = ((isobel <= 0) & (jsobel >= 0)) | ((isobel >= 0) & (jsobel <= 0))
    padded = np.pad(mag, 1)
    maxima = np.zeros((h, w), bool)
    # The four sectors in scikit-image's order (a pixel in two of them keeps the later verdict), each
    # with its interpolation weight: the smaller absolute gradient over the larger.
    sectors = [(same & (ai >= aj), True, ((1, 0), (1, 1)), ((-1, 0), (-1, -1))),
               (same & (ai <= aj), False, ((0, 1), (1, 1)), ((0, -1), (-1, -1))),
               (opposite & (ai <= aj), False, ((0, 1), (-1, 1)), ((0, -1), (1, -1))),
               (opposite & (ai >= aj), True, ((-1, 0), (-1, 1)), ((1, 0), (1, -1)))]
    for sector, j_over_i, plus, minus in sectors:
        pts = inner & sector
        ratio = aj[pts] / ai[pts] if j_over_i else ai[pts] / aj[pts]
        maxima[pts] = _octant(padded, pts, ratio, plus, minus)
    high = maxima & (mag >= CANNY_HIGH)
    low = maxima & (mag >= CANNY_LOW)
    labels, count = ndimage.label(low, np.ones((3, 3), bool))
    if count == 0:
        return low
    keep = np.zeros(count + 1, bool)
    keep[np.unique(labels[high])] = True
    keep[0] = False
    return keep[labels]


def sobel_edges(image: np.ndarray) -> np.ndarray:
    """The package's Octave-style Sobel edges (octave.py): the horizontal derivative (kernel over 8),
    squared, kept above 2 * sqrt(its mean), thinned to maxima along a row or a column."""
    p = np.pad(image, 1, mode="symmetric")
    h, w = image.shape

    def at(dr: int, dc: int) -> np.ndarray:
        return p[1 + dr:1 + dr + h, 1 + dc:1 + dc + w]

    # scipy.ndimage.convolve's order: the flipped kernel's non-zero taps in row-major order.
    conv = np.zeros((h, w))
    for (dr, dc), k in (((-1, -1), -0.125), ((-1, 1), 0.125), ((0, -1), -0.25), ((0, 1), 0.25),
                        ((1, -1), -0.125), ((1, 1), 0.125)):
        conv = conv + at(dr, dc) * k
    strength = np.square(conv)
    strength[strength <= 2 * np.sqrt(np.mean(strength))] = 0
    s = np.pad(strength, 1)
    across_cols = (strength > s[1:-1, :-2]) & (strength > s[1:-1, 2:])
    across_rows = (strength > s[:-2, 1:-1]) & (strength > s[2:, 1:-1])
    return across_cols | across_rows


def _edge_sides(image: np.ndarray, edges: np.ndarray) -> tuple:
    """Interior Sobel edges whose quantised gradient angle is 0 and those at +-180 degrees (the only
    ones the package measures), or two empty masks when every angle is 0, as the package skips."""
    gy, gx = np.gradient(image)
    none = np.zeros(image.shape, bool)
    # An angle is 0 where gx == 0 (the package sets 90 only for gy == pi/2) or atan2 gives 0.
    nonzero = ((gx != 0) & ~((gy == 0) & (gx > 0))) | ((gx == 0) & (gy == math.pi / 2))
    if not nonzero.any():
        return none, none
    cand = none.copy()
    cand[1:-1, 1:-1] = edges[1:-1, 1:-1]
    angle = np.zeros(image.shape)
    with np.errstate(invalid="ignore"):
        angle[cand & (gx != 0)] = np.arctan2(gy, gx)[cand & (gx != 0)] * (180 / math.pi)
        turns = angle / 45
        # np.arctan2 may differ from the package's math.atan2 in the last bit: redo the ones near a rounding edge.
        near = cand & (gx != 0) & ((np.abs(np.abs(turns) - 0.5) < 1e-6) | (np.abs(np.abs(turns) - 3.5) < 1e-6))
    for r, c in zip(*np.nonzero(near)):
        angle[r, c] = math.atan2(gy[r, c], gx[r, c]) * (180 / math.pi)
    angle[cand & (gx == 0) & (gy == math.pi / 2)] = 90
    quant = 45 * np.round(angle / 45)
    return cand & (quant == 0), cand & ((quant == 180) | (quant == -180))


def _runs(go_on: np.ndarray) -> np.ndarray:
    """Per row, how many consecutive True end at each column (counting leftwards)."""
    idx = np.arange(go_on.shape[1])
    last_stop = np.maximum.accumulate(np.where(go_on, -1, idx), axis=1)
    return idx - last_stop


def _side_width(go_on: np.ndarray, start: int, leftwards: bool) -> np.ndarray:
    """1 + the run of go_on from column c + start outwards (capped at MAX_MARGIN), for every column c."""
    h, n = go_on.shape
    runs = _runs(go_on) if leftwards else _runs(go_on[:, ::-1])[:, ::-1]
    out = np.zeros((h, n + 1), np.int64)
    cols = np.arange(n + 1) + start
    ok = (cols >= 0) & (cols < n)
    out[:, ok] = np.minimum(runs[:, cols[ok]], MAX_MARGIN)
    return out + 1


def marziliano_widths(image: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Edge widths (0 where none): from an edge at angle 0 the intensity must keep falling leftwards and
    rising rightwards, at 180 the reverse, each side counted from one pixel beyond the neighbour."""
    rise_left = image[:, :-1] - image[:, 1:]  # image[k] - image[k + 1]: the leftward step from k + 1
    rise_right = image[:, 1:] - image[:, :-1]  # image[k + 1] - image[k]: the rightward step from k
    zero, flat = _edge_sides(image, edges)
    widths = np.zeros(image.shape, np.int64)
    w0 = _side_width(~(rise_left >= 0), -2, True) + _side_width(~(rise_right <= 0), 1, False)
    w180 = _side_width(~(rise_left <= 0), -2, True) + _side_width(~(rise_right >= 0), 1, False)
    widths[zero] = w0[zero]
    widths[flat] = w180[flat]
    return widths


def cpbd_sharpness(gray: np.ndarray) -> float:
    """CPBD of one 2-D grayscale image (values 0..255), equal to `cpbd.compute(gray)` of cpbd 1.0.7;
    0.0 when it has no 64x64 block or no measured edge width, as the package returns."""
    image = np.asarray(gray).astype(np.float64)
    if image.ndim != 2:
        raise ValueError(f"cpbd needs a 2-D grayscale image, got shape {image.shape}")
    h, w = image.shape
    if h < BLOCK or w < BLOCK:
        return 0.0
    canny = canny_edges(image)
    widths = marziliano_widths(image, sobel_edges(image))
    counts = np.zeros(101, np.int64)
    for i in range(h // BLOCK):
        for j in range(w // BLOCK):
            rows, cols = slice(BLOCK * i, BLOCK * (i + 1)), slice(BLOCK * j, BLOCK * (j + 1))
            if np.count_nonzero(canny[rows, cols]) <= BLOCK * BLOCK * EDGE_BLOCK_SHARE:
                continue
            block = image[rows, cols]
            contrast = int(np.max(block) - np.min(block))
            if contrast > 255:
                raise ValueError("cpbd takes images with values 0..255 (the package's contrast table ends there)")
            found = widths[rows, cols]
            counts += np.bincount(BUCKETS[5 if contrast <= 50 else 3][found[found != 0]], minlength=101)
    total = int(counts.sum())
    hist = counts / total if total else counts.astype(np.float64)
    return float(np.sum(hist[:PROB_BUCKETS]))


class CPBD(CropMetric):
    """Sharpness of the generated crops alone: blur that a talking-head model adds (a soft mouth, a
    smeared paste) lowers it; it needs no ground truth."""

    name = "cpbd"

    def settings(self) -> dict[str, object]:
        return {"implementation": "lsbench port of the cpbd 1.0.7 package (held equal to it, tests/test_cpbd.py)",
                "grayscale": "Pillow's convert('L'): (19595 R + 38470 G + 7471 B + 32768) >> 16",
                "edge_blocks": "scikit-image 0.13.1 Canny defaults (sigma 1, thresholds 0.1/0.2 on 0..255); "
                               "64x64 blocks with > 0.2% edge pixels",
                "blocks": "64x64 tiles from the top-left corner; a 96x96 crop has one, its top-left 64x64",
                "widths": "Octave-style Sobel edges, Marziliano widths at 0 / 180 degrees",
                "jnb": "5 for block contrast <= 50, else 3; beta 3.6; CPBD = P(blur probability < 0.635)",
                "frames": "every frame", "clip": "mean over frames; a frame without an edge block is 0.0",
                "cpbd_mouth": "the same CPBD of each crop's bottom-centre 64x64 window (rows h-64..h, columns "
                              "(w-64)//2 onward): the mouth and chin, which the package's top-left tiling of a "
                              "96x96 crop never sees; an lsbench variant, not the package's number for the crop"}

    def compute(self, frames: np.ndarray, audio: np.ndarray, ground_truth: np.ndarray | None) -> dict[str, float]:
        h, w = frames.shape[1:3]
        if h < BLOCK or w < BLOCK:
            small = Undefined(f"crops of {w}x{h}: CPBD scores 64x64 blocks")
            return {"cpbd": small, "cpbd_mouth": small}
        gray = to_gray(frames)
        left = (w - BLOCK) // 2
        return {"cpbd": float(np.mean([cpbd_sharpness(g) for g in gray])),
                "cpbd_mouth": float(np.mean([cpbd_sharpness(np.ascontiguousarray(g[h - BLOCK:, left:left + BLOCK]))
                                             for g in gray]))}
