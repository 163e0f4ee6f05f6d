"""The ``pipeline`` LSE route: syncnet_python's ``run_pipeline.py``, then Wav2Lip's
``calculate_scores_real_videos.py`` (what Wav2Lip's "real videos" tables ran), for any video.

Steps, with run_pipeline.py's defaults:
 1. ``ffmpeg -y -i V -qscale:v 2 -async 1 -r 25 video.avi`` (ffmpeg's AVI defaults: MPEG-4 part 2
    video, MP3 audio);
 2. ``ffmpeg -y -i video.avi -qscale:v 2 -threads 1 -f image2 %06d.jpg``;
 3. ``ffmpeg -y -i video.avi -ac 1 -vn -acodec pcm_s16le -ar 16000 audio.wav``: the speech has been
    through MP3, whose encoder delay AVI cannot signal (measured on face_2.mp4: the wav lags the
    source by 401 samples, 0.63 frames);
 4. S3FD on every JPEG frame (cv2.imread, BGR to RGB), facedet_scale 0.25, conf_th 0.9 (any lsbench
    detector can stand in: ``detector.detect(rgb_frames)``);
 5. PySceneDetect's ContentDetector (defaults) on video.avi; the whole video is one scene when it
    finds no cut;
 6. in each scene of at least min_track (100) frames: tracks of boxes with IoU > 0.5 to the last
    one, at most num_failed_det (25) frames apart, kept with more than min_track detections and a
    mean box side above min_face_size (100 px), boxes interpolated between detections
    (``track.track_faces``; equal to run_pipeline's ``track_shot`` whenever the boxes of one frame
    overlap by IoU <= 0.5, which S3FD's final NMS at 0.1 guarantees);
 7. each track cropped from the JPEG frames (centre and size median-filtered over 13 frames, box grown
    by crop_scale 0.4, grey 110 padding, 224x224; ``track.crop_track``), written by OpenCV as an XVID
    AVI at 25 fps, its audio cut with ``ffmpeg -y -i audio.wav -ss S -to E`` and muxed with
    ``-c:v copy -c:a copy``;
 8. calculate_scores_real_videos.py: each crop AVI scored as the whole-frame route scores a video
    (JPEG at ffmpeg's default quality, ``-async 1`` audio, imread + resize, vshift 15); it prints one
    ``dist conf`` line per track.

The video's figure: Wav2Lip's all_scores.txt has one line per track, and nothing in the scripts
merges a video's tracks. lsbench keeps every track (``RouteScore.tracks``) and reports for the video
the plain mean of its scored tracks' LSE-C and LSE-D, with the offset of its longest scored track
(most windows, the first on a tie). With one track per video (a generated talking-face video) the
two agree; with several, a mean over all_scores.txt lines weighs a video by its track count, and
the per-track rows let that figure be recomputed.

Where syncnet-python 0.2.3's ``SyncNetPipeline`` (defaults) differs from run_pipeline.py, this route
follows run_pipeline.py:
 * min_track: 0.2.3 uses 50, run_pipeline 100;
 * the speech: 0.2.3 takes it from the input file (or a given audio file) resampled to 16 kHz,
   run_pipeline from the converted AVI, after MP3 (step 3; passing that AVI as 0.2.3's audio file
   gives it the same samples);
 * the crops' audio: 0.2.3 ``-af aresample=async=1``, Wav2Lip's evaluate ``-async 1`` (ffmpeg adds
   ``aresample=async=1:first_pts=0``, which pads a stream that starts late; the muxed crops start
   at 0, so both give the same samples);
 * tracking: 0.2.3 leaves a frame at its first box that fails the IoU test, run_pipeline tries the
   frame's other boxes; 0.2.3 adds 1e-8 to the IoU's denominator; 0.2.3 skips frames whose JPEG
   cannot be read;
 * the figure: 0.2.3 returns the largest LSE-C and the smallest LSE-D over tracks;
 * scene detection is the same: run_pipeline's ``VideoManager.set_downscale_factor()`` is a no-op in
   scenedetect 0.6.7.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy as np

from ..errors import EnvironmentFailure, Failure, MediaError
from .lse import VSHIFT, ClipTooShort, SyncNetScorer
from .route_steps import (PIPELINE, RouteScore, RouteTrack, evaluate_file, probe_av, require_ffmpeg, run_ffmpeg,
                          workspace)
from .track import CROP_SIZE, Track, crop_track, track_faces

FRAME_RATE = 25
FACEDET_SCALE = 0.25
FACEDET_CONF = 0.9
MIN_TRACK = 100
NUM_FAILED_DET = 25
MIN_FACE_SIZE = 100
CROP_SCALE = 0.4
DETECT_CHUNK = 32  # full-size frames handed to the detector at a time (memory bound)


class JpegFrames(Sequence):
    """The pipeline's JPEG frames, read with cv2.imread (BGR) when indexed: one frame in memory at a time."""

    def __init__(self, files: List[Path]):
        self.files = files

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i):  # type: ignore[override]
        import cv2

        img = cv2.imread(str(self.files[i]))
        if img is None:
            raise Failure(code="unreadable", message=f"OpenCV cannot read extracted frame {self.files[i].name}")
        return img


def default_detector(device: str = "cpu"):
    """S3FD with run_pipeline's settings (official sfd_face.pth from the weights manager)."""
    from ..detectors.s3fd import S3FDDetector

    return S3FDDetector(device=device, conf_th=FACEDET_CONF, scales=(FACEDET_SCALE,))


def detect_all(detector, frames: JpegFrames, chunk: int = DETECT_CHUNK) -> List[np.ndarray]:
    """(K, 5) boxes per frame: the detector sees each JPEG frame converted to RGB, as run_pipeline's S3FD does."""
    import cv2

    out: List[np.ndarray] = []
    for i in range(0, len(frames), chunk):
        rgb = [cv2.cvtColor(frames[j], cv2.COLOR_BGR2RGB) for j in range(i, min(i + chunk, len(frames)))]
        out += [np.asarray(b, np.float64).reshape(-1, 5) if len(b) else np.zeros((0, 5)) for b in detector.detect(rgb)]
    return out


def detect_scenes(avi: Path) -> List[Tuple[int, int]]:
    """[(first frame, end frame)) of each shot, PySceneDetect's ContentDetector as run_pipeline runs it."""
    from scenedetect import ContentDetector, SceneManager, StatsManager
    from scenedetect.video_manager import VideoManager

    log = logging.getLogger("pyscenedetect")
    level = log.level
    log.setLevel(logging.CRITICAL)  # VideoManager logs its deprecation as an error
    vm = VideoManager([str(avi)])
    try:
        sm = SceneManager(StatsManager())
        sm.add_detector(ContentDetector())
        vm.start()
        sm.detect_scenes(frame_source=vm)
        scenes = sm.get_scene_list() or [(vm.get_base_timecode(), vm.get_current_timecode())]
        return [(int(a.frame_num), int(b.frame_num)) for a, b in scenes]
    finally:
        vm.release()
        log.setLevel(level)


def tracks_in_scenes(dets: Sequence[np.ndarray], scenes: Sequence[Tuple[int, int]], min_track: int = MIN_TRACK,
                     num_failed_det: int = NUM_FAILED_DET, min_face_size: float = MIN_FACE_SIZE) -> List[Track]:
    """run_pipeline's tracks: per scene of at least min_track frames, tracks with more than min_track
    detections (track_faces counts the span; the detection count is checked here)."""
    out = []
    for start, end in scenes:
        if end - start < min_track:
            continue
        for t in track_faces(list(dets[start:end]), min_track=min_track, num_failed_det=num_failed_det,
                             min_face_size=min_face_size):
            if len(t.scores) > min_track:
                out.append(Track(t.frames + start, t.boxes, t.scores))
    return out


def write_crop(frames: JpegFrames, track: Track, audio_wav: Path, base: Path, crop_scale: float = CROP_SCALE) -> Path:
    """run_pipeline's crop_video: XVID AVI of the track's crops at 25 fps with its slice of the speech."""
    import cv2

    base.parent.mkdir(parents=True, exist_ok=True)
    silent, slice_wav, final = Path(f"{base}t.avi"), Path(f"{base}.wav"), Path(f"{base}.avi")
    writer = cv2.VideoWriter(str(silent), cv2.VideoWriter_fourcc(*"XVID"), FRAME_RATE, (CROP_SIZE, CROP_SIZE))
    if not writer.isOpened():
        raise EnvironmentFailure("OpenCV cannot write an XVID AVI (its FFmpeg backend is missing)")
    try:
        for crop in crop_track(frames, track, crop_scale):
            writer.write(crop)
    finally:
        writer.release()
    start, end = track.frames[0] / FRAME_RATE, (track.frames[-1] + 1) / FRAME_RATE
    run_ffmpeg(["-y", "-i", str(audio_wav), "-ss", f"{start:.3f}", "-to", f"{end:.3f}", str(slice_wav)],
               "cutting a track's audio")
    run_ffmpeg(["-y", "-i", str(silent), "-i", str(slice_wav), "-c:v", "copy", "-c:a", "copy", str(final)],
               "muxing a track's crop")
    silent.unlink()
    return final


def _figure(row: RouteScore) -> None:
    """The video's offset / LSE-C / LSE-D from its scored tracks (module docstring)."""
    ok = [t for t in row.tracks if t.status == "ok"]
    if not ok:
        row.status = "too_short"
        row.reason = f"no face track long enough to score ({'; '.join(t.reason for t in row.tracks)})"
        return
    longest = max(ok, key=lambda t: t.n_windows)  # max keeps the first of equals
    row.offset = longest.offset
    row.lse_c = float(np.mean([t.lse_c for t in ok]))
    row.lse_d = float(np.mean([t.lse_d for t in ok]))
    row.n_windows = sum(t.n_windows for t in ok)
    row.aggregate = ("the video's one face track" if len(ok) == 1 else
                     f"mean LSE-C and LSE-D of {len(ok)} face tracks; offset of the longest (track {longest.track})")


def score_pipeline(video: "str | Path", scorer: SyncNetScorer, detector=None, *, min_track: int = MIN_TRACK,
                   num_failed_det: int = NUM_FAILED_DET, min_face_size: float = MIN_FACE_SIZE,
                   crop_scale: float = CROP_SCALE, vshift: int = VSHIFT, device: str = "cpu",
                   work_dir: "str | Path | None" = None) -> RouteScore:
    """LSE of `video` as run_pipeline.py + calculate_scores_real_videos.py compute it: one RouteTrack per face
    track, the video's figure from them. `detector` defaults to S3FD with run_pipeline's settings; its
    `detect(frames)` receives RGB frames and returns (K, 5) boxes per frame. The temporary folder (under
    `work_dir`, default the system's) is always removed."""
    require_ffmpeg()
    video = Path(video)
    detector = detector if detector is not None else default_detector(device)
    row = RouteScore(PIPELINE, str(video), params={
        "min_track": min_track, "num_failed_det": num_failed_det, "min_face_size": min_face_size,
        "crop_scale": crop_scale, "vshift": vshift, "detector": getattr(detector, "name", type(detector).__name__),
        **({"facedet_scale": list(detector.scales), "facedet_conf": detector.conf_th} if hasattr(detector, "scales") else {})})
    try:
        probe_av(video)
        with workspace(work_dir) as tmp:
            _run(video, scorer, detector, tmp, row, min_track, num_failed_det, min_face_size, crop_scale, vshift)
    except Failure as exc:
        row.status, row.reason = exc.code, str(exc)
    return row


def _run(video: Path, scorer: SyncNetScorer, detector, tmp: Path, row: RouteScore, min_track: int,
         num_failed_det: int, min_face_size: float, crop_scale: float, vshift: int) -> None:
    from .. import media

    avi, frames_dir, audio_wav = tmp / "video.avi", tmp / "frames", tmp / "audio.wav"
    frames_dir.mkdir()
    run_ffmpeg(["-y", "-i", str(video), "-qscale:v", "2", "-async", "1", "-r", str(FRAME_RATE), str(avi)],
               "converting to a 25 fps AVI")
    run_ffmpeg(["-y", "-i", str(avi), "-qscale:v", "2", "-threads", "1", "-f", "image2", str(frames_dir / "%06d.jpg")],
               "extracting JPEG frames")
    run_ffmpeg(["-y", "-i", str(avi), "-ac", "1", "-vn", "-acodec", "pcm_s16le", "-ar", "16000", str(audio_wav)],
               "extracting the 16 kHz audio")
    frames = JpegFrames(sorted(frames_dir.glob("*.jpg")))
    if not len(frames):
        raise Failure(code="unreadable", message="ffmpeg wrote no JPEG frames")
    row.n_frames = len(frames)
    try:
        row.n_samples = len(media.read_wav_int16(audio_wav)[1])
    except MediaError as exc:
        raise Failure(code="unreadable", message=exc.reason) from None
    dets = detect_all(detector, frames)
    scenes = detect_scenes(avi)
    tracks = tracks_in_scenes(dets, scenes, min_track, num_failed_det, min_face_size)
    if not tracks:
        long_scenes = sum(e - s >= min_track for s, e in scenes)
        raise Failure(code="no_face", message=(
            f"no face track with more than {min_track} detections and mean side > {min_face_size:g} px: "
            f"{sum(len(d) for d in dets)} detections in {len(frames)} frames, {len(scenes)} scene(s), "
            f"{long_scenes} of at least {min_track} frames"))
    for i, t in enumerate(tracks):
        crop = write_crop(frames, t, audio_wav, tmp / "crops" / f"{i:05d}", crop_scale)
        res, _, _ = evaluate_file(crop, scorer, tmp / "crops" / f"eval_{i:05d}", vshift, PIPELINE)
        rt = RouteTrack(i, int(t.frames[0]), int(t.frames[-1]), int(len(t.scores)))
        if isinstance(res, ClipTooShort):
            rt.status, rt.reason = "too_short", str(res)
        else:
            rt.offset, rt.lse_c, rt.lse_d, rt.n_windows = int(res.offset), float(res.lse_c), float(res.lse_d), res.n_windows
        row.tracks.append(rt)
    _figure(row)
