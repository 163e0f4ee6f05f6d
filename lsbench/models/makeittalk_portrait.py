"""MakeItTalk's portrait landmarks as main_end2end.py computes them.

The demo runs face-alignment's 3-D FAN (face-alignment 1.1.1, `LandmarksType._3D`,
`flip_input=True`) on the portrait as cv2.imread gives it (BGR), keeps the one face's 68
points, moves the lips and eyelids by a pixel or two, and normalises with norm_input_face,
which keeps x and y and sets the depth to 0.1 x the depth of the authors' standard face
(data/makeittalk_std_face_landmarks.txt = src/dataset/utils/STD_FACE_LANDMARKS.txt; with CRLF
line ends and no final newline its sha-256 is the official file's Git LFS oid 169c8609...).

lsbench runs face-alignment 1.5.0, which loads the same three files as 1.1.1 into its own FAN
and ResNetDepth classes. The files come from lsbench's weights manager (the sha-256 prefix in
each name is checked) and are read by lsbench's loaders (tensors only: the depth file is a
pickle that face-alignment would read with weights_only=False); face-alignment gets them
loaded and never downloads. 1.5.0's S3FD turns RGB input into BGR itself, where 1.1.1 used the
array as it came, so the detector gets the RGB portrait and the FAN the BGR one: each sees
what it saw in the demo.

Without face-alignment or its files the landmarks come from dlib's 2-D predictor: the row says
which route ran and why, and the fallback is flagged non-official in the weights provenance.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from .. import weights as W
from ..errors import WeightsError
from ..weights import WeightSpec

FA_VERSION = "1.5.0"
FA_INSTALL = f"pip install --no-deps face-alignment=={FA_VERSION}"  # --no-deps: it asks for opencv-python
STD_FACE = Path(__file__).parent / "data" / "makeittalk_std_face_landmarks.txt"
_BASE = "https://www.adrianbulat.com/downloads/python-fan/"
_NOTE = "face-alignment's checkpoint, as MakeItTalk's demo (face-alignment 1.1.1) loads it"
WEIGHTS = [
    WeightSpec("face_alignment_s3fd", "s3fd-619a316812.pth", _BASE + "s3fd-619a316812.pth", None, None,
               "face-alignment", note=_NOTE, sha256_prefix="619a316812"),
    WeightSpec("face_alignment_3dfan4", "3DFAN4-7835d9f11d.pth.tar", _BASE + "3DFAN4-7835d9f11d.pth.tar", None, None,
               "face-alignment", note=_NOTE, sha256_prefix="7835d9f11d"),
    WeightSpec("face_alignment_depth", "depth-2a464da4ea.pth.tar", _BASE + "depth-2a464da4ea.pth.tar", None, None,
               "face-alignment", note=_NOTE, sha256_prefix="2a464da4ea"),
]


def demo_adjust(pts: np.ndarray) -> np.ndarray:
    """The demo's manual touch on the detected face: slimmer lips, wider eyes (pixels)."""
    out = np.array(pts, dtype=np.float64)
    out[49:54, 1] += 1.0
    out[55:60, 1] -= 1.0
    out[[37, 38, 43, 44], 1] -= 2
    out[[40, 41, 46, 47], 1] += 2
    return out


@functools.lru_cache(maxsize=1)
def std_face_depth() -> np.ndarray:
    return np.loadtxt(STD_FACE).reshape(68, 3)[:, 2]


def norm_input_face(pts: np.ndarray) -> Tuple[np.ndarray, float, np.ndarray]:
    """(68,>=2) image landmarks -> (204,) face_id as norm_input_face makes it: x,y centred between
    points 0 and 16, scaled to a width of 1.6 and mirrored; depth = 0.1 x the standard face's.
    Returns the scale and shift that undo it."""
    xy = np.asarray(pts, np.float64)[:, :2]
    width = xy[0, 0] - xy[16, 0]
    if not np.isfinite(width) or abs(width) < 1e-6:
        raise ValueError(f"portrait landmarks are degenerate (jaw points 0 and 16 are {abs(width):.3g} px apart)")
    scale = 1.6 / width
    shift = -0.5 * (xy[0] + xy[16])
    out = np.c_[-((xy + shift) * scale), std_face_depth() * 0.1]
    return out.astype(np.float32).reshape(-1), float(scale), shift


@dataclass
class PortraitResult:
    points: np.ndarray  # (68,2) image pixels, after the demo's adjustment
    route: str  # "face-alignment" or "dlib"
    box: str  # where the face box came from


def _dlib_points(bgr: np.ndarray) -> Tuple[np.ndarray, str]:
    from ..landmarks import landmarks68

    rgb = np.ascontiguousarray(bgr[..., ::-1])
    pts = landmarks68(rgb)
    if pts is not None:
        return pts, "dlib HOG"
    h, w = rgb.shape[:2]  # a tight face crop: the whole image is the face box
    return landmarks68(rgb, (0, 0, w - 1, h - 1)), "whole image (HOG found no face)"


def _load_fan(net, path: Path, what: str):
    state = W.load_torch(path, what)
    return W.load_state_checked(net, state, path, what, "a FAN state_dict (face-alignment's 3DFAN4 file)")


def _load_depth(net, path: Path, what: str):
    raw = W.load_torch_tensors_only(path, what)
    if not isinstance(raw, dict) or not isinstance(raw.get("state_dict"), dict):
        raise WeightsError(f"{path}: not a valid {what}: expected a dict with a 'state_dict' entry")
    state = {k.replace("module.", ""): v for k, v in raw["state_dict"].items()}
    return W.load_state_checked(net, state, path, what, "{'state_dict': ResNetDepth tensors, 'module.' prefixes}")


def _face_alignment(paths: Dict[str, Path], device: str):
    """face_alignment.FaceAlignment (3-D, flip_input as in the demo, no torch.compile) whose
    FAN and depth networks are loaded from `paths` by lsbench and whose S3FD reads its file."""
    import face_alignment
    from face_alignment.models import FAN, ResNetDepth

    class LocalFaceAlignment(face_alignment.FaceAlignment):
        def _load_native(self, network_name, network_size, device, dtype):
            net = _load_fan(FAN(int(network_size)), paths["face_alignment_3dfan4"], "face-alignment 3DFAN4 checkpoint")
            return net.to(device, dtype=dtype).eval()

        def _load_native_depth(self, device, dtype):
            net = _load_depth(ResNetDepth(), paths["face_alignment_depth"], "face-alignment depth checkpoint")
            return net.to(device, dtype=dtype).eval()

    return LocalFaceAlignment(face_alignment.LandmarksType.THREE_D, device=device, flip_input=True,
                              face_detector="sfd", compile=False,
                              face_detector_kwargs={"path_to_detector": str(paths["face_alignment_s3fd"])})


class PortraitLandmarks:
    """Picks the route once, at construction: face-alignment's 3-D FAN when the package and its
    three files are present (a present but refused file stops the run), else dlib 2-D with the
    reason recorded."""

    def __init__(self, device: str = "cpu", weights_dir: "str | Path | None" = None):
        self.device = device
        self.paths: Dict[str, Path] = {}
        self.reason = ""
        self.fa = None
        try:
            import face_alignment  # noqa: F401
            from face_alignment.models import FAN, ResNetDepth  # noqa: F401
        except ImportError as exc:
            self.reason = f"face-alignment is not installed ({exc}); install it with `{FA_INSTALL}`"
            return
        missing: List[str] = []
        for s in WEIGHTS:
            p = Path(weights_dir) / s.filename if weights_dir else W.find(s)
            if p is None or not p.is_file():
                missing.append(s.filename)
                continue
            W.verify(s, p)
            self.paths[s.name] = p
        if missing:
            self.reason = (f"face-alignment's files are missing ({', '.join(missing)}); "
                           f"`lsbench weights fetch face-alignment` gets them")
            self.paths = {}
            return
        self.fa = _face_alignment(self.paths, device)

    @property
    def route(self) -> str:
        return "face-alignment" if self.fa is not None else "dlib"

    def describe(self) -> str:
        if self.fa is not None:
            return f"face-alignment {FA_VERSION} 3-D FAN (S3FD box, flip_input), as the demo"
        return f"dlib 2-D predictor (fallback, not the demo's: {self.reason})"

    def provenance(self) -> Dict[str, dict]:
        """The three files when they ran; otherwise one non-official entry saying why."""
        if self.fa is not None:
            return {s.name: W.provenance(s, self.paths[s.name]) for s in WEIGHTS}
        return {"makeittalk_portrait_landmarks": {
            "file": "shape_predictor_68_face_landmarks.dat", "path": None, "sha256": None, "state": "mirror",
            "official": False,
            "why": f"MakeItTalk's portrait landmarks came from dlib 2-D, not the demo's face-alignment 3-D FAN: {self.reason}"}}

    def __call__(self, bgr: np.ndarray) -> PortraitResult:
        if self.fa is None:
            pts, box = _dlib_points(bgr)
            return PortraitResult(demo_adjust(pts), "dlib", box)
        rgb = np.ascontiguousarray(bgr[..., ::-1])
        faces = [np.asarray(f, np.float64) for f in self.fa.face_detector.detect_from_image(rgb.copy())]
        if faces:
            box = "S3FD" if len(faces) == 1 else f"S3FD, highest score of {len(faces)} faces"
            faces = [max(faces, key=lambda f: f[4])]
        else:
            h, w = bgr.shape[:2]
            faces, box = [np.array([0, 0, w - 1, h - 1, 1.0])], "whole image (S3FD found no face)"
        (pts,) = self.fa.get_landmarks_from_image(np.ascontiguousarray(bgr), detected_faces=faces)
        return PortraitResult(demo_adjust(pts[:, :2]), "face-alignment", box)
