"""The two official LSE routes, as functions of a video file.

Published LSE numbers are not computed on lsbench's shard crops but on the generated video, by
one of two scripts. Each route below runs the same ffmpeg commands those scripts run, reads the
same pixels and samples the same way, and scores them with lsbench's SyncNetScorer (equal to
syncnet_python's evaluate within the `syncnet` pack's tolerances).

* ``whole-frame`` -- Wav2Lip's ``calculate_scores_LRS.py`` with ``SyncNetInstance_calc_scores.py``
  (the LRS2 / LRS3 / LRW tables). The video goes to JPEG frames with
  ``ffmpeg -y -i V -threads 1 -f image2 %06d.jpg`` (ffmpeg's default JPEG quality), each frame is
  ``cv2.imread`` (BGR) and ``cv2.resize``d to 224x224 (bilinear), the audio is
  ``ffmpeg -y -i V -async 1 -ac 1 -vn -acodec pcm_s16le -ar 16000``, MFCC are
  python_speech_features' defaults on the raw int16 samples. Windows: ``min(frames,
  floor(samples / 640)) - 5``, exactly SyncNetScorer's count (``audio.syncnet_num_windows``);
  vshift 15. The script's batch of 20 windows does not change a number (eval-mode BatchNorm).
  The script assumes 25 fps and resamples nothing; neither does this route (lsbench writes 25 fps).
  The split's figure is the plain mean over videos, as the script prints it.
* ``pipeline`` -- syncnet_python's ``run_pipeline.py`` then Wav2Lip's
  ``calculate_scores_real_videos.py`` (the "real videos" tables); see ``routes_pipeline``.

Results are RouteScore rows (lsbench.syncnet.route_steps). Bad input (a file that cannot be read,
no audio, no face track, too few frames) is a status with its reason and numbers, never an
exception; a missing or unusable ffmpeg, or a full disk, is an EnvironmentFailure: it stops the
run instead of being recorded.
"""

from __future__ import annotations

from pathlib import Path

from .lse import VSHIFT, ClipTooShort, SyncNetScorer
from .route_steps import (PIPELINE, ROUTES, WHOLE_FRAME, RouteScore, evaluate_file, probe_av, require_ffmpeg,
                          workspace)
from .routes_pipeline import score_pipeline
from ..errors import Failure


def score_whole_frame(video: "str | Path", scorer: SyncNetScorer, *, vshift: int = VSHIFT,
                      work_dir: "str | Path | None" = None) -> RouteScore:
    """LSE of `video` as calculate_scores_LRS.py computes it (the whole frame, resized to 224x224).

    `work_dir` is where the temporary folder goes (default: the system's); it is always removed."""
    require_ffmpeg()
    video = Path(video)
    row = RouteScore(WHOLE_FRAME, str(video), aggregate="the video itself", params={"vshift": vshift})
    try:
        probe_av(video)
        with workspace(work_dir) as tmp:
            res, row.n_frames, row.n_samples = evaluate_file(video, scorer, tmp, vshift, WHOLE_FRAME)
    except Failure as exc:
        row.status, row.reason = exc.code, str(exc)
        return row
    if isinstance(res, ClipTooShort):
        row.status, row.reason = "too_short", str(res)
        return row
    row.offset, row.lse_c, row.lse_d, row.n_windows = int(res.offset), float(res.lse_c), float(res.lse_d), res.n_windows
    return row


def score_route(route: str, video: "str | Path", scorer: SyncNetScorer, detector=None, **kwargs) -> RouteScore:
    """`score_whole_frame` or `routes_pipeline.score_pipeline` by name (`lsbench evaluate --lse-route`)."""
    if route == WHOLE_FRAME:
        return score_whole_frame(video, scorer, **kwargs)
    if route == PIPELINE:
        return score_pipeline(video, scorer, detector, **kwargs)
    raise ValueError(f"unknown LSE route {route!r} (one of {', '.join(ROUTES)})")
