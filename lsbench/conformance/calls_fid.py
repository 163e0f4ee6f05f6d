"""Conformance calls of the `fid` pack, through lsbench's loader and FID code."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ..fid import (PYTORCH_FID, Conventions, features, fid_from_activations, frechet_distance, load_inception,
                   statistics)
from ..fid.folders import score_folders

# Tests swap this for a deliberately wrong variant (eps, blocks, resize) and expect failures.
CONVENTIONS: Conventions = PYTORCH_FID


@functools.lru_cache(maxsize=4)
def _net(path: Path, conventions: Conventions):
    return load_inception(path, conventions=conventions)


def _features(inputs, params, ckpt):
    net = _net(ckpt, CONVENTIONS)
    return {"pool3": features(net, np.asarray(inputs["images"]), int(params.get("batch_size", 50)))}


def _statistics(inputs, params, ckpt):
    mu, sigma = statistics(inputs["activations"])
    return {"mu": mu, "sigma": sigma}


def _frechet(inputs, params, ckpt):
    return {"fid": np.float64(frechet_distance(inputs["mu1"], inputs["sigma1"], inputs["mu2"], inputs["sigma2"]))}


def _frechet_from_activations(inputs, params, ckpt):
    return {"fid": np.float64(fid_from_activations(inputs["act1"], inputs["act2"]))}


def _score_folders(inputs, params, ckpt):
    net = _net(ckpt, CONVENTIONS)
    fid = score_folders(inputs["folder_a"], inputs["folder_b"], int(params.get("batch_size", 50)), net=net)
    return {"fid": np.float64(fid)}


CALLS = {
    "features": _features,
    "statistics": _statistics,
    "frechet_distance": _frechet,
    "frechet_from_activations": _frechet_from_activations,
    "score_folders": _score_folders,
}
