"""lsbench.fullframe's two presets against a step-by-step re-enactment of the official scripts on a
real clip: the boxes of face_detect (face_detection's api.py clip + int, pads, get_smoothened_boxes
in place on the integer array), the 96x96 crops of datagen and the paste-back loop, bit for bit.
GEN_VIDEOS is what `evaluate` scores (gen_videos_from_filelist.py), INFERENCE what `generate`
writes (inference.py)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import MEDIA

from lsbench import fullframe, media
from lsbench.detectors.dlib_hog import DlibHOGDetector


def _script_boxes(detections, shape, pads, window=5):
    """The scripts' face_detect, from the detector's first box of each frame (x1, y1, x2, y2, score)."""
    h, w = shape
    top, bottom, left, right = pads
    rows = []
    for det in detections:
        d = np.clip(np.asarray(det, np.float64), 0, None)  # api.get_detections_for_batch
        x1, y1, x2, y2 = (int(v) for v in d[:4])
        rows.append([max(0, x1 - left), max(0, y1 - top), min(w, x2 + right), min(h, y2 + bottom)])
    boxes = np.array(rows)
    for i in range(len(boxes)):  # get_smoothened_boxes: in place, so later windows see smoothed rows
        boxes[i] = np.mean(boxes[len(boxes) - window:] if i + window > len(boxes) else boxes[i:i + window], axis=0)
    return boxes


def _script_crops_and_paste(frames_bgr, boxes, faces_bgr):
    import cv2

    crops = np.stack([cv2.resize(f[y1:y2, x1:x2], (96, 96)) for f, (x1, y1, x2, y2) in zip(frames_bgr, boxes)])
    out = frames_bgr.copy()
    for f, (x1, y1, x2, y2), p in zip(out, boxes, faces_bgr):
        f[y1:y2, x1:x2] = cv2.resize(p, (x2 - x1, y2 - y1))
    return crops, out


@pytest.fixture(scope="module")
def clip():
    frames = np.stack(list(media.iter_frames(MEDIA / "videoretalking" / "face_2.mp4", max_pixels=320 * 320)))[:40]
    found = DlibHOGDetector().detect(list(frames))
    assert all(len(d) for d in found)
    return frames, np.stack([d[0] for d in found])


@pytest.mark.parametrize("preset", [fullframe.GEN_VIDEOS, fullframe.INFERENCE], ids=lambda g: g.name)
def test_presets_equal_the_official_scripts_bit_for_bit(preset, clip):
    frames, detections = clip
    boxes = fullframe.face_boxes(detections[:, :4], frames.shape[1:3], preset)
    expected = _script_boxes(detections, frames.shape[1:3], preset.pads)
    np.testing.assert_array_equal(boxes, expected)
    rng = np.random.default_rng(0)
    faces_rgb = rng.integers(0, 256, (len(frames), 96, 96, 3), dtype=np.uint8)
    crops_rgb = fullframe.crop_faces(frames, boxes, 96)
    pasted_rgb = fullframe.paste_faces(frames, boxes, faces_rgb)
    crops_bgr, pasted_bgr = _script_crops_and_paste(np.ascontiguousarray(frames[..., ::-1]), expected,
                                                    np.ascontiguousarray(faces_rgb[..., ::-1]))
    np.testing.assert_array_equal(crops_rgb, crops_bgr[..., ::-1])
    np.testing.assert_array_equal(pasted_rgb, pasted_bgr[..., ::-1])


def test_the_presets_differ_only_in_their_pads(clip):
    frames, detections = clip
    gen = fullframe.face_boxes(detections[:, :4], frames.shape[1:3], fullframe.GEN_VIDEOS)
    inf = fullframe.face_boxes(detections[:, :4], frames.shape[1:3], fullframe.INFERENCE)
    assert fullframe.GEN_VIDEOS.pads == (0, 0, 0, 0) and fullframe.INFERENCE.pads == (0, 10, 0, 0)
    np.testing.assert_array_equal(inf[:, :3], gen[:, :3])
    assert (inf[:, 3] >= gen[:, 3]).all() and (inf[:, 3] > gen[:, 3]).any()  # 10 px below the chin, clipped
    np.testing.assert_array_equal(fullframe.face_boxes(detections[:, :4], frames.shape[1:3], fullframe.INFERENCE,
                                                       (0, 10, 0, 0)), inf)
    unsmoothed = fullframe.face_boxes(detections[:, :4], frames.shape[1:3], fullframe.GEN_VIDEOS, smooth=False)
    np.testing.assert_array_equal(unsmoothed, _script_boxes(detections, frames.shape[1:3], (0, 0, 0, 0), window=1))
