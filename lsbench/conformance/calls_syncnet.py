"""Conformance calls of the `syncnet` pack, through lsbench's loader and scorer."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from ..media import read_wav_int16
from ..syncnet.lse import SyncNetScorer
from ..syncnet.model import load_syncnet


@functools.lru_cache(maxsize=4)
def _net(path: Path):
    return load_syncnet(path)


def _forward(fn_name: str, key: str, out: str):
    def call(inputs, params, ckpt):
        net = _net(ckpt)
        x = torch.from_numpy(np.ascontiguousarray(inputs[key])).float()
        with torch.inference_mode():
            return {out: getattr(net, fn_name)(x).numpy()}

    return call


def lse(inputs, params, ckpt):
    import cv2

    frames_dir = Path(inputs["frames"])
    files = sorted(frames_dir.glob("*.jpg"))
    if not files:
        raise FileNotFoundError(f"{frames_dir}: no .jpg frames")
    frames = np.stack([cv2.imread(str(f)) for f in files])  # BGR, as syncnet_python reads them
    sr, samples = read_wav_int16(inputs["audio"])
    res = SyncNetScorer(_net(ckpt)).score(frames, samples, sr, rgb=False, vshift=int(params.get("vshift", 15)),
                                          keep_features=True)
    return {"offset": np.int64(res.offset), "conf": np.float64(res.lse_c), "min_dist": np.float64(res.lse_d),
            "im_feat": res.im_feat, "cc_feat": res.cc_feat, "dists": res.dists, "mdist": res.mdist,
            "fconf": res.fconf, "fconfm": res.fconfm}


CALLS = {
    "forward_aud": _forward("forward_aud", "audio", "embedding"),
    "forward_lip": _forward("forward_lip", "video", "embedding"),
    "forward_lipfeat": _forward("forward_lipfeat", "video", "features"),
    "lse": lse,
}
