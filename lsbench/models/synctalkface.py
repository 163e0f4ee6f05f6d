"""SyncTalkFace (Park et al., AAAI 2022) behind the one model interface.

The authors released no weights: a checkpoint comes from `lsbench train --model
synctalkface` (written in the authors' format) or from anyone who trained the authors' code.
Frames are re-generated in windows of 5 (the last window overlaps the previous one), with
a reference window of 5 frames (the protocol's reference frame repeated, or the aligned
frames under wav2lip-filelist) and, as in the authors' training samples, the mel window of
frame f - 1 for target frame f.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional

import numpy as np

from .. import weights as W
from ..audio import wav2lip_mel
from ..device import batch_size_for
from ..weights import WeightSpec
from .base import Generation, LipSyncModel, Pair

WEIGHTS = [
    WeightSpec("synctalkface", "synctalkface.ckpt", "https://github.com/jinny960812/SyncTalkFace", None, None,
               "synctalkface", direct=False,
               note="The authors released no weights: train one with `lsbench train --model synctalkface`.",
               loader="lsbench.models.synctalkface_net:load_file", procedural="synctalkface/synctalkface"),
]
WINDOW = 5
BYTES_PER_WINDOW = 96 << 20


class SyncTalkFace(LipSyncModel):
    name = "synctalkface"
    face_size = 128
    needs = ("reference", "pose_prior")
    audio_features = "Wav2Lip mel (80 bands, 80/s), 16-column window per frame, 5-frame windows"

    def __init__(self, device: str = "cpu", weights_path: "str | Path | None" = None, batch_size: Optional[int] = None):
        from .synctalkface_net import load_file

        super().__init__(device)
        self.spec = WEIGHTS[0]
        self.path = Path(weights_path) if weights_path else W.path(self.spec)
        self.encoder, self.decoder, _, self.cfg = load_file(self.path, device)
        self.face_size = self.cfg.img_size
        self.batch_size = batch_size or batch_size_for(device, BYTES_PER_WINDOW, cap=32)

    def provenance(self) -> Dict[str, dict]:
        return {self.spec.name: {**W.provenance(self.spec, self.path), "config": self.cfg.__dict__}}

    def _mel_windows(self, audio: np.ndarray, n: int) -> np.ndarray:
        mel_t = wav2lip_mel(audio).T
        out = np.empty((n, 1, 80, 16), np.float32)
        for f in range(n):
            s = min(max(0, int(80.0 * ((f - 1) / 25.0))), max(0, len(mel_t) - 16))
            win = mel_t[s:s + 16]
            out[f, 0] = np.pad(win, ((0, 16 - len(win)), (0, 0))).T
        return out

    def generate(self, pair: Pair) -> Generation:
        import cv2
        import torch

        from . import synctalkface_data as D

        size, n = self.cfg.img_size, len(pair.target)
        if n < WINDOW:
            raise ValueError(f"SyncTalkFace needs at least {WINDOW} frames, got {n}")
        bgr = lambda frames: np.stack([cv2.resize(np.ascontiguousarray(f[..., ::-1]), (size, size)) for f in frames])  # noqa: E731
        target = bgr(pair.target)
        aligned = pair.reference.ndim == 4
        ref_all = bgr(pair.reference) if aligned else np.repeat(bgr(pair.reference[None]), WINDOW, axis=0)
        mels = self._mel_windows(pair.audio, n)
        starts = list(range(0, n - WINDOW + 1, WINDOW))
        if starts[-1] + WINDOW < n:
            starts.append(n - WINDOW)  # overlapping last window
        out = np.empty((n, size, size, 3), np.uint8)
        with torch.inference_mode():
            for i in range(0, len(starts), self.batch_size):
                chunk = starts[i:i + self.batch_size]
                tgt = np.stack([target[s:s + WINDOW] for s in chunk]).transpose(0, 4, 1, 2, 3)
                ref = np.stack([ref_all[s:s + WINDOW] if aligned else ref_all for s in chunk]).transpose(0, 4, 1, 2, 3)
                x = D.generator_input(tgt, ref).to(self.device)
                m = torch.from_numpy(np.stack([mels[s:s + WINDOW] for s in chunk])).to(self.device)
                te, _, feats, *_ = self.encoder(m, x, None, inference=True)
                img = ((self.decoder(te, feats).cpu().numpy() + 1) * 127.5).astype(np.uint8)  # (B,3,5,H,W)
                for s, win in zip(chunk, img.transpose(0, 2, 3, 4, 1)):
                    out[s:s + WINDOW] = win
        h, w = pair.target.shape[1:3]
        frames = np.stack([cv2.resize(f, (w, h)) if (h, w) != (size, size) else f for f in out])[..., ::-1]
        return Generation(np.ascontiguousarray(frames), pair.audio, {"checkpoint": self.path.name,
                                                                     "img_size": str(size)})
