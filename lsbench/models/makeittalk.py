"""MakeItTalk (Zhou et al., SIGGRAPH Asia 2020) behind the one model interface.

From one portrait (the protocol's reference frame) and speech: 68 landmarks of the portrait
as the demo computes them (face-alignment's 3-D FAN on files from the weights manager, or
dlib 2-D as a flagged fallback: makeittalk_portrait.py), normalised as norm_input_face does; the audio chain
(AutoVC to the demo's target speaker, content and speaker branches) predicts landmark
displacements at AutoVC's 62.5 frames per second; each is drawn as the demo draws its
sketches and translated, with the portrait, by the 256x256 image-to-image network (tanh,
negatives to 0, x255). The 62.5 fps sequence is resampled to 25 fps for scoring; both rates
are recorded. Not ported: the demo's landmark smoothing and mouth-amplification heuristics.
`warp_cartoon` is the cartoon path (Delaunay triangles warped to the predicted landmarks).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Dict

import numpy as np

from .. import weights as W
from ..weight_sources import drive_file
from ..weights import WeightSpec
from .base import Generation, LipSyncModel, Pair
from .makeittalk_portrait import WEIGHTS as PORTRAIT_WEIGHTS
from .makeittalk_portrait import norm_input_face as norm_face

_PAGE = "https://github.com/yzhou359/MakeItTalk#pre-trained-models"
_NOTE = "sha-256 not published; pinned in the lock file on first download"
# the README's "Pre-trained Models" table (commit 1e79ba51): one Google Drive file per module, saved under the
# names quick_demo.ipynb (commit 0918b298) gives them
_README = "MakeItTalk README at 1e79ba51"
CHECKPOINTS = [
    WeightSpec(f"makeittalk_{part}", fname, _PAGE, None, None, "makeittalk", note=_NOTE,
               loader=f"lsbench.models.makeittalk_net:load_{part}", procedural=f"makeittalk/{part}",
               sources=(drive_file(drive_id, _README),))
    for part, fname, drive_id in [
        ("autovc", "ckpt_autovc.pth", "1ZiwPp_h62LtjU0DwpelLUoodKPR85K7x"),
        ("content_branch", "ckpt_content_branch.pth", "1r3bfEvTVl6pCNw5xwUhEglwDHjWtAqQp"),
        ("speaker_branch", "ckpt_speaker_branch.pth", "1rV0jkyDqPW-aDJcj7xSO6Zt1zSXqn1mu"),
        ("i2i", "ckpt_116_i2i_comb.pth", "1i2LJXKp-yWKIEEgJ7C6cE3_2NirfY_0a"),
    ]
]
WEIGHTS = CHECKPOINTS + PORTRAIT_WEIGHTS  # the portrait files are optional: without them dlib runs, flagged
NATIVE_FPS = 16000 / 256  # AutoVC frames: 62.5 per second
SIZE = 256
TARGET_EMB = Path(__file__).parent / "data" / "makeittalk_obama_emb.txt"  # the demo's AutoVC target speaker
SKETCH = [  # (landmark range, closed, BGR colour) as the demo's vis_landmark_on_img draws them
    (range(0, 17), False, (255, 144, 25)), (range(17, 22), False, (50, 205, 50)), (range(22, 27), False, (50, 205, 50)),
    (range(27, 36), False, (208, 224, 63)), (range(36, 42), True, (71, 99, 255)), (range(42, 48), True, (71, 99, 255)),
    (range(48, 60), True, (238, 130, 238)), (range(60, 68), True, (238, 130, 238)),
]


def denorm_face(fl: np.ndarray, scale: float, shift: np.ndarray) -> np.ndarray:
    return -fl.reshape(68, 3)[:, :2] / scale - shift


def draw_sketch(pts: np.ndarray, size: int = SIZE, width: int = 2) -> np.ndarray:
    import cv2

    img = np.full((size, size, 3), 255, np.uint8)
    p = np.round(pts).astype(np.int32)
    for idx, closed, colour in SKETCH:
        cv2.polylines(img, [p[list(idx)].reshape(-1, 1, 2)], closed, colour, width)
    return img


def warp_cartoon(image: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Move `image` so its landmarks `src` land on `dst`: Delaunay triangles of dst (scipy), each
    filled by the affine map of its source triangle; pixels outside the hull stay as they were."""
    import cv2
    from scipy.spatial import Delaunay

    out = image.copy()
    for tri in Delaunay(dst).simplices:
        s, d = np.float32(src[tri]), np.float32(dst[tri])
        m = cv2.getAffineTransform(s, d)
        warped = cv2.warpAffine(image, m, (image.shape[1], image.shape[0]), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT)
        mask = np.zeros(image.shape[:2], np.uint8)
        cv2.fillConvexPoly(mask, np.round(d).astype(np.int32), 1)
        out[mask == 1] = warped[mask == 1]
    return out


class MakeItTalk(LipSyncModel):
    name = "makeittalk"
    face_size = SIZE
    needs = ("reference",)
    audio_features = "AutoVC mel + RAPT F0 (62.5/s), Resemblyzer speaker embedding"
    input_crop = "portrait"
    full_frame = "its own 256x256 portrait frames (the demo's output)"

    def full_frames(self, pair: Pair, gen: Generation, boxes: np.ndarray) -> np.ndarray:
        return gen.frames

    def __init__(self, device: str = "cpu", weights_dir: "str | Path | None" = None, batch_size: int = 8):
        import torch  # noqa: F401

        from .makeittalk_audio import check_runtime
        from .makeittalk_chain import LandmarkChain
        from .makeittalk_portrait import PortraitLandmarks
        from .makeittalk_net import load_autovc, load_content_branch, load_i2i, load_speaker_branch

        super().__init__(device)
        check_runtime()
        self.paths = {s.name: (Path(weights_dir) / s.filename if weights_dir else W.path(s)) for s in CHECKPOINTS}
        p = self.paths
        self.chain = LandmarkChain(load_autovc(p["makeittalk_autovc"]), load_content_branch(p["makeittalk_content_branch"]),
                                   load_speaker_branch(p["makeittalk_speaker_branch"]))
        self.i2i = load_i2i(p["makeittalk_i2i"])
        self.i2i.to(device)
        self.batch_size = batch_size
        self.target_emb = np.loadtxt(TARGET_EMB).astype(np.float32)
        self.portrait = PortraitLandmarks(device, weights_dir)

    def provenance(self) -> Dict[str, dict]:
        out = {s.name: W.provenance(s, self.paths[s.name]) for s in CHECKPOINTS}
        out.update(self.portrait.provenance())
        return out

    def landmark_track(self, audio: np.ndarray, face_id: np.ndarray) -> np.ndarray:
        """(N,204) normalised landmarks at 62.5 fps: face + content + speaker displacements."""
        from ..media import write_wav

        with tempfile.TemporaryDirectory() as tmp:
            wav = write_wav(Path(tmp) / "speech.wav", audio)
            _, content, speaker = self.chain.run(wav, face_id, self.target_emb)
        return face_id[None] + content + speaker

    def generate(self, pair: Pair) -> Generation:
        import cv2
        import torch

        ref = pair.reference[0] if pair.reference.ndim == 4 else pair.reference
        portrait = cv2.resize(np.ascontiguousarray(ref[..., ::-1]), (SIZE, SIZE))
        face = self.portrait(portrait)
        face_id, scale, shift = norm_face(face.points)
        track = self.landmark_track(pair.audio, face_id)
        n = len(pair.target)
        pick = np.minimum(np.round(np.arange(n) * NATIVE_FPS / pair.fps).astype(int), len(track) - 1)
        out = np.empty((n, SIZE, SIZE, 3), np.uint8)
        with torch.inference_mode():
            for i in range(0, n, self.batch_size):
                sketches = [draw_sketch(denorm_face(track[k], scale, shift)) for k in pick[i:i + self.batch_size]]
                x = np.stack([np.concatenate([s, portrait], axis=2) for s in sketches]).astype(np.float32) / 255.0
                g = torch.tanh(self.i2i(torch.from_numpy(x.transpose(0, 3, 1, 2)).to(self.device)))
                g = g.clamp(min=0).cpu().numpy().transpose(0, 2, 3, 1) * 255.0
                out[i:i + len(g)] = g.astype(np.uint8)
        h, w = pair.target.shape[1:3]
        frames = np.stack([cv2.resize(f, (w, h)) for f in out])[..., ::-1]
        return Generation(np.ascontiguousarray(frames), pair.audio,
                          {"fps_native": str(NATIVE_FPS), "fps_scored": str(pair.fps),
                           "landmark_frames": str(len(track)), "portrait_landmarks": self.portrait.describe(),
                           "portrait_box": face.box})
