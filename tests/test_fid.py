"""FID equal to pytorch-fid 0.3.0: the network and its loader, deliberate port bugs that the
`fid` pack must reject, `lsbench fid` as a drop-in for `python -m pytorch_fid`, properties that
hold on any images (checked on frames cut from ../shared/media, not on the pack's inputs), and
the Frechet distance's fallback and error branches on hand-made matrices.

The pack itself runs through `lsbench conformance` in tests/test_conformance.py."""

from __future__ import annotations

import dataclasses
import json
import re
import warnings

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import MEDIA, PACKS

from lsbench.cli import cli
from lsbench.errors import LsbenchError, WeightsError
from lsbench.fid import (PYTORCH_FID, TORCHVISION_BLOCKS, FIDError, FIDInception, features, fid_from_activations,
                         fid_from_activations_svd, frechet_distance, load_inception, statistics)
from lsbench.fid.folders import folder_activations, image_files, score_folders

PACK = PACKS / "fid"
FEATURE_CASES = ["features_96", "features_299", "features_nonsquare", "features_large"]


@pytest.fixture(scope="session")
def fid_weights(tmp_path_factory, shared):
    """The pack's procedural pt_inception file, written in the official format."""
    from lsbench.conformance.procedural import write_checkpoint

    ck = json.loads((PACK / "pack.json").read_text())["checkpoints"][0]
    return write_checkpoint(PACK, ck, tmp_path_factory.mktemp("fid_weights"))


@pytest.fixture(scope="session")
def net(fid_weights):
    return load_inception(fid_weights)


@pytest.fixture(scope="session")
def frames(shared):
    """Real frames from two clips the public pack does not use (2 frames/s, so they differ)."""
    from lsbench.media import read_frames

    return {"latentsync": read_frames(MEDIA / "latentsync" / "demo1_video.mp4", fps=2, max_frames=6),
            "retalking": read_frames(MEDIA / "videoretalking" / "face_2.mp4", fps=2, max_frames=6)}


def _crop(frame: np.ndarray, h: int, w: int, dy: int = 0) -> np.ndarray:
    y, x = (frame.shape[0] - h) // 2 + dy, (frame.shape[1] - w) // 2
    return np.ascontiguousarray(frame[y:y + h, x:x + w])


def _write_pngs(folder, images, names):
    from PIL import Image

    folder.mkdir(parents=True)
    for img, name in zip(images, names):
        Image.fromarray(img).save(folder / name)
    return folder


def _case(pack_case: str) -> dict:
    return next(c for c in json.loads((PACK / "pack.json").read_text())["cases"] if c["id"] == pack_case)


# ----------------------------------------------------------------------------- network and loader
def test_state_dict_is_the_pack_tensor_set_in_file_order():
    entries = json.loads((PACK / "keys.json").read_text())["tensor_sets"]["fid_inception"]["entries"]
    own = FIDInception().state_dict()
    assert len(own) == len(entries) == 472
    assert [(k, tuple(v.shape)) for k, v in own.items()] == [(e["key"], tuple(e["shape"])) for e in entries]
    assert not any(k.endswith("num_batches_tracked") for k in own)


def test_loader_errors_name_the_file(fid_weights, tmp_path, monkeypatch):
    full = fid_weights.read_bytes()
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(full[: len(full) // 2])
    with pytest.raises(WeightsError, match=re.escape(str(truncated)) + ".*cannot be read"):
        load_inception(truncated)

    state = torch.load(fid_weights, weights_only=True)
    del state["Mixed_7c.branch_pool.bn.running_var"]
    state["Mixed_7c.extra"] = torch.zeros(1)
    wrong = tmp_path / "wrong.pth"
    torch.save(state, wrong)
    with pytest.raises(WeightsError) as err:
        load_inception(wrong)
    msg = str(err.value)
    assert msg.startswith(str(wrong)) and "1 tensors missing (Mixed_7c.branch_pool.bn.running_var)" in msg
    assert "1 unexpected tensors (Mixed_7c.extra)" in msg and "\n" not in msg

    # Through the CLI: one line, exit 1, no traceback.
    r = CliRunner().invoke(cli, ["fid", str(PACK / "folders" / "a"), str(PACK / "folders" / "b"),
                                 "--weights", str(truncated)])
    assert r.exit_code == 1 and r.output.startswith("lsbench: error: " + str(truncated))
    assert "Traceback" not in r.output

    # The managed file: absent -> how to get it; a file that is not the published one -> refused
    # by the sha-256 prefix in its name (the procedural file is such a file).
    with pytest.raises(WeightsError, match="lsbench weights fetch fid-inception"):
        load_inception()
    plain = tmp_path / "plain"  # the procedural file without its sidecar: an unknown file under the official name
    plain.mkdir()
    (plain / fid_weights.name).write_bytes(fid_weights.read_bytes())
    monkeypatch.setenv("LSBENCH_WEIGHTS_DIR", str(plain))
    with pytest.raises(WeightsError, match="does not start with 6726825d"):
        load_inception()
    monkeypatch.setenv("LSBENCH_WEIGHTS_DIR", str(fid_weights.parent))  # with its sidecar: procedural, loads
    assert load_inception() is not None


def test_a_resaved_file_with_batch_counters_loads_the_same(net, fid_weights, tmp_path, frames):
    state = torch.load(fid_weights, weights_only=True)
    for k in [k for k in state if k.endswith(".running_var")]:
        state[k.replace("running_var", "num_batches_tracked")] = torch.tensor(7)
    resaved = tmp_path / "resaved.pth"
    torch.save(state, resaved)
    img = _crop(frames["retalking"][0], 120, 100)[None]
    np.testing.assert_array_equal(features(load_inception(resaved), img), features(net, img))


# ----------------------------------------------------------------------------- deliberate port bugs
BUGS = {
    "bn_eps": (dataclasses.replace(PYTORCH_FID, bn_eps=1e-5), FEATURE_CASES),
    # At 299x299 the resize is the identity whatever the corner convention: that case must pass.
    "align_corners": (dataclasses.replace(PYTORCH_FID, align_corners=True), ["features_96", "features_nonsquare",
                                                                      "features_large"]),
    "torchvision_blocks": (TORCHVISION_BLOCKS, FEATURE_CASES),
}


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_deliberate_port_bugs_fail_the_feature_cases(bug, monkeypatch):
    from lsbench.conformance import calls_fid
    from lsbench.conformance.runner import run_pack

    conventions, must_fail = BUGS[bug]
    monkeypatch.setattr(calls_fid, "CONVENTIONS", conventions)
    report = run_pack(PACK, cases=FEATURE_CASES)
    assert [c.case for c in report.cases] == FEATURE_CASES and not report.ok
    for c in report.cases:
        assert not c.error, c.error
        ratio = c.outputs["pool3"].worst_ratio
        if c.case in must_fail:
            assert not c.ok and ratio > 5, (bug, c.case, ratio)
            print(f"{bug} {c.case}: err/tol {ratio:.1f}")
        else:
            assert c.ok, (bug, c.case, ratio)


# ----------------------------------------------------------------------------- lsbench fid
def _fid_value(output: str) -> float:
    m = re.fullmatch(r"FID:  (\S+)\n", output)
    assert m, output
    return float(m.group(1))


@pytest.mark.slow
def test_cli_prints_the_pack_score_and_save_stats_round_trips(fid_weights, net, tmp_path):
    case = _case("score_folders")
    expected = float(json.loads((PACK / "expected.json").read_text())["score_folders"])
    a, b = PACK / case["inputs"]["folder_a"], PACK / case["inputs"]["folder_b"]
    bs = str(case["params"]["batch_size"])
    runner = CliRunner()  # click >= 8.2: result.stdout holds stdout only

    r = runner.invoke(cli, ["fid", str(a), str(b), "--batch-size", bs, "--weights", str(fid_weights),
                            "--device", "cpu"])
    assert r.exit_code == 0, r.output
    value = _fid_value(r.stdout)
    assert abs(value - expected) <= case["tolerance"]["rtol"] * abs(expected)

    stats = tmp_path / "a_stats.npz"
    r = runner.invoke(cli, ["fid", "--save-stats", str(a), str(stats), "--batch-size", bs,
                            "--weights", str(fid_weights)])
    assert r.exit_code == 0 and r.stdout == f"Saving statistics for {a}\n", r.output
    with np.load(stats) as f:
        mu, sigma = statistics(folder_activations(net, a, int(bs)))
        np.testing.assert_array_equal(f["mu"], mu)
        np.testing.assert_array_equal(f["sigma"], sigma)
    r = runner.invoke(cli, ["fid", str(stats), str(b), "--batch-size", bs, "--weights", str(fid_weights)])
    assert r.exit_code == 0, r.output
    assert _fid_value(r.stdout) == value  # the same statistics, so the same number to the last digit

    r = runner.invoke(cli, ["fid", "--save-stats", str(a), str(stats), "--weights", str(fid_weights)])
    assert r.exit_code == 1 and "exists already" in r.output


def test_cli_help_says_what_it_replaces():
    r = CliRunner().invoke(cli, ["fid", "--help"])
    text = " ".join(r.output.split())  # click wraps lines
    assert r.exit_code == 0
    assert "python -m pytorch_fid A B" in text and "--save-stats" in text and "--weights" in text
    assert "fid" in CliRunner().invoke(cli, ["--help"]).output


def test_cli_bad_inputs_are_one_line_errors(fid_weights, tmp_path, frames):
    a = PACK / "folders" / "a"
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    broken = _write_pngs(tmp_path / "broken", [_crop(frames["retalking"][0], 96, 96)] * 2, ["0.png", "1.png"])
    (broken / "1.png").write_bytes((broken / "1.png").read_bytes()[:200])
    cases = [
        ([str(a), str(a), "--dims", "768"], "--dims 768: only 2048 (pool3) is ported"),
        ([str(a), str(tmp_path / "missing")], f"{tmp_path / 'missing'}: no such folder or statistics file"),
        ([str(a), str(empty)], f"{empty}: no images in it"),
        ([str(broken), str(a)], f"{broken / '1.png'}: image cannot be decoded"),
        ([str(tmp_path / "nothing.npz"), str(a)], f"{tmp_path / 'nothing.npz'}: no such folder or statistics file"),
    ]
    for args, message in cases:
        r = CliRunner().invoke(cli, ["fid", *args, "--weights", str(fid_weights)])
        assert r.exit_code == 1, (args, r.output)
        assert r.output.startswith("lsbench: error: ") and message in r.output, (args, r.output)
        assert r.output.count("\n") == 1 and "Traceback" not in r.output


# ----------------------------------------------------------------------------- properties on other images
def test_299_input_skips_the_resize_exactly(net, frames):
    img = np.stack([_crop(f, 299, 299) for f in frames["latentsync"][:2]])
    x = torch.from_numpy(img).permute(0, 3, 1, 2).float().div(255)
    with torch.inference_mode():
        direct = net.pool3(2 * x - 1).double().numpy()
    np.testing.assert_array_equal(features(net, img), direct)
    # ... and a 300x300 input does go through the resize (the comparison above can fail).
    img300 = np.stack([_crop(f, 300, 300) for f in frames["latentsync"][:2]])
    x300 = torch.from_numpy(img300).permute(0, 3, 1, 2).float().div(255)
    with torch.inference_mode():
        unresized = net.pool3(2 * x300 - 1).double().numpy()
    assert np.abs(features(net, img300) - unresized).max() > 1e-3


def test_mixed_sizes_equal_one_by_one_in_input_order(net, frames):
    sizes = [(96, 96), (160, 120), (96, 96), (299, 299), (160, 120), (300, 400), (96, 96)]
    src = list(frames["retalking"]) + list(frames["latentsync"])
    images = [_crop(src[i], h, w, dy=7 * i) for i, (h, w) in enumerate(sizes)]
    together = features(net, images, batch_size=2)
    one_by_one = np.concatenate([features(net, img[None]) for img in images])
    assert together.shape == (len(images), 2048) and together.dtype == np.float64
    np.testing.assert_allclose(together, one_by_one, rtol=0, atol=1e-5)
    assert np.abs(together[0] - together[2]).max() > 1e-3  # different images, different rows


@pytest.mark.slow
def test_png_folder_gives_the_array_features_and_order_does_not_matter(net, frames, tmp_path):
    images = [_crop(f, 128, 112) for f in frames["latentsync"]]
    names = [f"{i:03d}.png" for i in range(len(images))]
    a = _write_pngs(tmp_path / "a", images, names)
    act = folder_activations(net, a, batch_size=4)
    np.testing.assert_allclose(act, features(net, np.stack(images), batch_size=4), rtol=0, atol=1e-6)

    perm = [3, 0, 5, 1, 4, 2]
    shuffled = _write_pngs(tmp_path / "shuffled", [images[p] for p in perm], names)
    (shuffled / "extra.txt").write_text("ignored, as pytorch-fid ignores it")
    assert [f.name for f in image_files(shuffled)] == names
    act_s = folder_activations(net, shuffled, batch_size=4)
    np.testing.assert_allclose(act_s, act[perm], rtol=0, atol=1e-6)
    for x, y in zip(statistics(act_s), statistics(act)):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-15)


def test_frechet_on_real_activations_is_zero_for_itself_and_symmetric(net, frames):
    """FID(A, A) ~ 0 up to sqrtm's noise on singular covariances (6 images), FID(A, B) = FID(B, A),
    and both far above that noise for two different clips. On the first 512 pool3 channels: the
    branches are the same as at 2048 (6 images, singular covariances), and a 2048 x 2048 sqrtm
    costs half a minute on two cores (the pack and CLI tests run four of those)."""
    act_a = features(net, np.stack([_crop(f, 200, 160) for f in frames["latentsync"]]))[:, :512]
    act_b = features(net, np.stack([_crop(f, 200, 160) for f in frames["retalking"]]))[:, :512]
    ab, ba = fid_from_activations(act_a, act_b), fid_from_activations(act_b, act_a)
    aa = fid_from_activations(act_a, act_a)
    scale = np.trace(statistics(act_a)[1])
    assert abs(aa) < 1e-5 * scale
    assert abs(ab - ba) < 1e-5 * ab
    assert ab > 1e3 * abs(aa)
    # The sqrtm-free route agrees within the pack's FID tolerance (rtol 1e-4) and is exactly 0 on A, A.
    assert abs(fid_from_activations_svd(act_a, act_b) - ab) < 1e-4 * ab
    assert abs(fid_from_activations_svd(act_a, act_a)) < 1e-9 * scale


# ----------------------------------------------------------------------------- Frechet branches
def test_singular_product_falls_back_to_the_eps_offset():
    """sigma1 @ sigma2 = [[0, 1], [0, 0]] has no square root (scipy returns inf); with eps*I added
    the product is (1 + eps) [[eps, 1], [0, eps]], whose root has trace 2 sqrt(eps (1 + eps))."""
    eps = 1e-6
    s1, s2 = np.eye(2), np.array([[0.0, 1.0], [0.0, 0.0]])
    mu1, mu2 = np.array([0.5, -1.0]), np.array([0.0, 1.0])
    with pytest.warns(RuntimeWarning, match="singular product; adding 1e-06"):
        got = frechet_distance(mu1, s1, mu2, s2, eps=eps)
    want = 0.25 + 4.0 + 2.0 + 0.0 - 2 * 2 * np.sqrt(eps * (1 + eps))
    assert np.isfinite(got) and abs(got - want) < 1e-12
    with warnings.catch_warnings():  # a well-conditioned product takes no fallback
        warnings.simplefilter("error", RuntimeWarning)
        assert abs(frechet_distance(mu1, 4 * np.eye(2), mu2, np.eye(2)) - (4.25 + 8 + 2 - 2 * 2 * 2)) < 1e-12


def test_imaginary_part_is_dropped_when_small_and_refused_when_not():
    small = frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.diag([-1e-8, 1.0]))
    assert abs(small - (2 + (1 - 1e-8) - 2 * 1.0)) < 1e-12  # root diag(1e-4 i, 1): real part kept
    with pytest.raises(FIDError, match=r"Imaginary component 1\.0") as err:
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.diag([-1.0, 1.0]))
    assert isinstance(err.value, ValueError) and isinstance(err.value, LsbenchError)
    with pytest.raises(FIDError, match="differ in length"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(FIDError, match="at least 2 images"):
        statistics(np.zeros((1, 2048)))


def test_score_folders_reads_saved_statistics_without_a_network(tmp_path):
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((40, 6)), rng.standard_normal((50, 6)) + 0.3
    np.savez(tmp_path / "x.npz", mu=x.mean(0), sigma=np.cov(x, rowvar=False))
    np.savez(tmp_path / "y.npz", mu=y.mean(0), sigma=np.cov(y, rowvar=False))
    np.savez(tmp_path / "bad.npz", mean=x.mean(0))
    assert score_folders(tmp_path / "x.npz", tmp_path / "y.npz") == pytest.approx(fid_from_activations(x, y), rel=1e-12)
    with pytest.raises(LsbenchError, match="bad.npz: not FID statistics"):
        score_folders(tmp_path / "bad.npz", tmp_path / "y.npz")
