"""MakeItTalk's portrait landmarks: face-alignment's 3-D FAN on files from the weights manager
(procedural stand-ins here: face-alignment's own s3fd, FAN and ResNetDepth classes with seeded
weights, saved in the official formats under the official names), or dlib 2-D, flagged."""

from __future__ import annotations

import hashlib
import sys

import numpy as np
import pytest
from conftest import MEDIA

from lsbench import weights as W
from lsbench.errors import WeightsError
from lsbench.models import makeittalk_portrait as P

RULE = "torch.manual_seed(20240601) default init, fp16; S3FD face logits biased to -30 (it finds no face)"


def _portrait():
    import cv2

    return cv2.resize(cv2.imread(str(MEDIA / "makeittalk/obama.jpg")), (256, 256))


@pytest.fixture(scope="module")
def fan_files(tmp_path_factory):
    """s3fd-619a316812.pth, 3DFAN4-7835d9f11d.pth.tar, depth-2a464da4ea.pth.tar as face-alignment
    reads them (state_dict; state_dict; {'state_dict': 'module.'-prefixed}), procedural."""
    if not hasattr(W, "mark_procedural"):
        pytest.skip("needs the weights manager's procedural sidecars (weights.mark_procedural)")
    import torch
    from face_alignment.detection.sfd.net_s3fd import s3fd
    from face_alignment.models import FAN, ResNetDepth

    out = tmp_path_factory.mktemp("face_alignment_standins")
    torch.manual_seed(20240601)
    half = lambda sd: {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}  # noqa: E731
    det = s3fd().state_dict()
    for k, v in det.items():
        if "mbox_conf" in k and k.endswith("bias"):
            v.zero_()
            v[-1] = -30.0
    torch.save(half(det), out / "s3fd-619a316812.pth")
    torch.save(half(FAN(4).state_dict()), out / "3DFAN4-7835d9f11d.pth.tar")
    torch.save({"state_dict": {"module." + k: v for k, v in half(ResNetDepth().state_dict()).items()}},
               out / "depth-2a464da4ea.pth.tar")
    for s in P.WEIGHTS:
        W.mark_procedural(out / s.filename, RULE, "tests/test_makeittalk_portrait.py")
    return out


@pytest.mark.slow
def test_3d_route_runs_face_alignment_on_the_managed_files_without_downloading(fan_files, monkeypatch):
    import face_alignment.utils
    import torch

    def no_download(*args, **kwargs):
        raise AssertionError(f"download attempted: {args}")

    for mod, name in [(torch.hub, "load_state_dict_from_url"), (torch.hub, "download_url_to_file"),
                      (face_alignment.utils, "load_file_from_url")]:
        monkeypatch.setattr(mod, name, no_download)
    import face_alignment.detection.sfd.sfd_detector as sfd

    monkeypatch.setattr(sfd, "load_state_dict_from_url", no_download)

    landmarks = P.PortraitLandmarks("cpu", fan_files)
    assert landmarks.route == "face-alignment" and "face-alignment 1.5.0 3-D FAN" in landmarks.describe()
    saved = torch.load(fan_files / "3DFAN4-7835d9f11d.pth.tar", weights_only=True)
    assert torch.equal(landmarks.fa.face_alignment_net.conv1.weight, saved["conv1.weight"].float())
    saved = torch.load(fan_files / "depth-2a464da4ea.pth.tar", weights_only=True)["state_dict"]
    assert torch.equal(landmarks.fa.depth_prediciton_net.fc.weight, saved["module.fc.weight"].float())
    prov = landmarks.provenance()
    assert set(prov) == {s.name for s in P.WEIGHTS}
    assert all(p["state"] == "procedural" and p["official"] is False for p in prov.values())

    calls = []
    real = landmarks.fa.get_landmarks_from_image

    def spy(image, detected_faces=None, **kw):
        calls.append((image.copy(), [np.array(f) for f in detected_faces]))
        out = real(image, detected_faces=detected_faces, **kw)
        calls.append(out)
        return out

    monkeypatch.setattr(landmarks.fa, "get_landmarks_from_image", spy)
    bgr = _portrait()
    got = landmarks(bgr)
    assert got.route == "face-alignment" and got.box == "whole image (S3FD found no face)"
    (image, faces), (direct,) = calls
    assert np.array_equal(image, bgr)  # the FAN gets the BGR portrait, as in the demo
    np.testing.assert_array_equal(faces[0][:4], [0, 0, 255, 255])
    assert direct.shape == (68, 3) and np.isfinite(direct).all()  # 3-D: x, y and the depth network's z
    np.testing.assert_array_equal(got.points, P.demo_adjust(direct[:, :2]))
    # inside face-alignment's crop of that box: centre raised by 0.12 of its height, side 200 x (w + h) / 195
    side, cx, cy = 200 * 510 / 195, 127.5, 127.5 - 0.12 * 255
    assert (np.abs(direct[:, 0] - cx) <= side / 2 + 1).all() and (np.abs(direct[:, 1] - cy) <= side / 2 + 1).all()
    from lsbench.landmarks import landmarks68

    assert np.abs(got.points - P.demo_adjust(landmarks68(np.ascontiguousarray(bgr[..., ::-1])))).max() > 1


def test_without_the_files_dlib_runs_and_is_flagged_with_the_reason(isolated_home):
    from lsbench.landmarks import landmarks68

    landmarks = P.PortraitLandmarks("cpu")
    assert landmarks.route == "dlib"
    assert "lsbench weights fetch face-alignment" in landmarks.reason and "3DFAN4-7835d9f11d.pth.tar" in landmarks.reason
    assert landmarks.describe().startswith("dlib 2-D predictor (fallback, not the demo's")
    (entry,) = landmarks.provenance().values()
    assert entry["official"] is False and "not the demo's face-alignment 3-D FAN" in entry["why"]
    bgr = _portrait()
    got = landmarks(bgr)
    assert got.route == "dlib" and got.box == "dlib HOG"
    np.testing.assert_array_equal(got.points, P.demo_adjust(landmarks68(np.ascontiguousarray(bgr[..., ::-1]))))


def test_without_the_package_the_reason_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "face_alignment", None)  # import face_alignment raises ImportError
    landmarks = P.PortraitLandmarks("cpu")
    assert landmarks.route == "dlib" and P.FA_INSTALL in landmarks.reason
    assert P.FA_INSTALL == "pip install --no-deps face-alignment==1.5.0"


def test_a_present_file_with_the_wrong_hash_is_refused(tmp_path):
    pytest.importorskip("face_alignment")
    for s in P.WEIGHTS:
        (tmp_path / s.filename).write_bytes(b"not the authors' file " + s.name.encode())
    with pytest.raises(WeightsError, match="does not start with 619a316812"):
        P.PortraitLandmarks("cpu", tmp_path)


def test_norm_input_face_takes_x_y_and_the_standard_face_depth():
    """STD_FACE_LANDMARKS.txt is the official file (its Git LFS sha-256 with CRLF line ends), and
    norm_input_face's depth is 0.1 x its third column, whatever the detector's depth was."""
    raw = P.STD_FACE.read_bytes().rstrip(b"\n").replace(b"\n", b"\r\n")
    assert hashlib.sha256(raw).hexdigest() == "169c8609091fa758d2777e87d738b2fd0c12a453a44988657564569ec9bd164a"
    rng = np.random.default_rng(0)
    pts = np.c_[rng.uniform(40, 216, (68, 2)), rng.normal(size=68)]
    pts[0, 0], pts[16, 0] = 40.0, 216.0
    face_id, scale, shift = P.norm_input_face(pts)
    fl = face_id.reshape(68, 3)
    np.testing.assert_allclose(fl[:, 2], np.loadtxt(P.STD_FACE)[:, 2] * 0.1, rtol=1e-6)
    assert abs(fl[0, 0] - fl[16, 0]) == pytest.approx(1.6) and scale == pytest.approx(1.6 / (40.0 - 216.0))
    np.testing.assert_allclose(-fl[:, :2] / scale - shift, pts[:, :2], atol=1e-4)
    adjusted = P.demo_adjust(pts)
    assert adjusted[50, 1] - pts[50, 1] == 1 and adjusted[56, 1] - pts[56, 1] == -1
    assert adjusted[37, 1] - pts[37, 1] == -2 and adjusted[41, 1] - pts[41, 1] == 2
    with pytest.raises(ValueError, match="degenerate"):
        P.norm_input_face(np.zeros((68, 2)))
