"""Media I/O on every real clip in ../shared/media, plus the failure modes."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import MEDIA, media_audio_files, media_videos
from scipy.signal import correlate

from lsbench import media
from lsbench.errors import MediaError


def _lag_seconds(delayed: np.ndarray, original: np.ndarray, sr: int = 16000, max_lag_s: float = 0.3) -> float:
    """Delay of `delayed` against `original` by cross-correlation over the first 3 s."""
    n = min(3 * sr, len(original) - int(max_lag_s * sr))
    c = correlate(delayed[: n + int(max_lag_s * sr)], original[:n], mode="valid")
    return float(np.argmax(c)) / sr


@pytest.mark.slow
@pytest.mark.parametrize("path", media_videos(), ids=lambda p: p.name)
def test_video_round_trip(path, tmp_path):
    info = media.probe(path)
    frames = media.read_frames(path)
    assert frames.dtype == np.uint8 and frames.shape[1:] == (info.height, info.width, 3) or info.width * info.height > media.MAX_PIXELS
    assert abs(len(frames) - info.video_duration * 25) <= 1.0, (len(frames), info.video_duration)
    audio = media.read_audio(path)
    # audio sits on the video's timeline: its length is the stream's length plus its start offset
    expected = info.audio_duration + info.audio_delay
    assert abs(len(audio) / 16000 - expected) <= 0.010, (len(audio) / 16000, expected)
    assert np.abs(audio).max() > 0.01  # real speech, not silence
    # encode back and decode again: same frame count, same audio length within 10 ms
    out = media.write_video(tmp_path / "rt.mp4", frames[:50], audio=audio[: 2 * 16000])
    back = media.read_frames(out)
    assert len(back) == 50
    assert abs(len(media.read_audio(out)) / 16000 - 2.0) <= 0.010
    assert np.abs(back.astype(int) - frames[:50, : back.shape[1], : back.shape[2]].astype(int)).mean() < 12


@pytest.mark.parametrize("path", media_videos(), ids=lambda p: p.name)
def test_late_audio_keeps_its_lead(path, tmp_path):
    """A copy whose audio starts 120 ms late (-itsoffset): lsbench places the audio 120 ms
    later on the timeline; a plain `ffmpeg -i x.mp4 out.wav` extraction does not."""
    wav = tmp_path / "a.wav"
    media.ffmpeg("-i", str(path), "-vn", "-ac", "1", "-ar", "16000", str(wav))
    delayed = tmp_path / "delayed.mp4"
    media.ffmpeg("-i", str(path), "-itsoffset", "0.12", "-i", str(wav), "-map", "0:v:0", "-map", "1:a:0",
                 "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(delayed))
    original = media.read_audio(wav)
    lag = _lag_seconds(media.read_audio(delayed), original)
    assert abs(lag - 0.120) <= 0.010, lag
    plain = tmp_path / "plain.wav"
    media.ffmpeg("-i", str(delayed), "-ac", "1", "-ar", "16000", str(plain))
    assert abs(_lag_seconds(media.read_audio(plain), original) - 0.120) > 0.010


@pytest.mark.parametrize("path", media_audio_files(), ids=lambda p: p.name)
def test_audio_files_resample_to_16k_mono(path):
    import soundfile as sf

    info = sf.info(str(path))
    audio = media.read_audio(path)
    assert audio.ndim == 1 and audio.dtype == np.float32
    assert abs(len(audio) / 16000 - info.duration) <= 0.010


def test_hevc_portrait_is_downscaled_within_the_pixel_bound():
    path = MEDIA / "latentsync" / "demo1_video.mp4"
    info = media.probe(path)
    assert (info.width, info.height, info.video_codec) == (1080, 1920, "hevc")
    first = next(media.iter_frames(path, max_pixels=640 * 640))
    assert first.shape[0] * first.shape[1] <= 640 * 640 and first.shape[0] > first.shape[1]


@pytest.mark.slow
def test_read_frames_equals_the_frame_stream_at_the_pixel_bound():
    """read_frames decodes straight into one preallocated (huge-page) array: same pixels as
    the frame-by-frame stream, the clip's own length, and max_frames honoured."""
    path = MEDIA / "latentsync" / "demo1_video.mp4"
    streamed = np.stack(list(media.iter_frames(path, max_pixels=640 * 640)))
    whole = media.read_frames(path, max_pixels=640 * 640)
    assert whole.shape == streamed.shape and len(whole) == round(media.probe(path).video_duration * 25)
    assert np.array_equal(whole, streamed) and whole.flags.writeable
    assert np.array_equal(media.read_frames(path, max_frames=3, max_pixels=640 * 640), streamed[:3])


def test_read_clip_decodes_audio_beside_the_video_with_the_same_values(tmp_path):
    video = MEDIA / "videoretalking" / "face_3.mp4"
    frames, audio = media.read_clip(video)
    assert np.array_equal(frames, media.read_frames(video)) and np.array_equal(audio, media.read_audio(video))
    wav = MEDIA / "videoretalking" / "audio_1.wav"  # a separate audio file, as VoxCeleb2's m4a
    _, other = media.read_clip(video, wav)
    assert np.array_equal(other, media.read_audio(wav))
    silent = tmp_path / "silent.mp4"
    media.ffmpeg("-i", str(video), "-t", "1", "-an", "-c:v", "libx264", "-preset", "ultrafast", str(silent))
    with pytest.raises(MediaError, match="no audio stream"):
        media.read_clip(silent)


def test_thirty_fps_source_is_resampled(tmp_path):
    src = MEDIA / "videoretalking" / "face_3.mp4"
    thirty = tmp_path / "30.mp4"
    media.ffmpeg("-i", str(src), "-t", "2", "-vf", "fps=30", "-c:v", "libx264", "-preset", "ultrafast", str(thirty))
    assert round(media.probe(thirty).fps) == 30
    assert abs(len(media.read_frames(thirty)) - 50) <= 1


def test_missing_file():
    with pytest.raises(MediaError, match="no such file"):
        media.probe(MEDIA / "nope.mp4")


def test_zero_byte_file(tmp_path):
    p = tmp_path / "empty.mp4"
    p.write_bytes(b"")
    with pytest.raises(MediaError, match="empty file") as e:
        media.probe(p)
    assert str(p) in str(e.value)


def test_corrupt_header(tmp_path):
    src = (MEDIA / "videoretalking" / "face_3.mp4").read_bytes()
    p = tmp_path / "corrupt.mp4"
    p.write_bytes(b"\x00" * 64 + src[64:4096])
    with pytest.raises(MediaError, match="corrupt or unreadable"):
        media.probe(p)


def test_no_audio_stream(tmp_path):
    p = tmp_path / "silent_video.mp4"
    media.ffmpeg("-i", str(MEDIA / "videoretalking" / "face_3.mp4"), "-an", "-c:v", "copy", str(p))
    with pytest.raises(MediaError, match="no audio stream"):
        media.read_audio(p)


def test_no_video_stream():
    with pytest.raises(MediaError, match="no video stream"):
        media.read_frames(MEDIA / "syncnet_example" / "speech.wav")
