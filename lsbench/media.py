"""Decoding and encoding through ffmpeg, with errors that name the file and the reason.

Video is streamed frame by frame from an ffmpeg pipe (constant memory whatever the clip
length). Audio keeps its position on the video's timeline: when the audio stream starts
later than the video (``-itsoffset``, edit lists), the missing lead is filled with
silence instead of being dropped the way ``ffmpeg -i x.mp4 out.wav`` drops it.
"""

from __future__ import annotations

import json
import math
import mmap
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np

from .errors import EnvironmentFailure, MediaError

FPS = 25
SAMPLE_RATE = 16000
SAMPLES_PER_FRAME = SAMPLE_RATE // FPS  # 640: audio samples per video frame
MAX_PIXELS = 4096 * 2304  # frames larger than this are downscaled while decoding (memory bound)


@dataclass(frozen=True)
class MediaInfo:
    path: str
    duration: float
    has_video: bool
    has_audio: bool
    width: int = 0
    height: int = 0
    fps: float = 0.0
    video_codec: str = ""
    video_profile: str = ""
    video_start: float = 0.0
    video_duration: float = 0.0
    audio_codec: str = ""
    sample_rate: int = 0
    channels: int = 0
    audio_start: float = 0.0
    audio_duration: float = 0.0

    @property
    def audio_delay(self) -> float:
        """Seconds by which the audio starts after the first video frame (negative: before)."""
        if not (self.has_audio and self.has_video):
            return 0.0
        return self.audio_start - self.video_start


def _spawn_failure(tool: str, exc: OSError) -> EnvironmentFailure:
    """ffmpeg/ffprobe could not be started at all: the machine's fault, never the clip's."""
    if isinstance(exc, FileNotFoundError):
        return EnvironmentFailure(f"{tool} is not installed or not on PATH (apt-get install ffmpeg)")
    return EnvironmentFailure(f"{tool} cannot be started ({type(exc).__name__}: {exc})")


def tool_failure(tool: str, returncode: int) -> Optional[EnvironmentFailure]:
    """After `tool` failed on a file: the EnvironmentFailure to raise when the tool itself is
    broken (killed by a signal, e.g. the OOM killer, or `tool -version` fails too), or None
    when the tool works and the file is to blame. Costs one extra call, only on failures."""
    if returncode is not None and returncode < 0:
        return EnvironmentFailure(f"{tool} was killed by signal {-returncode} (out of memory?)")
    try:
        check = subprocess.run([tool, "-version"], capture_output=True, timeout=60)
    except OSError as exc:
        return _spawn_failure(tool, exc)
    except subprocess.TimeoutExpired:
        return EnvironmentFailure(f"{tool} -version did not answer within 60 s")
    if check.returncode != 0:
        msg = check.stderr.decode(errors="replace").strip().splitlines()
        return EnvironmentFailure(f"{tool} does not run: `{tool} -version` exits {check.returncode}"
                                  + (f" ({msg[-1]})" if msg else ""))
    return None


def _ffprobe_json(path: Path) -> dict:
    cmd = ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)]
    try:
        out = subprocess.run(cmd, capture_output=True, check=False, timeout=120)
    except OSError as exc:
        raise _spawn_failure("ffprobe", exc) from None
    if out.returncode != 0:
        broken = tool_failure("ffprobe", out.returncode)
        if broken:
            raise broken
        msg = out.stderr.decode(errors="replace").strip().splitlines()
        raise MediaError(str(path), f"corrupt or unreadable media ({msg[-1] if msg else 'ffprobe failed'})", "corrupt")
    try:
        return json.loads(out.stdout or b"{}")
    except ValueError:
        raise MediaError(str(path), "corrupt media (ffprobe gave no readable description)", "corrupt") from None


def _rate(text: str) -> float:
    num, _, den = (text or "0/1").partition("/")
    try:
        return float(num) / float(den or 1) if float(den or 1) else 0.0
    except ValueError:
        return 0.0


def probe(path: "str | os.PathLike") -> MediaInfo:
    """Describe a media file; raise MediaError for a missing, empty or corrupt one."""
    p = Path(path)
    try:
        exists = p.exists()
    except PermissionError:  # a folder on the way cannot be searched
        raise MediaError(str(p), "not readable (permission denied on its folder)", "unreadable") from None
    if not exists:
        raise MediaError(str(p), "no such file", "missing_file")
    if p.is_dir():
        raise MediaError(str(p), "is a directory, not a media file", "not_a_file")
    if p.stat().st_size == 0:
        raise MediaError(str(p), "empty file (0 bytes)", "empty_file")
    if not os.access(p, os.R_OK):
        raise MediaError(str(p), "not readable (permission denied)", "unreadable")
    data = _ffprobe_json(p)
    streams = data.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    if video is None and audio is None:
        raise MediaError(str(p), "no video or audio stream", "no_video")
    fmt = data.get("format", {})
    duration = float(fmt.get("duration") or (video or audio or {}).get("duration") or 0.0)
    info = dict(path=str(p), duration=duration, has_video=video is not None, has_audio=audio is not None)
    if video is not None:
        info.update(
            width=int(video.get("width", 0)),
            height=int(video.get("height", 0)),
            fps=_rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate")),
            video_codec=video.get("codec_name", ""),
            video_profile=video.get("profile", ""),
            video_start=float(video.get("start_time") or 0.0),
            video_duration=float(video.get("duration") or duration),
        )
    if audio is not None:
        info.update(
            audio_codec=audio.get("codec_name", ""),
            sample_rate=int(audio.get("sample_rate") or 0),
            channels=int(audio.get("channels") or 0),
            audio_start=float(audio.get("start_time") or 0.0),
            audio_duration=float(audio.get("duration") or duration),
        )
    return MediaInfo(**info)


def _decode_size(info: MediaInfo, max_pixels: int) -> tuple:
    w, h = info.width, info.height
    if w * h > max_pixels:
        scale = (max_pixels / (w * h)) ** 0.5
        w, h = int(w * scale) // 2 * 2, int(h * scale) // 2 * 2
    return w, h


class _FramePipe:
    """ffmpeg decoding to raw RGB24 on a pipe, read straight into numpy memory (readinto, no
    intermediate bytes objects)."""

    def __init__(self, path: "str | os.PathLike", fps: float, size: Optional[Sequence[int]], max_pixels: int,
                 info: Optional[MediaInfo]):
        info = info or probe(path)
        if not info.has_video:
            raise MediaError(str(path), "no video stream", "no_video")
        self.path, self.info = str(path), info
        self.w, self.h = (int(size[0]), int(size[1])) if size else _decode_size(info, max_pixels)
        filters = [f"fps={fps}"]
        if (self.w, self.h) != (info.width, info.height):
            filters.append(f"scale={self.w}:{self.h}")
        cmd = ["ffmpeg", "-v", "error", "-nostdin", "-i", self.path, "-map", "0:v:0", "-vf", ",".join(filters),
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
        try:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        except OSError as exc:
            raise _spawn_failure("ffmpeg", exc) from None
        self.count = 0

    def read_into(self, frame: np.ndarray) -> bool:
        """Fill one (h, w, 3) uint8 frame; False at the end of the stream."""
        view, got = memoryview(frame).cast("B"), 0
        while got < len(view):
            n = self.proc.stdout.readinto(view[got:])
            if not n:
                return False
            got += n
        self.count += 1
        return True

    def close(self) -> None:
        self.proc.stdout.close()
        err = self.proc.stderr.read().decode(errors="replace").strip()
        self.proc.stderr.close()
        rc = self.proc.wait()
        if self.count == 0:
            broken = tool_failure("ffmpeg", rc)
            if broken:
                raise broken
            raise MediaError(self.path, f"no decodable video frames ({err.splitlines()[-1] if err else f'ffmpeg exit {rc}'})",
                             "corrupt")


def iter_frames(
    path: "str | os.PathLike",
    fps: float = FPS,
    size: Optional[Sequence[int]] = None,
    max_pixels: int = MAX_PIXELS,
    info: Optional[MediaInfo] = None,
) -> Iterator[np.ndarray]:
    """Yield RGB uint8 frames (H, W, 3) resampled to fps, one at a time.

    ``size=(w, h)`` scales while decoding. Frames above max_pixels are downscaled, so a 4K
    clip costs one frame of memory at a time at a bounded size."""
    pipe = _FramePipe(path, fps, size, max_pixels, info)
    try:
        while True:
            frame = np.empty((pipe.h, pipe.w, 3), np.uint8)
            if not pipe.read_into(frame):
                break
            yield frame
    finally:
        pipe.close()


def empty_frames(shape: Sequence[int]) -> np.ndarray:
    """An uninitialised uint8 array for many frames, backed by transparent huge pages where
    the OS offers them: first-touching hundreds of MB in 4 KiB pages costs seconds on a VM
    (10 s of 720p: 3.8 s to decode into np.empty, 2.2 s into huge pages, on the 2-core box)."""
    nbytes = int(np.prod(shape))
    if nbytes < (32 << 20) or not hasattr(mmap, "MADV_HUGEPAGE"):
        return np.empty(shape, np.uint8)
    mm = mmap.mmap(-1, nbytes)
    mm.madvise(mmap.MADV_HUGEPAGE)
    return np.frombuffer(mm, np.uint8).reshape(shape)  # the array keeps the mapping alive


def read_frames(path: "str | os.PathLike", fps: float = FPS, size: Optional[Sequence[int]] = None,
                max_frames: Optional[int] = None, max_pixels: int = MAX_PIXELS,
                info: Optional[MediaInfo] = None) -> np.ndarray:
    """All frames as (T, H, W, 3) uint8 RGB; for clips, not hour-long files (see iter_frames).

    Frames are decoded into one array sized from the probed duration: stacking per-frame
    arrays afterwards costs a second copy of the whole clip (1.6 s for 10 s of 720p here)."""
    pipe = _FramePipe(path, fps, size, max_pixels, info)
    seconds = pipe.info.video_duration or pipe.info.duration
    cap = int(math.ceil(seconds * fps)) + 2
    cap = max(1, min(cap, max_frames) if max_frames else cap)
    out = empty_frames((cap, pipe.h, pipe.w, 3))
    try:
        while max_frames is None or pipe.count < max_frames:
            if pipe.count == len(out):  # longer than its header says
                out = np.concatenate([out, empty_frames(out[: max(len(out) // 2, 1)].shape)])
            if not pipe.read_into(out[pipe.count]):
                break
    finally:
        if pipe.proc.poll() is None and max_frames is not None:
            pipe.proc.kill()  # stopped early on purpose: the rest of the clip is not wanted
        pipe.close()
    return out[: pipe.count]


class _AudioDecode:
    """ffmpeg decoding one audio stream to mono float32 in a background thread, so that a
    caller can decode the video at the same time (two ffmpeg processes, one wait)."""

    def __init__(self, path: "str | os.PathLike", sr: int, info: MediaInfo):
        import threading

        if not info.has_audio:
            raise MediaError(str(path), "no audio stream", "no_audio")
        self.path, self.sr, self.info = str(path), sr, info
        cmd = ["ffmpeg", "-v", "error", "-nostdin", "-i", self.path, "-map", "0:a:0", "-ac", "1", "-ar", str(sr),
               "-f", "f32le", "-acodec", "pcm_f32le", "-"]
        try:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as exc:
            raise _spawn_failure("ffmpeg", exc) from None
        self.out: tuple = (b"", b"")
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        self.out = self.proc.communicate()

    def result(self, keep_offset: bool = True) -> np.ndarray:
        self.thread.join()
        stdout, stderr = self.out
        audio = np.frombuffer(stdout, np.float32).copy()
        if self.proc.returncode != 0 and audio.size == 0:
            broken = tool_failure("ffmpeg", self.proc.returncode)
            if broken:
                raise broken
            msg = stderr.decode(errors="replace").strip().splitlines()
            raise MediaError(self.path, f"audio cannot be decoded ({msg[-1] if msg else 'ffmpeg failed'})", "corrupt")
        declared = int(round(self.info.audio_duration * self.sr))
        if declared and len(audio) > declared:  # AAC end padding: decoders ignore the edit list's end trim
            audio = audio[:declared]
        if keep_offset:
            shift = int(round(self.info.audio_delay * self.sr))
            if shift > 0:
                audio = np.concatenate([np.zeros(shift, np.float32), audio])
            elif shift < 0:
                audio = audio[-shift:]
        return audio


def read_audio(path: "str | os.PathLike", sr: int = SAMPLE_RATE, keep_offset: bool = True,
               info: Optional[MediaInfo] = None) -> np.ndarray:
    """Mono float32 in [-1, 1] at sr, aligned to the first video frame when there is video.

    A late-starting audio stream gets leading silence, an early one is trimmed, so sample
    0 is the instant of video frame 0."""
    return _AudioDecode(path, sr, info or probe(path)).result(keep_offset)


def read_clip(path: "str | os.PathLike", audio_path: "str | os.PathLike | None" = None,
              max_pixels: int = MAX_PIXELS, info: Optional[MediaInfo] = None,
              audio_info: Optional[MediaInfo] = None) -> "tuple[np.ndarray, np.ndarray]":
    """(frames, audio) as read_frames and read_audio give them, both decoded at once: the
    audio's ffmpeg runs while the video's frames are read (saves ~0.2 s on a 4 s clip)."""
    info = info or probe(path)
    if audio_path is None:
        audio_info = info
    audio = _AudioDecode(audio_path or path, SAMPLE_RATE, audio_info or probe(audio_path))
    try:
        frames = read_frames(path, max_pixels=max_pixels, info=info)
    except BaseException:
        audio.proc.kill()  # the video's error is the one to report
        audio.thread.join()
        raise
    return frames, audio.result()


def write_wav(path: "str | os.PathLike", audio: np.ndarray, sr: int = SAMPLE_RATE) -> Path:
    """16-bit PCM mono wav (what syncnet_python and Wav2Lip read); int16 samples are written as they are."""
    import soundfile as sf

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    audio = np.asarray(audio)
    data = audio if audio.dtype == np.int16 else np.clip(audio.astype(np.float32), -1.0, 1.0)
    sf.write(str(p), data, sr, subtype="PCM_16")
    return p


def read_wav_int16(path: "str | os.PathLike") -> "tuple[int, np.ndarray]":
    """(sample_rate, int16 samples) exactly as scipy's wavfile gives them (syncnet_python's reader)."""
    from scipy.io import wavfile

    try:
        sr, data = wavfile.read(str(path))
    except (ValueError, FileNotFoundError, OSError) as exc:
        raise MediaError(str(path), f"not a readable wav file ({exc})", "corrupt") from None
    return sr, data


def write_video(path: "str | os.PathLike", frames: "np.ndarray | Sequence[np.ndarray]", fps: float = FPS,
                audio: Optional[np.ndarray] = None, sr: int = SAMPLE_RATE, crf: int = 18) -> Path:
    """Encode RGB uint8 frames (and optional mono float audio) to H.264/AAC mp4."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    t, h, w, _ = frames.shape
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
               "-r", str(fps), "-i", "-"]
        if audio is not None:
            wav = write_wav(Path(tmp) / "a.wav", audio, sr)
            cmd += ["-i", str(wav)]
        cmd += ["-map", "0:v"] + (["-map", "1:a", "-c:a", "aac", "-b:a", "128k"] if audio is not None else [])
        pad = "pad=ceil(iw/2)*2:ceil(ih/2)*2"
        cmd += ["-vf", pad, "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p",
                "-movflags", "+faststart", str(p)]
        try:
            proc = subprocess.run(cmd, input=np.ascontiguousarray(frames).tobytes(), capture_output=True)
        except OSError as exc:
            raise _spawn_failure("ffmpeg", exc) from None
        if proc.returncode != 0:
            broken = tool_failure("ffmpeg", proc.returncode)
            if broken:
                raise broken
            raise MediaError(str(p), f"encoding failed ({proc.stderr.decode(errors='replace').strip()[-300:]})",
                             "encode_failed")
    return p


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly; raise with its last error line."""
    try:
        proc = subprocess.run(["ffmpeg", "-v", "error", "-y", "-nostdin", *args], capture_output=True)
    except OSError as exc:
        raise _spawn_failure("ffmpeg", exc) from None
    if proc.returncode != 0:
        lines = proc.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"ffmpeg {' '.join(args)} failed: {lines[-1] if lines else proc.returncode}")
