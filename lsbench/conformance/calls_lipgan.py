"""Conformance calls of the `lipgan` pack, through lsbench's Keras .h5 loader."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from ..media import read_wav_int16
from ..models import lipgan_audio as A
from ..models.lipgan_net import audio_input, generator_input, load_discriminator, load_generator, nhwc


@functools.lru_cache(maxsize=4)
def _gen(path: Path, variant: str):
    return load_generator(path, variant)[0]


def generator(inputs, params, ckpt):
    net = _gen(ckpt, params["variant"])
    with torch.inference_mode():
        image, logits = net(generator_input(np.asarray(inputs["face"])), audio_input(inputs["audio"]), taps=["logits"])
    return {"image": nhwc(image), "logits": nhwc(logits)}


def discriminator(inputs, params, ckpt):
    net, _ = load_discriminator(ckpt, params["variant"])
    face = torch.from_numpy(np.ascontiguousarray(np.asarray(inputs["face"], np.float32).transpose(0, 3, 1, 2)) / 255.0)
    with torch.inference_mode():
        (d,) = net(face, audio_input(inputs["audio"]))
    return {"d": d.numpy()}


def _wav(path):
    sr, x = read_wav_int16(path)
    if sr != A.SR:
        raise ValueError(f"{path}: expected {A.SR} Hz, got {sr}")
    return x


def mfcc(inputs, params, ckpt):
    feats = A.master_mfcc(_wav(inputs["wav"]))
    return {"mfcc": feats, "chunk_starts": A.master_chunk_starts(feats.shape[1], float(params.get("fps", 25)))}


def mel(inputs, params, ckpt):
    feats = A.features(_wav(inputs["wav"]).astype(np.float32) / 32768.0, "pythonic")
    return {"mel": feats, "chunk_starts": A.pythonic_chunk_starts(feats.shape[1], float(params.get("fps", 25)))}


CALLS = {"generator": generator, "discriminator": discriminator, "mfcc": mfcc, "mel": mel}
