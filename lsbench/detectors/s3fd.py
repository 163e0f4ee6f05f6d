"""S3FD (Zhang et al. 2017) with the module layout of syncnet_python's ``sfd_face.pth``:
the network, prior boxes, box decoding, per-class NMS and ``detect_faces``.

The heads, priors and decoding are vectorised; NMS keeps the official greedy order
(scores sorted with the same torch call, so ties resolve the same way).
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .. import weights
from .base import FaceDetector
from .specs import S3FD

MEAN_RGB = np.array([123.0, 117.0, 104.0], np.float32)
STEPS = (4, 8, 16, 32, 64, 128)
VARIANCE = (0.1, 0.2)


class L2Norm(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight.view(1, -1, 1, 1) * (x / (x.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10))


def _vgg() -> nn.ModuleList:
    layers: list = []
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "C", 512, 512, 512, "M", 512, 512, 512, "M"]
    c_in = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        elif v == "C":
            layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
        else:
            layers += [nn.Conv2d(c_in, v, 3, 1, padding=1), nn.ReLU(inplace=True)]
            c_in = v
    layers += [nn.Conv2d(512, 1024, 3, 1, padding=6, dilation=6), nn.ReLU(inplace=True),
               nn.Conv2d(1024, 1024, 1, 1), nn.ReLU(inplace=True)]
    return nn.ModuleList(layers)


class S3FDNet(nn.Module):
    """Input: (N,3,H,W) RGB minus MEAN_RGB, unscaled. Output of heads(): loc (N,P,4), conf logits (N,P,2)."""

    def __init__(self) -> None:
        super().__init__()
        self.vgg = _vgg()
        self.L2Norm3_3, self.L2Norm4_3, self.L2Norm5_3 = L2Norm(256), L2Norm(512), L2Norm(512)
        self.extras = nn.ModuleList([nn.Conv2d(1024, 256, 1, 1), nn.Conv2d(256, 512, 3, 2, padding=1),
                                     nn.Conv2d(512, 128, 1, 1), nn.Conv2d(128, 256, 3, 2, padding=1)])
        src = (256, 512, 512, 1024, 512, 256)
        self.loc = nn.ModuleList([nn.Conv2d(c, 4, 3, 1, padding=1) for c in src])
        self.conf = nn.ModuleList([nn.Conv2d(c, 4 if i == 0 else 2, 3, 1, padding=1) for i, c in enumerate(src)])

    def heads(self, x: torch.Tensor) -> "tuple[torch.Tensor, torch.Tensor, list]":
        sources = []
        for k, layer in enumerate(self.vgg):
            x = layer(x)
            if k == 15:
                sources.append(self.L2Norm3_3(x))
            elif k == 22:
                sources.append(self.L2Norm4_3(x))
            elif k == 29:
                sources.append(self.L2Norm5_3(x))
        sources.append(x)
        for k, layer in enumerate(self.extras):
            x = F.relu(layer(x))
            if k % 2 == 1:
                sources.append(x)
        locs, confs, sizes = [], [], []
        for i, s in enumerate(sources):
            c = self.conf[i](s)
            if i == 0:  # max-out background over the first three channels
                c = torch.cat([c[:, :3].max(dim=1, keepdim=True)[0], c[:, 3:]], dim=1)
            locs.append(self.loc[i](s).permute(0, 2, 3, 1).flatten(1))
            confs.append(c.permute(0, 2, 3, 1).flatten(1))
            sizes.append(tuple(s.shape[2:]))
        n = x.shape[0]
        return torch.cat(locs, 1).view(n, -1, 4), torch.cat(confs, 1).view(n, -1, 2), sizes


def priors(height: int, width: int, sizes: Sequence[tuple]) -> torch.Tensor:
    """(P, 4) prior boxes (cx, cy, w, h), relative to the input size; head k: stride STEPS[k], box 4*stride."""
    out = []
    for k, (fh, fw) in enumerate(sizes):
        step = STEPS[k]
        i, j = np.meshgrid(np.arange(fh), np.arange(fw), indexing="ij")
        cx = (j.ravel() + 0.5) / (width / step)
        cy = (i.ravel() + 0.5) / (height / step)
        wh = np.broadcast_to([4 * step / width, 4 * step / height], (cx.size, 2))
        out.append(np.column_stack([cx, cy, wh]))
    return torch.from_numpy(np.concatenate(out).astype(np.float32))


def decode(loc: torch.Tensor, pri: torch.Tensor) -> torch.Tensor:
    centre = pri[:, :2] + loc[:, :2] * VARIANCE[0] * pri[:, 2:]
    size = pri[:, 2:] * torch.exp(loc[:, 2:] * VARIANCE[1])
    x1y1 = centre - size / 2
    return torch.cat([x1y1, size + x1y1], 1)


def nms_indices(boxes: torch.Tensor, scores: torch.Tensor, overlap: float, top_k: int) -> List[int]:
    """Greedy NMS over the top_k scores; a box is dropped when IoU > overlap with a kept one."""
    if boxes.numel() == 0:
        return []
    _, order = scores.sort(0)  # ascending, the official call (tie order included)
    order = order[-top_k:].flip(0)
    b = boxes[order]
    x1, y1, x2, y2 = b.unbind(1)
    area = (x2 - x1) * (y2 - y1)
    xx1 = torch.maximum(x1[:, None], x1[None, :])
    yy1 = torch.maximum(y1[:, None], y1[None, :])
    xx2 = torch.minimum(x2[:, None], x2[None, :])
    yy2 = torch.minimum(y2[:, None], y2[None, :])
    inter = (xx2 - xx1).clamp(min=0.0) * (yy2 - yy1).clamp(min=0.0)
    suppress = (inter / ((area[None, :] - inter) + area[:, None])) > overlap
    alive = np.ones(len(order), dtype=bool)
    keep = []
    sup = suppress.numpy()
    for i in range(len(order)):
        if alive[i]:
            keep.append(int(order[i]))
            alive[i + 1 :] &= ~sup[i, i + 1 :]
    return keep


def detections(loc: torch.Tensor, conf_softmax: torch.Tensor, pri: torch.Tensor, top_k: int = 750,
               conf_thresh: float = 0.05, nms_thresh: float = 0.3, nms_top_k: int = 5000) -> torch.Tensor:
    """(N, 2, top_k, 5) rows (score, x1, y1, x2, y2), relative coordinates; class 0 stays zero."""
    n = loc.shape[0]
    out = torch.zeros(n, 2, top_k, 5)
    for i in range(n):
        boxes = decode(loc[i], pri)
        scores = conf_softmax[i, :, 1]
        mask = scores > conf_thresh
        sel_boxes, sel_scores = boxes[mask], scores[mask]
        keep = nms_indices(sel_boxes, sel_scores, nms_thresh, nms_top_k)[:top_k]
        if keep:
            out[i, 1, : len(keep)] = torch.cat([sel_scores[keep, None], sel_boxes[keep]], 1)
    return out


def nms_numpy(dets: np.ndarray, thresh: float) -> np.ndarray:
    """detect_faces' final NMS in float64: IoU = inter / (a_i + a_j - inter), drop IoU > thresh."""
    if len(dets) == 0:
        return np.zeros(0, np.intp)
    x1, y1, x2, y2, s = dets.T
    area = (x2 - x1) * (y2 - y1)
    order = s.argsort()[::-1]
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        order = rest[inter / (area[i] + area[rest] - inter) <= thresh]
    return np.array(keep, np.intp)


def load_s3fd(path: "str | Path | None" = None, device: str = "cpu") -> S3FDNet:
    p = Path(path) if path is not None else weights.path(S3FD)
    return weights.load_into(S3FDNet(), p, "S3FD checkpoint").to(device)


class S3FDDetector(FaceDetector):
    """syncnet_python's detect_faces: per scale resize, network, score > conf_th, final NMS 0.1."""

    name = "s3fd"
    needs_weights = True

    def __init__(self, path: "str | Path | None" = None, device: str = "cpu", conf_th: float = 0.9,
                 scales: Sequence[float] = (0.25,), batch_size: int = 16):
        self.net = load_s3fd(path, device)
        self.batch_size = max(1, int(batch_size))
        self.device = device
        self.conf_th = conf_th
        self.scales = tuple(scales)

    def _input(self, image: np.ndarray, scale: float) -> torch.Tensor:
        """(3, h, w) float32, mean removed, at `scale` (cv2 bilinear, as detect_faces resizes)."""
        import cv2

        scaled = cv2.resize(image, dsize=(0, 0), fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        return torch.from_numpy((scaled.astype(np.float32) - MEAN_RGB).transpose(2, 0, 1).copy())

    @staticmethod
    def _rows(det: torch.Tensor, w: int, h: int, conf_th: float) -> np.ndarray:
        """(K, 5) boxes in pixels + score from one image's (top_k, 5) face rows, read as the official loop reads
        them: in order while score > conf_th."""
        scores = det[:, 0].numpy()
        stop = int(np.argmin(scores > conf_th)) if (scores <= conf_th).any() else len(scores)
        rel = det[:stop, 1:] * torch.tensor([w, h, w, h], dtype=torch.float32)
        return np.column_stack([rel.numpy().astype(np.float64), det[:stop, 0].numpy().astype(np.float64)])

    @staticmethod
    def _merge(rows: List[np.ndarray]) -> "tuple[np.ndarray, np.ndarray]":
        """All scales' rows of one image -> (boxes after detect_faces' final NMS 0.1, rows before it)."""
        pre = np.concatenate(rows) if rows else np.zeros((0, 5))
        return pre[nms_numpy(pre, 0.1)], pre

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        """(N, top_k, 5) face rows for a batch of same-sized inputs."""
        loc, conf, sizes = self.net.heads(batch.to(self.device))
        return detections(loc.cpu(), F.softmax(conf, dim=-1).cpu(), priors(batch.shape[2], batch.shape[3], sizes))[:, 1]

    @torch.inference_mode()
    def detect_one(self, image: np.ndarray, conf_th: Optional[float] = None,
                   scales: Optional[Sequence[float]] = None) -> "tuple[np.ndarray, np.ndarray]":
        """(boxes after NMS, rows before NMS), both (K, 5) float64 in pixels of `image` (RGB uint8)."""
        conf_th = self.conf_th if conf_th is None else conf_th
        h, w = image.shape[:2]
        return self._merge([self._rows(self._forward(self._input(image, s)[None])[0], w, h, conf_th)
                            for s in scales or self.scales])

    @torch.inference_mode()
    def detect(self, frames: Sequence[np.ndarray]) -> List[np.ndarray]:
        """detect_one's boxes for every frame, with the network run on batches of same-sized frames (one call per
        `batch_size` frames instead of one per frame: the GPU stays busy, and the CPU avoids per-call overhead)."""
        rows: List[List[np.ndarray]] = [[] for _ in frames]
        for s in self.scales:
            by_shape: dict = {}
            for i, f in enumerate(frames):
                by_shape.setdefault(f.shape[:2], []).append(i)
            for (h, w), idx in by_shape.items():
                for k in range(0, len(idx), self.batch_size):
                    chunk = idx[k:k + self.batch_size]
                    dets = self._forward(torch.stack([self._input(frames[i], s) for i in chunk]))
                    for i, det in zip(chunk, dets):
                        rows[i].append(self._rows(det, w, h, self.conf_th))
        return [self._merge(r)[0] for r in rows]
