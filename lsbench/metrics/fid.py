"""FID (pytorch-fid 0.3.0's numbers, lsbench.fid) as a column of `evaluate`.

A set statistic: there is no per-clip FID. Each scored pair contributes the pool3
activations (2048 floats per frame) of its generated evaluation crops and of the real crops
of the same frames; they are kept beside the resumable rows, and the split's FID is the
Frechet distance between the two pooled sets. An interval comes only from a bootstrap over
clips (`--fid-bootstrap N`, each resample draws clips with replacement and keeps each clip's
generated and real frames together; each resample's distance uses the SVD form of the trace
term, which avoids a 2048x2048 matrix square root); by default none is shown.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Dict, List

import numpy as np

from ..errors import Failure, WeightsError
from ..fid.specs import WEIGHTS
from .base import SetMetric


class FID(SetMetric):
    name = "fid"
    contribution_key = "fid_activations"

    def __init__(self, device: str = "cpu", batch_size: int = 50):
        from .. import weights as W
        from ..fid import load_inception

        try:
            self.path = W.path(WEIGHTS[0])
        except WeightsError as exc:
            raise Failure(str(exc), "unavailable") from None
        self.net = load_inception(self.path, device)
        self.device, self.batch_size = device, batch_size
        self._recent: "OrderedDict[str, np.ndarray]" = OrderedDict()

    def settings(self) -> Dict[str, object]:
        return {"implementation": "pytorch-fid 0.3.0 (FID Inception pool3, 2048-d; bilinear resize to 299, "
                                  "align_corners=False; Frechet distance with scipy sqrtm, eps 1e-6)",
                "frames": "every scored frame"}

    def activations(self, crops: np.ndarray) -> np.ndarray:
        """(T,2048) float64 pool3 activations of uint8 RGB crops. Identical crop arrays (the real
        crops of a ground-truth row and its 'generated' ones) are computed once."""
        from ..fid import features

        key = hashlib.sha256(np.ascontiguousarray(crops).tobytes() + str(crops.shape).encode()).hexdigest()
        if key not in self._recent:
            self._recent[key] = features(self.net, crops, batch_size=self.batch_size, device=self.device)
            while len(self._recent) > 4:
                self._recent.popitem(last=False)
        return self._recent[key]

    def contribution(self, generated: np.ndarray, real: np.ndarray) -> Dict[str, np.ndarray]:
        return {"generated": self.activations(generated), "real": self.activations(real)}

    def aggregate(self, contributions: List[Dict[str, np.ndarray]], bootstrap: int, seed: int) -> Dict[str, dict]:
        return {"fid": fid_aggregate([c["generated"] for c in contributions], [c["real"] for c in contributions],
                                     bootstrap, seed)}

    def provenance(self) -> Dict[str, dict]:
        from .. import weights as W

        return {WEIGHTS[0].name: W.provenance(WEIGHTS[0], self.path)}


def fid_aggregate(generated: List[np.ndarray], real: List[np.ndarray], bootstrap: int = 0,
                  seed: int = 0) -> Dict[str, object]:
    """The split's FID from per-clip activations, with a bootstrap interval over clips when asked."""
    from ..fid import fid_from_activations, fid_from_activations_svd

    n_clips = len(generated)
    gen = np.concatenate(generated) if generated else np.zeros((0, 2048))
    ref = np.concatenate(real) if real else np.zeros((0, 2048))
    out: Dict[str, object] = {"n": n_clips, "frames_generated": int(len(gen)), "frames_real": int(len(ref)),
                              "n_nonfinite": 0, "n_undefined": 0, "ci95": None}
    if len(gen) < 2 or len(ref) < 2:
        return {**out, "mean": None, "n_undefined": n_clips, "undefined_reasons": {"fewer than 2 frames": n_clips},
                "interval": "none: FID needs at least 2 frames on each side"}
    out["mean"] = float(fid_from_activations(gen, ref))
    if bootstrap <= 0 or n_clips < 2:
        why = "fewer than 2 clips" if n_clips < 2 else "bootstrap off (--fid-bootstrap N)"
        return {**out, "interval": f"none: FID is a set statistic with no per-clip value; {why}"}
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(bootstrap):
        pick = rng.integers(0, n_clips, n_clips)
        vals.append(fid_from_activations_svd(np.concatenate([generated[i] for i in pick]),
                                             np.concatenate([real[i] for i in pick])))
    out["ci95"] = [float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))]
    out["interval"] = (f"95% percentile bootstrap over clips, {bootstrap} resamples (each resample's distance by "
                       f"the SVD form of the trace term, within 2e-5 of pytorch-fid's sqrtm)")
    return out
