"""Expected values of the `cpbd` 1.0.7 package (PyPI) for tests/test_cpbd.py: writes
tests/data/cpbd_expected.json, the recipe of each input (never its pixels), the sha256 of the
grayscale array the recipe gives, and what `cpbd.compute` returns on it.

The package is run as published in February 2018, in a virtualenv of that era (its module imports
`scipy.ndimage.imread`, gone since SciPy 1.2, and its Canny is scikit-image 0.13.1's); NOT the
project's .venv:

    /root/.pyenv/versions/3.6.15/bin/python -m venv /work/scratch/cpbd-ref
    /work/scratch/cpbd-ref/bin/pip install numpy==1.14.0 scipy==1.0.0 scikit-image==0.13.1 \\
        matplotlib==2.1.2 Pillow==5.0.0 imageio==2.2.0 networkx==2.1 PyWavelets==0.5.2 \\
        decorator==4.2.1 six==1.11.0 cycler==0.10.0 pyparsing==2.2.0 python-dateutil==2.6.1 pytz==2018.3
    /work/scratch/cpbd-ref/bin/pip install --no-deps cpbd==1.0.7
    LSBENCH_SHARED=../shared /work/scratch/cpbd-ref/bin/python tests/reference/make_cpbd_expected.py

The recipe helpers below (decode, crop, downscale, blur, JPEG, synthetic images) are also what
the test imports to rebuild each input in the project's venv: they use only ffmpeg (bit-exact
scaler flags) and NumPy element-wise arithmetic, so both interpreters build the same pixels, and
the recorded sha256 tells a decoder difference apart from a port difference. Kept Python 3.6-clean.
"""

import hashlib
import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "data" / "cpbd_expected.json"
SCALE_FLAGS = "bicubic+accurate_rnd+bitexact+full_chroma_int"
# clip -> frame indices (decode order), face-ish centre (x, y), 96-crop side / 96, 128-crop side / 128,
# how many of the frames are also scored whole (1080x1920 costs a second in the test)
CLIPS = [
    ("hdtf_sadtalker/WDA_AlexandriaOcasioCortez_000.mp4", (0, 77, 150), (280, 256), 3, 2, 3),
    ("videoretalking/face_1.mp4", (0, 50, 120), (387, 215), 3, 2, 3),
    ("videoretalking/face_2.mp4", (10, 60, 110), (422, 346), 4, 3, 3),
    ("videoretalking/face_3.mp4", (5, 64, 100), (295, 242), 3, 2, 3),
    ("syncnet_example/video.avi", (0, 66, 130), (504, 216), 3, 2, 3),
    ("latentsync/demo1_video.mp4", (2, 12, 24), (575, 670), 3, 2, 1),
]
SYNTHETIC = [
    {"synthetic": "flat", "value": 128, "shape": [96, 96]},
    {"synthetic": "flat", "value": 37, "shape": [130, 200]},
    {"synthetic": "noise", "seed": 1, "shape": [96, 96]},
    {"synthetic": "noise", "seed": 2, "shape": [150, 211]},
    {"synthetic": "smooth_noise", "seed": 3, "shape": [128, 128], "blur": 1.5},
    {"synthetic": "low_contrast_noise", "seed": 4, "shape": [128, 192], "levels": 40},
    {"synthetic": "steps", "shape": [96, 160]},
    {"synthetic": "noise", "seed": 5, "shape": [40, 300]},
]


def _run(cmd, data=None):
    proc = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)  # noqa: UP022 (3.6)
    if proc.returncode != 0:
        raise RuntimeError("{} failed: {}".format(" ".join(cmd[:6]), proc.stderr.decode(errors="replace")[-400:]))
    return proc.stdout


def decode_frames(clip, indices):
    """The frames of `clip` at these decode-order indices, as (H, W, 3) uint8 RGB, one ffmpeg call."""
    size = _run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                 "-of", "csv=p=0", str(clip)]).decode().strip().split(",")
    w, h = int(size[0]), int(size[1])
    pick = "+".join(f"eq(n\\,{i})" for i in sorted(indices))
    raw = _run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(clip), "-map", "0:v:0", "-vsync", "0",
                "-vf", f"select={pick},scale=flags={SCALE_FLAGS},format=rgb24",
                "-frames:v", str(len(indices)), "-f", "rawvideo", "-"])
    frames = np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)
    if len(frames) != len(indices):
        raise RuntimeError(f"{clip}: {len(frames)} of {len(indices)} frames decoded")
    return dict(zip(sorted(indices), frames))


def downscale(rgb, k):
    """Mean of each k x k block, rounded half up (exact integer arithmetic)."""
    h, w = rgb.shape[0] // k, rgb.shape[1] // k
    s = rgb[:h * k, :w * k].astype(np.int64).reshape(h, k, w, k, -1).sum(axis=(1, 3))
    return ((s + (k * k) // 2) // (k * k)).astype(np.uint8).reshape((h, w) + rgb.shape[2:])


def blur(img, sigma):
    """Separable Gaussian (radius 4 sigma, mirrored edges) of a uint8 image, rounded back to uint8;
    weights from math.exp, sums in a fixed order, so every NumPy gives the same pixels."""
    r = int(4 * sigma + 0.5)
    wts = [math.exp(-0.5 * (k * k) / (sigma * sigma)) for k in range(-r, r + 1)]
    total = sum(wts)
    wts = [x / total for x in wts]
    out = img.astype(np.float64)
    for axis in (0, 1):
        pad = [(0, 0)] * out.ndim
        pad[axis] = (r, r)
        p = np.pad(out, pad, mode="symmetric")
        n = out.shape[axis]
        acc = np.zeros(out.shape)
        for i, wt in enumerate(wts):
            acc = acc + np.take(p, np.arange(i, i + n), axis=axis) * wt
        out = acc
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)


def jpeg(rgbs, qscale):
    """A round trip of same-sized (N, H, W, 3) images through ffmpeg's MJPEG encoder at this qscale
    (each frame coded alone; integer DCT, bit-exact flags), two ffmpeg calls for all of them."""
    n, h, w = rgbs.shape[:3]
    raw = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}"]
    enc = _run(["ffmpeg", "-v", "error", "-nostdin"] + raw + ["-i", "-", "-vf",
               f"scale=flags={SCALE_FLAGS},format=yuvj420p", "-c:v", "mjpeg", "-q:v", str(qscale),
               "-dct", "int", "-flags", "+bitexact", "-f", "mjpeg", "-"], np.ascontiguousarray(rgbs).tobytes())
    dec = _run(["ffmpeg", "-v", "error", "-nostdin", "-flags", "+bitexact", "-idct", "simple", "-f", "mjpeg",
                "-i", "-", "-vf", f"scale=flags={SCALE_FLAGS},format=rgb24", "-vsync", "0",
                "-f", "rawvideo", "-"], enc)
    out = np.frombuffer(dec, np.uint8).reshape(-1, h, w, 3)
    if len(out) != n:
        raise RuntimeError(f"JPEG round trip gave {len(out)} of {n} images")
    return out


def gray_of(rgb):
    """Pillow's convert('L') since Pillow 8-ish ((19595 R + 38470 G + 7471 B + 32768) >> 16), the
    conversion the metric states; Pillow 5.0 here truncates instead, so it is not used."""
    c = rgb.astype(np.uint32)
    return ((c[..., 0] * 19595 + c[..., 1] * 38470 + c[..., 2] * 7471 + 0x8000) >> 16).astype(np.uint8)


def synthetic(recipe):
    """A grayscale test image from its recipe (RandomState streams are fixed across NumPy releases)."""
    h, w = recipe["shape"]
    kind = recipe["synthetic"]
    if kind == "flat":
        return np.full((h, w), recipe["value"], np.uint8)
    if kind == "steps":
        yy, xx = np.mgrid[:h, :w]
        return ((xx // 16) * 23 + (yy // 24) * 41 + 7 * (xx > yy)).astype(np.uint8)
    rng = np.random.RandomState(recipe["seed"])
    if kind == "low_contrast_noise":
        return (100 + rng.randint(0, recipe["levels"] + 1, (h, w))).astype(np.uint8)
    img = rng.randint(0, 256, (h, w)).astype(np.uint8)
    return blur(img, recipe["blur"]) if kind == "smooth_noise" else img


def rgb_of(recipe, frames):
    """The RGB image of a clip recipe before any JPEG step, from its decoded frames {(clip, index): frame}."""
    img = frames[(recipe["clip"], recipe["frame"])]
    if recipe.get("crop"):
        x, y, w, h = recipe["crop"]
        img = img[y:y + h, x:x + w]
    if recipe.get("downscale", 1) > 1:
        img = downscale(img, recipe["downscale"])
    if recipe.get("blur"):
        img = blur(img, recipe["blur"])
    return np.ascontiguousarray(img)


def grays(recipes, frames, to_gray):
    """The grayscale input of every recipe (clip recipes through to_gray), the JPEG ones batched."""
    rgbs = {n: rgb_of(r, frames) for n, r in enumerate(recipes) if "synthetic" not in r}
    groups = {}
    for n, r in enumerate(recipes):
        if r.get("jpeg_qscale"):
            groups.setdefault((r["jpeg_qscale"], rgbs[n].shape), []).append(n)
    for (q, _), ns in sorted(groups.items()):
        rgbs.update(zip(ns, jpeg(np.stack([rgbs[n] for n in ns]), q)))
    return [synthetic(r) if "synthetic" in r else to_gray(rgbs[n]) for n, r in enumerate(recipes)]


def sha256(gray):
    return hashlib.sha256(np.ascontiguousarray(gray, np.uint8).tobytes()).hexdigest()


def recipes():
    """Every case: for each clip frame the full frame, face-ish crops downscaled to 96 and 128, a
    200x150 crop at native size, blurred (sigma 1; 1, 2, 4) and JPEG variants; then synthetic images."""
    out = []
    for clip, indices, (cx, cy), k96, k128, whole in CLIPS:
        for n, i in enumerate(indices):
            base = {"clip": clip, "frame": i}
            c96 = dict(base, crop=[cx - 48 * k96, cy - 48 * k96, 96 * k96, 96 * k96], downscale=k96)
            c128 = dict(base, crop=[cx - 64 * k128, cy - 64 * k128, 128 * k128, 128 * k128], downscale=k128)
            out += [dict(base)] if n < whole else []
            out += [c96, c128, dict(base, crop=[cx - 100, cy - 75, 200, 150]), dict(c96, blur=1),
                    dict(c128, blur=1), dict(c128, blur=2), dict(c128, blur=4), dict(c128, jpeg_qscale=20)]
    return out + [dict(s) for s in SYNTHETIC]


def case_id(recipe):
    return "/".join(f"{k}={recipe[k]}" for k in sorted(recipe))


def _versions():
    import cpbd  # noqa: F401  (the package must import)
    import pkg_resources
    import scipy
    import skimage

    ffmpeg = _run(["ffmpeg", "-version"]).decode().splitlines()[0]
    return {"cpbd": pkg_resources.get_distribution("cpbd").version, "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy.__version__, "scikit-image": skimage.__version__,
            "Pillow": pkg_resources.get_distribution("Pillow").version, "ffmpeg": ffmpeg}


def main():
    from cpbd import compute
    from scipy.ndimage.filters import _gaussian_kernel1d

    media = Path(os.environ.get("LSBENCH_SHARED", str(ROOT.parent / "shared"))).resolve() / "media"
    frames = {}
    for clip, indices, _, _, _, _ in CLIPS:
        for i, f in decode_frames(media / clip, indices).items():
            frames[(clip, i)] = f
    cases = []
    todo = recipes()
    for recipe, gray in zip(todo, grays(todo, frames, gray_of)):
        value = float(compute(gray))
        cases.append({"id": case_id(recipe), "recipe": recipe, "shape": list(gray.shape), "gray_sha256": sha256(gray),
                      "cpbd": value, "cpbd_hex": value.hex()})
        print("{:.6f} {}".format(value, cases[-1]["id"]), file=sys.stderr)
    doc = {"made_by": "tests/reference/make_cpbd_expected.py", "versions": _versions(),
           "grayscale": "(19595 R + 38470 G + 7471 B + 32768) >> 16 of the recipe's RGB (Pillow's convert('L'))",
           "scipy_gaussian_sigma1_radius4_hex": [float(x).hex() for x in _gaussian_kernel1d(1.0, 0, 4)[::-1]],
           "cases": cases}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT} ({len(cases)} cases)", file=sys.stderr)


if __name__ == "__main__":
    main()
