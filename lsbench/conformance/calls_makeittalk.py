"""Conformance calls of the `makeittalk` pack, through lsbench's loaders (ported modules only)."""

from __future__ import annotations

import numpy as np
import torch

from ..models.makeittalk_net import load_autovc, load_content_branch, load_i2i, load_speaker_branch


def _t(a) -> torch.Tensor:
    return torch.from_numpy(np.asarray(a, np.float32))


def content_branch(inputs, params, ckpt):
    net = load_content_branch(ckpt)
    with torch.inference_mode():
        return {"fl_pred": net(_t(inputs["au"]), _t(inputs["face_id"])).numpy()}


def speaker_branch(inputs, params, ckpt):
    net = load_speaker_branch(ckpt)
    with torch.inference_mode():
        fl, spk = net(*(_t(inputs[k]) for k in ("au", "emb", "face_id", "fls", "z")))
    return {"fl_pred": fl.numpy(), "spk_encode": spk.numpy()}


def i2i(inputs, params, ckpt):
    net = load_i2i(ckpt)
    with torch.inference_mode():
        return {"raw": net(torch.from_numpy(np.asarray(inputs["image"]) / 255.0).float()).numpy()}


def autovc(inputs, params, ckpt):
    net = load_autovc(ckpt)
    with torch.inference_mode():
        mel, post, codes = net(*(_t(inputs[k]) for k in ("mel", "emb_org", "f0", "emb_trg")))
    return {"mel_outputs": mel.numpy(), "mel_outputs_postnet": post.numpy(), "codes": codes.numpy()}


def speaker_embedding(inputs, params, ckpt):
    from ..models.makeittalk_audio import speaker_embedding as embed

    return {"embedding": embed(inputs["wav"])}


def autovc_features(inputs, params, ckpt):
    import tempfile
    from pathlib import Path

    import soundfile as sf

    from ..models import makeittalk_audio as A

    x = A.normalise_loudness(inputs["wav"])
    mel, f0 = A.autovc_features(x)
    with tempfile.TemporaryDirectory() as tmp:  # the official code embeds the normalised file
        p = Path(tmp) / "normalised.wav"
        sf.write(str(p), x, A.SR, subtype="PCM_16")
        emb = A.speaker_embedding(p)
    return {"wav_normalized": x.astype(np.float32), "mel": mel.astype(np.float32), "f0_norm": f0.astype(np.float32),
            "f0_onehot_index": A.f0_onehot_index(f0), "speaker_embedding": emb}


def audio_to_landmarks(inputs, params, ckpt):
    from ..models.makeittalk_chain import LandmarkChain

    chain = LandmarkChain(load_autovc(ckpt[0]), load_content_branch(ckpt[1]), load_speaker_branch(ckpt[2]))
    mel, content, speaker = chain.run(inputs["wav"], inputs["face_id"], inputs["emb_trg"])
    return {"mel_converted": mel, "content_fl_pred": content, "speaker_fl_pred": speaker}


CALLS = {"audio_to_landmarks": audio_to_landmarks, "speaker_embedding": speaker_embedding, "autovc_features": autovc_features, "autovc": autovc, "content_branch": content_branch, "speaker_branch": speaker_branch, "i2i": i2i}
