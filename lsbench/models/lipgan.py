"""LipGAN (Prajwal/KR et al. 2019) behind the one model interface, from the official Keras .h5.

Per frame: a 96x96 BGR identity face (the protocol's reference frame) next to the target
with its lower half zeroed, and the audio chunk of that frame (master: 12x35 MATLAB MFCC;
fully_pythonic: 80x27 mel), as batch_inference.py feeds them. The variant is read from
the file (its audio encoder's first kernel).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional

import numpy as np

from .. import weights as W
from ..device import batch_size_for
from ..weight_sources import drive_file, drive_folder
from ..weights import WeightSpec
from . import lipgan_audio
from .face_crop import FaceCropModel

_DRIVE_ID = "1ZTIt0XII4ZPulMNZbq2yg0x7zQBG6n9e"
_README = "LipGAN README, master at 0152a563"
WEIGHTS = [
    # LipGAN's README (master, commit 0152a563) links https://drive.google.com/open?id=1ZTIt0XII4ZPulMNZbq2yg0x7zQBG6n9e
    # ("download checkpoints ... into logs/"): an `open?id=` link is a file or a folder, so both are tried
    WeightSpec("lipgan", "lipgan_residual_mfcc.h5", "https://github.com/Rudrabha/LipGAN#getting-the-weights",
               None, None, "lipgan", note="sha-256 not published; pinned in the lock file on first download",
               loader="lsbench.models.lipgan_net:generator_variant", procedural="lipgan/master_generator",
               sources=(drive_file(_DRIVE_ID, _README), drive_folder(_DRIVE_ID, "lipgan_residual_mfcc.h5", _README))),
]

BYTES_PER_ITEM = 64 << 20  # peak RSS growth measured on CPU: ~58 MB per item at batch 32 (float32)


class LipGAN(FaceCropModel):
    name = "lipgan"
    face_size = 96
    needs = ("reference", "pose_prior")
    audio_features = "master: MATLAB MFCC 12x35 per frame; fully_pythonic: Wav2Lip mel 80x27 per frame"

    def __init__(self, device: str = "cpu", weights_path: "str | Path | None" = None, batch_size: Optional[int] = None,
                 variant: str = "auto"):
        from .lipgan_net import load_generator

        super().__init__(device)
        self.spec = WEIGHTS[0]
        self.path = Path(weights_path) if weights_path else W.path(self.spec)
        self.net, self.variant = load_generator(self.path, variant, device)
        self.batch_size = batch_size or batch_size_for(device, BYTES_PER_ITEM)

    def provenance(self) -> Dict[str, dict]:
        return {self.spec.name: {**W.provenance(self.spec, self.path), "variant": self.variant}}

    def notes(self) -> Dict[str, str]:
        return {"variant": self.variant}

    def faces(self, target_bgr: np.ndarray, reference_bgr: np.ndarray, audio: np.ndarray, fps: float) -> np.ndarray:
        import torch

        from .lipgan_net import audio_input, generator_input, nhwc

        chunks = lipgan_audio.chunks_for_frames(lipgan_audio.features(audio, self.variant), self.variant,
                                                len(target_bgr), fps)
        out = np.empty_like(target_bgr)
        with torch.inference_mode():
            for i in range(0, len(target_bgr), self.batch_size):
                sl = slice(i, i + self.batch_size)
                ref = reference_bgr if reference_bgr.ndim == 3 else reference_bgr[sl]
                (img,) = self.net(generator_input(target_bgr[sl], ref).to(self.device),
                                  audio_input(chunks[sl]).to(self.device))
                out[sl] = (nhwc(img) * 255.0).astype(np.uint8)
        return out
