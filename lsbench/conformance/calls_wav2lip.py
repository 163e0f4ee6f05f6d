"""Conformance calls of the `wav2lip` and `wav2lip_expert` packs, through lsbench's loaders."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from ..models.wav2lip_net import load_expert, load_generator


@functools.lru_cache(maxsize=2)
def _generator(path: Path):
    return load_generator(path)


def _faces(u8: np.ndarray) -> torch.Tensor:
    # inference.py divides in float64, then the tensor is cast to float32
    return torch.from_numpy((np.asarray(u8) / 255.0).astype(np.float32))


def generator(inputs, params, ckpt):
    net = _generator(ckpt)
    mel = torch.from_numpy(np.asarray(inputs["mel"], np.float32))
    face = _faces(inputs["face"])
    with torch.inference_mode():
        if face.dim() == 4:
            logits, audio = net.forward_2d(mel, face)
            return {"image": torch.sigmoid(logits).numpy(), "logits": logits.numpy(),
                    "audio_embedding": audio.numpy()}
        logits = net.logits(mel, face)
        return {"image": torch.sigmoid(logits).numpy(), "logits": logits.numpy()}


def expert(inputs, params, ckpt):
    net = load_expert(ckpt)
    mel = torch.from_numpy(np.asarray(inputs["mel"], np.float32))
    with torch.inference_mode():
        a, v = net(mel, _faces(inputs["face"]))
        cos, loss = net.sync_loss(a, v)
    return {"audio_embedding": a.numpy(), "face_embedding": v.numpy(), "cosine_similarity": cos.numpy(),
            "cosine_loss": loss.numpy()}


CALLS = {"generator": generator, "expert": expert}
