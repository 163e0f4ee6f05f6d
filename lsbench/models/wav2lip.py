"""Wav2Lip (Prajwal et al. 2020) behind the one model interface.

What the official inference.py does per frame, kept: 96x96 BGR faces, the target's lower
half zeroed as the pose prior next to a reference face, the mel window of 16 columns that
starts at int(80 * i / fps) (the last windows clamped to the end), a sigmoid output scaled
by 255 and truncated to uint8. Full-frame use (``paste_back``) smooths the face boxes over
5 frames as inference.py does before cropping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional

import numpy as np

from .. import weights as W
from ..audio import mel_windows, wav2lip_mel
from ..device import batch_size_for
from ..weight_sources import drive_file, drive_folder
from ..weights import WeightSpec
from .face_crop import FACE, FaceCropModel

# Where the authors publish the files today. Their IIIT SharePoint links (download.aspx?SourceUrl=...
# Wav2Lip_Models/wav2lip.pth, wav2lip_gan.pth, lipsync_expert.pth) answer 404 since 2025 (Wav2Lip issues #739,
# #748, #752); the README then moved to Google Drive: folder 153HLrqlBNxzZcHi17PEvP09kkAfzRshM for Wav2Lip,
# file 15G3U08c8xsCkOqQxE38Z2XXDnPcOptNk for Wav2Lip + GAN and the checkpoints folder
# 1I-0dNLfFOSFwrfqjNa-SXuwaURHE5K4k. (The README.md copy read for this, commit 29525604, predates the move;
# the ids are those the current README and the issues above give.) What each link holds is checked on download:
# the file must load through lsbench's loader before its sha-256 is pinned.
_PAGE = "https://github.com/Rudrabha/Wav2Lip#getting-the-weights"
_README = "Wav2Lip README, Google Drive links since 2025"
_CHECKPOINTS = "1I-0dNLfFOSFwrfqjNa-SXuwaURHE5K4k"
_UNPUBLISHED = "sha-256 not published; pinned in the lock file on first download"

_GENERATOR = "lsbench.models.wav2lip_net:load_generator"
WEIGHTS = [
    WeightSpec("wav2lip", "wav2lip.pth", _PAGE, None, None, "wav2lip", note=_UNPUBLISHED,
               loader=_GENERATOR, procedural="wav2lip/wav2lip",
               sources=(drive_folder("153HLrqlBNxzZcHi17PEvP09kkAfzRshM", "wav2lip.pth", _README),
                        drive_folder(_CHECKPOINTS, "wav2lip.pth", _README))),
    # wav2lip_gan.pth has wav2lip.pth's format and layers (only the trained values differ): the pack pins one
    WeightSpec("wav2lip_gan", "wav2lip_gan.pth", _PAGE, None, None, "wav2lip", note=_UNPUBLISHED,
               loader=_GENERATOR, procedural="wav2lip/wav2lip",
               sources=(drive_file("15G3U08c8xsCkOqQxE38Z2XXDnPcOptNk", _README),
                        drive_folder(_CHECKPOINTS, "wav2lip_gan.pth", _README))),
    WeightSpec("lipsync_expert", "lipsync_expert.pth", _PAGE, None, None, "wav2lip",
               note=_UNPUBLISHED, loader="lsbench.models.wav2lip_net:load_expert", procedural="wav2lip_expert/expert",
               sources=(drive_folder(_CHECKPOINTS, "lipsync_expert.pth", _README),)),
]

BYTES_PER_ITEM = 8 << 20  # peak RSS growth measured on CPU: ~6 MB per item at batch 32 (float32)


def generator_input(target_bgr: np.ndarray, reference_bgr: np.ndarray) -> np.ndarray:
    """(T,6,96,96) float32 in [0,1]: the target with rows 48.. zeroed, then the reference."""
    masked = target_bgr.copy()
    masked[:, FACE // 2:] = 0
    ref = np.broadcast_to(reference_bgr, target_bgr.shape)
    x = np.concatenate([masked, ref], axis=3) / 255.0
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)).astype(np.float32)


class Wav2Lip(FaceCropModel):
    name = "wav2lip"
    face_size = FACE
    needs = ("reference", "pose_prior")
    audio_features = "Wav2Lip mel (80 bands, 80/s), 16-column window per frame"
    checkpoint = "wav2lip"

    def __init__(self, device: str = "cpu", weights_path: "str | Path | None" = None, batch_size: Optional[int] = None):
        from .wav2lip_net import load_generator

        super().__init__(device)
        self.spec = W.spec(self.checkpoint)
        self.path = Path(weights_path) if weights_path else W.path(self.spec)
        self.net = load_generator(self.path, device)
        self.batch_size = batch_size or batch_size_for(device, BYTES_PER_ITEM)

    def provenance(self) -> Dict[str, dict]:
        return {self.spec.name: W.provenance(self.spec, self.path)}

    def faces(self, target_bgr: np.ndarray, reference_bgr: np.ndarray, audio: np.ndarray, fps: float) -> np.ndarray:
        """96x96 BGR uint8 faces, one per target frame, driven by 16 kHz `audio`."""
        import torch

        mels = mel_windows(wav2lip_mel(audio), len(target_bgr), fps)[:, None]
        x = generator_input(target_bgr, reference_bgr)
        out = np.empty((len(x), FACE, FACE, 3), np.uint8)
        with torch.inference_mode():
            for i in range(0, len(x), self.batch_size):
                face = torch.from_numpy(x[i:i + self.batch_size]).to(self.device)
                mel = torch.from_numpy(mels[i:i + self.batch_size]).to(self.device)
                pred = self.net(mel, face).cpu().numpy().transpose(0, 2, 3, 1) * 255.0
                out[i:i + len(pred)] = pred.astype(np.uint8)  # truncation, as inference.py casts
        return out

class Wav2LipGAN(Wav2Lip):
    """The same generator trained with the visual-quality discriminator (wav2lip_gan.pth)."""

    name = "wav2lip-gan"
    checkpoint = "wav2lip_gan"


