"""dlib's detector and 68-point predictor; the predictor's weights ship in the
face-recognition-models wheel, so landmarks work offline."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import List, Optional

import numpy as np

from .errors import WeightsError

MOUTH = slice(48, 68)


def face_recognition_models_dir() -> Path:
    # `import face_recognition_models` fails under setuptools >= 81 (pkg_resources); find the folder instead.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError("the face-recognition-models package is not installed (pip install face-recognition-models)")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


@functools.lru_cache(maxsize=None)
def _predictor():
    import dlib

    return dlib.shape_predictor(str(face_recognition_models_dir() / "shape_predictor_68_face_landmarks.dat"))


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

    models = face_recognition_models_dir()
    return (dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat")),
            dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat")))


def face_descriptor(rgb: np.ndarray, box: tuple) -> np.ndarray:
    """dlib's 128-d face-recognition embedding (ResNet, face-recognition-models) of the face in box,
    aligned by the 5-point predictor to the 150x150 chip the network was trained on."""
    import dlib

    predictor, net = _recognition()
    img = np.ascontiguousarray(rgb)
    shape = predictor(img, dlib.rectangle(int(box[0]), int(box[1]), int(box[2]), int(box[3])))
    return np.asarray(net.compute_face_descriptor(img, shape), np.float64)
