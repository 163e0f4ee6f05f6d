"""dlib's detector and 68-point predictor; the predictor's weights ship in the
face-recognition-models wheel, so landmarks work offline."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from . import weights as W

MOUTH = slice(48, 68)
PACKAGE = "face-recognition-models:face_recognition_models/models"  # 0.3.0; its files are dlib.net's models


def _shipped(name: str, filename: str, size: int, sha256: str, what: str) -> W.WeightSpec:
    return W.WeightSpec(name, filename, f"http://dlib.net/files/{filename}.bz2", sha256, size, "dlib", direct=False,
                        note=f"{what}; ships in the face-recognition-models 0.3.0 wheel (installed with lsbench)",
                        package=PACKAGE)


SHAPE_68 = _shipped("dlib_shape_68", "shape_predictor_68_face_landmarks.dat", 99693937,
                    "fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f", "dlib's 68-point face landmarks")
SHAPE_5 = _shipped("dlib_shape_5", "shape_predictor_5_face_landmarks.dat", 9150489,
                   "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
                   "dlib's 5-point landmarks (face-chip alignment)")
FACE_RESNET = _shipped("dlib_face_resnet", "dlib_face_recognition_resnet_model_v1.dat", 22466066,
                       "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
                       "dlib's ResNet face-recognition embedding (128-d)")
MMOD = _shipped("dlib_mmod", "mmod_human_face_detector.dat", 729940,
                "4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6", "dlib's CNN (MMOD) face detector")
WEIGHTS = [SHAPE_68, SHAPE_5, FACE_RESNET, MMOD]


def model_path(spec: W.WeightSpec) -> Path:
    """The package's file, size and sha-256 checked once per process (a WeightsError naming the fix)."""
    return _checked(spec.name)


@functools.lru_cache(maxsize=None)
def _checked(name: str) -> Path:
    return W.path(next(s for s in WEIGHTS if s.name == name))


def metric_weights(*specs: W.WeightSpec) -> Dict[str, dict]:
    """The provenance a metric built on these files records; for a metric's constructor, so a missing
    package makes the metric unavailable (one line, the run goes on) rather than failing each clip."""
    from .errors import Failure, WeightsError

    try:
        return {s.name: dict(_provenance(s.name)) for s in specs}
    except WeightsError as exc:
        raise Failure(str(exc), "unavailable") from None


@functools.lru_cache(maxsize=None)
def _provenance(name: str) -> dict:  # hashing 100 MB once per process, not once per metric made
    spec = next(s for s in WEIGHTS if s.name == name)
    return W.provenance(spec, model_path(spec))


@functools.lru_cache(maxsize=None)
def _predictor():
    import dlib

    return dlib.shape_predictor(str(model_path(SHAPE_68)))


@functools.lru_cache(maxsize=None)
def _hog():
    import dlib

    return dlib.get_frontal_face_detector()


def detect_hog(rgb: np.ndarray, upsample: int = 0) -> List[tuple]:
    """(x1, y1, x2, y2, score) boxes from dlib's HOG detector, highest score first."""
    boxes, scores, _ = _hog().run(np.ascontiguousarray(rgb), upsample, 0.0)
    out = [(b.left(), b.top(), b.right(), b.bottom(), float(s)) for b, s in zip(boxes, scores)]
    return sorted(out, key=lambda r: -r[4])


def landmarks68(rgb: np.ndarray, box: Optional[tuple] = None) -> Optional[np.ndarray]:
    """(68, 2) float landmarks of the given face box (or the best HOG face); None without a face."""
    import dlib

    if box is None:
        found = detect_hog(rgb, upsample=1)
        if not found:
            return None
        box = found[0]
    rect = dlib.rectangle(int(box[0]), int(box[1]), int(box[2]), int(box[3]))
    shape = _predictor()(np.ascontiguousarray(rgb), rect)
    return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)


@functools.lru_cache(maxsize=None)
def _recognition():
    import dlib

    return dlib.shape_predictor(str(model_path(SHAPE_5))), dlib.face_recognition_model_v1(str(model_path(FACE_RESNET)))


DESCRIPTOR_MEMO = 4096  # embeddings kept per process (1 KiB each), keyed by the crop's bytes
_descriptors: Dict[tuple, np.ndarray] = {}  # in insertion order: the first is the one dropped next


def face_descriptor(rgb: np.ndarray, box: tuple) -> np.ndarray:
    """dlib's 128-d face-recognition embedding (ResNet, face-recognition-models) of the face in box,
    aligned by the 5-point predictor to the 150x150 chip the network was trained on. Remembered by
    the crop's bytes: metric-check scores the same real crop under every fault, and faults that leave
    the picture alone (audio shifts, other speech) give the same crops again; dlib's pass is
    deterministic, so a remembered embedding is the one it would compute."""
    import hashlib

    img = np.ascontiguousarray(rgb)
    key = (hashlib.blake2b(img.tobytes(), digest_size=16).digest(), img.shape, str(img.dtype),
           tuple(int(v) for v in box))
    found = _descriptors.get(key)
    if found is None:
        found = _descriptors[key] = _compute_descriptor(img, key[3])
        if len(_descriptors) > DESCRIPTOR_MEMO:
            del _descriptors[next(iter(_descriptors))]  # the oldest
    return found.copy()


def _compute_descriptor(img: np.ndarray, box: tuple) -> np.ndarray:
    import dlib

    predictor, net = _recognition()
    shape = predictor(img, dlib.rectangle(*box))
    return np.asarray(net.compute_face_descriptor(img, shape), np.float64)
