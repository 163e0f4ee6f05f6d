"""Conformance calls of the `makeittalk` pack, through lsbench's loaders (ported modules only)."""

from __future__ import annotations

import numpy as np
import torch

from ..models.makeittalk_net import (AutoVC, Audio2LandmarkContent, Audio2LandmarkSpeaker, ResUnetGenerator,
                                     load_container)


def _t(a) -> torch.Tensor:
    return torch.from_numpy(np.asarray(a, np.float32))


def content_branch(inputs, params, ckpt):
    net = load_container(ckpt, "model_g_face_id", Audio2LandmarkContent(), "MakeItTalk content branch checkpoint")
    with torch.inference_mode():
        return {"fl_pred": net(_t(inputs["au"]), _t(inputs["face_id"])).numpy()}


def speaker_branch(inputs, params, ckpt):
    net = load_container(ckpt, "G", Audio2LandmarkSpeaker(), "MakeItTalk speaker branch checkpoint", "comb_mlp")
    with torch.inference_mode():
        fl, spk = net(*(_t(inputs[k]) for k in ("au", "emb", "face_id", "fls", "z")))
    return {"fl_pred": fl.numpy(), "spk_encode": spk.numpy()}


def i2i(inputs, params, ckpt):
    net = load_container(ckpt, "G", ResUnetGenerator(), "MakeItTalk image translator checkpoint")
    with torch.inference_mode():
        return {"raw": net(torch.from_numpy(np.asarray(inputs["image"]) / 255.0).float()).numpy()}


def autovc(inputs, params, ckpt):
    net = load_container(ckpt, "model", AutoVC(), "MakeItTalk AutoVC checkpoint")
    with torch.inference_mode():
        mel, post, codes = net(*(_t(inputs[k]) for k in ("mel", "emb_org", "f0", "emb_trg")))
    return {"mel_outputs": mel.numpy(), "mel_outputs_postnet": post.numpy(), "codes": codes.numpy()}


CALLS = {"autovc": autovc, "content_branch": content_branch, "speaker_branch": speaker_branch, "i2i": i2i}
