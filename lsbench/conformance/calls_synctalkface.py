"""Conformance calls of the `synctalkface` pack, through lsbench's loaders."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from ..audio import wav2lip_mel
from ..media import read_wav_int16
from ..models import synctalkface_data as D
from ..models.synctalkface_net import load_stf_syncnet, load_synctalkface


@functools.lru_cache(maxsize=2)
def _nets(path: Path):
    return load_synctalkface(path)


def mel(inputs, params, ckpt):
    sr, x = read_wav_int16(inputs["wav"])
    return {"mel": wav2lip_mel(x.astype(np.float32) / 32768.0, sr)}


def generator(inputs, params, ckpt):
    enc, dec, _ = _nets(ckpt)
    x = D.generator_input(inputs["target"], inputs["reference"])
    mels = torch.from_numpy(np.asarray(inputs["indiv_mels"], np.float32))
    with torch.inference_mode():
        te, _, feats, _, _, key_add, _, _ = enc(mels, x, None, inference=True)
        pre = dec(te, feats, pre_tanh=True)
    return {"image": torch.tanh(pre).numpy(), "pre_tanh": pre.numpy(), "key_address": key_add.numpy()}


def train_forward(inputs, params, ckpt):
    enc, dec, disc = _nets(ckpt[0])
    sync = load_stf_syncnet(ckpt[1])
    batch = D.training_batch(inputs["window"], inputs["reference"], inputs["mel_full"], int(inputs["start_frame_id"]))
    with torch.inference_mode():
        te, tr, feats, recon, add, key_add, value_add, centre = enc(batch.indiv_mels, batch.x, batch.lips,
                                                                    inference=False)
        g_te, g_tr = dec(te, feats), dec(tr, feats)
        a, v = sync(batch.mel, sync.sync_inputs((g_te + 1) / 2))
        cos = torch.nn.functional.cosine_similarity(a, v)
        out = {"mel": batch.mel, "indiv_mels": batch.indiv_mels, "te_fusion": te, "tr_fusion": tr,
               "mem_recon_loss": recon, "mem_add_loss": add, "key_address": key_add, "value_address": value_add,
               "lip_embedding_center": centre, "face_feat_last": feats[-1], "g_te": g_te, "g_tr": g_tr,
               "disc_pred_g_te": disc(g_te), "sync_audio_emb": a, "sync_face_emb": v, "sync_cosine": cos}
    return {k: v.numpy() for k, v in out.items()}


CALLS = {"mel": mel, "generator": generator, "train_forward": train_forward}
