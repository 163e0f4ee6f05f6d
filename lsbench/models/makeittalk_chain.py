"""MakeItTalk's audio -> landmark chain (main_end2end.py): AutoVC re-voices the utterance to
the demo's target speaker, the mel is standardised with the statistics file the authors
ship, cut into windows of 18 frames, and both landmark branches predict from them.

`data/makeittalk_autovc_mel_mean_std.txt` is src/dataset/utils/MEAN_STD_AUTOVC_RETRAIN_MEL_AU.txt
(80 means, then 80 standard deviations); with CRLF line endings its sha-256 is the official
file's Git LFS oid 7fa8020abbc2aa18b56214e825b9f696ec6f1c369f89ce0bd0bfed4e56e85d9b.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import makeittalk_audio as A

WINDOW = 18
STATS = Path(__file__).parent / "data" / "makeittalk_autovc_mel_mean_std.txt"


def mel_stats() -> "tuple[np.ndarray, np.ndarray]":
    v = np.loadtxt(STATS)
    return v[:80], v[80:]


@dataclass
class LandmarkChain:
    autovc: torch.nn.Module
    content: torch.nn.Module
    speaker: torch.nn.Module

    def convert(self, mel: np.ndarray, f0_onehot: np.ndarray, emb_org: np.ndarray, emb_trg: np.ndarray) -> np.ndarray:
        """AutoVC postnet output for (T,80) mel, in chunks of 4096 frames zero-padded to a multiple of 32."""
        outs = []
        for i in range(0, len(mel), 4096):
            x, f = mel[i:i + 4096], f0_onehot[i:i + 4096]
            pad = int(32 * math.ceil(len(x) / 32)) - len(x)
            t = lambda a: torch.from_numpy(np.pad(a, ((0, pad), (0, 0))).astype(np.float32)[None])  # noqa: E731
            with torch.inference_mode():
                _, post, _ = self.autovc(t(x), torch.from_numpy(emb_org[None].astype(np.float32)), t(f),
                                         torch.from_numpy(np.asarray(emb_trg, np.float32).reshape(1, -1)))
            outs.append(post[0, : len(x)].numpy())
        return np.concatenate(outs)

    def landmarks(self, mel_converted: np.ndarray, face_id: np.ndarray, speaker_emb: np.ndarray):
        """(content, speaker) displacement predictions, one per window of 18 frames (T-18 of them).
        The speaker branch attends across all windows: they are one sequence, never split."""
        mean, std = mel_stats()
        au = ((mel_converted - mean) / std).astype(np.float32)
        n = len(au) - WINDOW
        if n < 1:
            raise ValueError(f"audio too short for MakeItTalk: {len(au)} AutoVC frames, need more than {WINDOW}")
        windows = torch.from_numpy(np.stack([au[i:i + WINDOW] for i in range(n)]))
        face = torch.from_numpy(np.asarray(face_id, np.float32).reshape(1, -1))
        emb = torch.from_numpy(np.repeat(3.0 * np.asarray(speaker_emb, np.float32)[None], n, axis=0))
        with torch.inference_mode():
            content = self.content(windows, face)
            speaker, _ = self.speaker(windows, emb, face.repeat(n, 1), torch.zeros(n, 204), torch.zeros(n, 128))
        return content.numpy(), speaker.numpy()

    def run(self, wav_path: "str | Path", face_id: np.ndarray, emb_trg: np.ndarray):
        """wav -> (mel_converted (T,80), content (T-18,204), speaker (T-18,204))."""
        import soundfile as sf

        x = A.normalise_loudness(wav_path)
        mel, f0 = A.autovc_features(x)
        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp) / "normalised.wav"
            sf.write(str(p), x, A.SR, subtype="PCM_16")
            emb_org = A.speaker_embedding(p)
        converted = self.convert(mel, A.f0_onehot(f0), emb_org, emb_trg)
        content, speaker = self.landmarks(converted, face_id, A.speaker_embedding(wav_path))
        return converted, content, speaker
