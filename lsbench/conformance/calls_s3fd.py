"""Conformance calls of the `s3fd` pack."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..detectors.s3fd import S3FDDetector, detections, priors


@functools.lru_cache(maxsize=2)
def _detector(path: Path) -> S3FDDetector:
    return S3FDDetector(path)


def forward(inputs, params, ckpt):
    net = _detector(ckpt).net
    x = torch.from_numpy(np.ascontiguousarray(inputs["x"])).float()
    with torch.inference_mode():
        loc, conf, sizes = net.heads(x)
        soft = F.softmax(conf, dim=-1)
        pri = priors(x.shape[2], x.shape[3], sizes)
        det = detections(loc, soft, pri)
    return {"loc": loc.numpy(), "conf_logits": conf.numpy(), "conf_softmax": soft.numpy(),
            "priors": pri.numpy(), "detections": det.numpy()}


def detect(inputs, params, ckpt):
    import cv2

    bgr = cv2.imread(str(inputs["image"]))
    if bgr is None:
        raise FileNotFoundError(f"{inputs['image']}: cannot read image")
    boxes, pre = _detector(ckpt).detect_one(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), conf_th=float(params["conf_th"]),
                                            scales=[float(s) for s in params["scales"]])
    return {"boxes": boxes, "pre_nms": pre}


CALLS = {"forward": forward, "detect": detect}
