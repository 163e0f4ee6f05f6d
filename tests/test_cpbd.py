"""The cpbd metric's port against the cpbd 1.0.7 package: tests/data/cpbd_expected.json holds the
package's values on real frames of ../shared/media (full frames, face crops at 96 and 128, blurred
and JPEG variants) and on synthetic images, made by tests/reference/make_cpbd_expected.py in a
virtualenv of the package's era. Each input is rebuilt here from its recipe and checked against the
recorded sha256 first, so a decoder difference shows as such and not as a port error.

Measured 2026-12-04: the port equals the package bit for bit on every case here and on 2,070
random images (noise, smoothed noise, low-contrast noise, flat steps with ties, ramps, upsampled
noise; 64..199 pixels a side), so the tolerance is zero."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from reference.make_cpbd_expected import CLIPS, decode_frames, grays, sha256

from lsbench.metrics import cpbd as M
from lsbench.metrics.base import Undefined

EXPECTED = json.loads((Path(__file__).parent / "data" / "cpbd_expected.json").read_text())
CASES = EXPECTED["cases"]


@pytest.fixture(scope="module")
def rebuilt(shared):
    """case id -> the grayscale input rebuilt from its recipe, through the port's own RGB -> L."""
    frames = {}
    for clip, indices, *_ in CLIPS:
        frames.update({(clip, i): f for i, f in decode_frames(shared / "media" / clip, indices).items()})
    return dict(zip([c["id"] for c in CASES], grays([c["recipe"] for c in CASES], frames, M.to_gray)))


@pytest.fixture(scope="module")
def ported(rebuilt):
    """case id -> the port's value on the rebuilt input."""
    return {k: M.cpbd_sharpness(g) for k, g in rebuilt.items()}


def test_reference_was_the_published_package():
    v = EXPECTED["versions"]
    assert (v["cpbd"], v["numpy"], v["scipy"], v["scikit-image"]) == ("1.0.7", "1.14.0", "1.0.0", "0.13.1")
    assert [float.fromhex(h) for h in EXPECTED["scipy_gaussian_sigma1_radius4_hex"]] == list(M.GAUSS + M.GAUSS[-2::-1])


def test_inputs_rebuild_bit_for_bit(rebuilt):
    wrong = [c["id"] for c in CASES if sha256(rebuilt[c["id"]]) != c["gray_sha256"]]
    assert not wrong, f"inputs differ from the reference's (ffmpeg or NumPy, not the port): {wrong[:5]}"


def test_port_equals_package(ported):
    errors = {c["id"]: abs(ported[c["id"]] - c["cpbd"]) for c in CASES}
    wrong = {k: e for k, e in errors.items() if e != 0}
    assert len(CASES) > 150 and not wrong, f"{len(wrong)} cases differ, max {max(wrong.values(), default=0)}: {wrong}"


def test_flat_and_small_images_are_zero_as_in_the_package(ported):
    flat = [c for c in CASES if c["recipe"].get("synthetic") == "flat" or min(c["shape"]) < 64]
    assert len(flat) == 3 and all(c["cpbd"] == 0.0 and ported[c["id"]] == 0.0 for c in flat)


def test_blur_lowers_cpbd_on_real_crops(ported):
    """The 128x128 face crops of every clip frame, sharp and blurred (sigma 1, 2, 4): CPBD never rises
    with more blur, falls from sharp to sigma 1, and on average falls at every step until it is 0."""
    chains = {}
    for c in CASES:
        r = c["recipe"]
        if r.get("crop") and r["crop"][2] == 128 * r.get("downscale", 0) and not r.get("jpeg_qscale"):
            chains.setdefault((r["clip"], r["frame"]), {})[r.get("blur", 0)] = ported[c["id"]]
    assert len(chains) == 18
    for key, chain in chains.items():
        values = [chain[s] for s in (0, 1, 2, 4)]
        assert values[0] > values[1] >= values[2] >= values[3], (key, values)
    means = [np.mean([chain[s] for chain in chains.values()]) for s in (0, 1, 2, 4)]
    assert means[0] > means[1] > means[2] > means[3] >= 0, means


def test_grayscale_is_pillows_convert_L():
    from PIL import Image

    rgb = np.random.default_rng(0).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)  # all 2^24: equal too
    assert np.array_equal(M.to_gray(rgb), np.asarray(Image.fromarray(rgb, "RGB").convert("L")))


def test_metric_on_a_real_clips_crops(shared):
    """CPBD.compute on 20 face crops (96x96, as the evaluation crops) of a real clip: the mean of the
    frames' values, no ground truth needed, lower once the crops are blurred; tiny crops are n/a."""
    import cv2

    from lsbench.media import read_frames

    frames = read_frames(shared / "media" / "videoretalking" / "face_3.mp4", max_frames=20)
    crops = np.stack([cv2.resize(f[98:386, 151:439], (96, 96), interpolation=cv2.INTER_AREA) for f in frames])
    metric = M.CPBD()
    value = metric.compute(crops, np.zeros(20 * 640, np.float32), None)["cpbd"]
    assert 0 < value <= 1
    assert value == pytest.approx(np.mean([M.cpbd_sharpness(M.to_gray(f)) for f in crops]), abs=1e-15)
    blurred = np.stack([cv2.GaussianBlur(f, (0, 0), 1.5) for f in crops])
    assert metric.compute(blurred, None, None)["cpbd"] < value - 0.05
    assert isinstance(metric.compute(crops[:, :48, :48], None, None)["cpbd"], Undefined)
    assert metric.settings()["frames"] == "every frame"
