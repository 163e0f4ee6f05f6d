"""LSE-D / LSE-C (syncnet_python semantics).

`lse` is the headline: the full-frame mp4 the official inference writes, scored by the route
the published tables used (lsbench.syncnet.routes): `whole-frame` (Wav2Lip's
calculate_scores_LRS.py: ffmpeg JPEGs of the whole, already face-centred frame resized to 224;
LRS2, LRS3, LRW) or `pipeline` (syncnet_python's run_pipeline.py + calculate_scores_real_videos:
S3FD tracking, crops at scale 0.4; any other video). `crop-lse` is a fast diagnostic on the
evaluation face crops resized to 224, not comparable with published numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional

import numpy as np

from .. import weights as W
from ..audio import to_int16
from ..errors import Failure, WeightsError
from .base import CropMetric, Undefined, VideoMetric

ROUTES = ("whole-frame", "pipeline")


def _scorer(device: str):
    from ..syncnet.lse import SyncNetScorer
    from ..syncnet.model import load_syncnet
    from ..syncnet.specs import SYNCNET

    try:
        return SyncNetScorer(load_syncnet(device=device), device=device), {"syncnet": W.provenance(SYNCNET)}
    except WeightsError as exc:
        raise Failure(str(exc), "unavailable") from None


class LSEMetric(VideoMetric):
    name = "lse"

    def __init__(self, device: str = "cpu"):
        self.device = device
        self.scorer, self._prov = _scorer(device)
        self._detector = None

    def detector(self):
        """The pipeline route's face detector: S3FD with run_pipeline.py's settings when its weights are
        present; else lsbench's weight-free dlib detector, recorded as such (not the official route)."""
        if self._detector is None:
            from .. import weights as W
            from ..detectors.specs import S3FD
            from ..syncnet.routes_pipeline import default_detector

            if W.find(S3FD) is not None:
                self._detector = default_detector(self.device)
                self._prov["s3fd"] = W.provenance(S3FD)
            else:
                from ..detectors import create

                self._detector = create("dlib")
        return self._detector

    def settings(self) -> Dict[str, object]:
        out: Dict[str, object] = {"vshift": 15, "routes": {
            "whole-frame": "Wav2Lip evaluation/scores_LSE/calculate_scores_LRS.py: ffmpeg -f image2 JPEGs (default "
                           "quality), cv2.imread + cv2.resize to 224x224, audio ffmpeg -async 1 -ac 1 -ar 16000; "
                           "the split's figure is the plain mean over videos",
            "pipeline": "syncnet_python run_pipeline.py (25 fps AVI, JPEGs, S3FD at scale 0.25 conf 0.9, scene "
                        "detection, tracks > 100 detections, crops at scale 0.4 as XVID AVI) + Wav2Lip "
                        "calculate_scores_real_videos.py on each track; a video's figure: the mean of its tracks' "
                        "LSE-C and LSE-D, the longest track's offset"}}
        if self._detector is not None:
            out["pipeline_detector"] = getattr(self._detector, "name", type(self._detector).__name__)
        return out

    def compute_video(self, video: Path, route: str) -> Dict[str, float]:
        from ..syncnet import routes

        res = routes.score_route(route, video, self.scorer, self.detector() if route == routes.PIPELINE else None)
        if not res.ok:
            none = Undefined(f"{res.status}: {res.reason}")
            return {"lse_d": none, "lse_c": none, "lse_offset": none, "lse_offset_abs": none}
        return {"lse_d": float(res.lse_d), "lse_c": float(res.lse_c), "lse_offset": float(res.offset),
                "lse_offset_abs": float(abs(res.offset))}

    def provenance(self) -> Dict[str, dict]:
        return dict(self._prov)


class CropLSE(CropMetric):
    name = "crop-lse"

    def __init__(self, device: str = "cpu"):
        self.scorer, self._prov = _scorer(device)

    def settings(self) -> Dict[str, object]:
        return {"input": "the evaluation face crops resized to 224x224 (no JPEG step); a diagnostic, not the "
                         "published route", "vshift": 15}

    def compute(self, frames: np.ndarray, audio: np.ndarray, ground_truth: Optional[np.ndarray]) -> Dict[str, float]:
        from ..syncnet.lse import ClipTooShort

        try:
            r = self.scorer.score(frames, to_int16(audio))
        except ClipTooShort as exc:
            none = Undefined(f"too_short: {exc}")
            return {"crop_lse_d": none, "crop_lse_c": none, "crop_lse_offset": none, "crop_lse_offset_abs": none}
        return {"crop_lse_d": r.lse_d, "crop_lse_c": r.lse_c, "crop_lse_offset": float(r.offset),
                "crop_lse_offset_abs": float(abs(r.offset))}

    def provenance(self) -> Dict[str, dict]:
        return self._prov
