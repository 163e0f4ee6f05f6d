"""Every conformance pack lsbench implements passes through `lsbench conformance`,
and the judge rejects what it must."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import PACKS

from lsbench.cli import cli
from lsbench.conformance import procedural
from lsbench.conformance.judge import judge
from lsbench.conformance.runner import registered_packs

IMPLEMENTED = registered_packs()  # the packs the registrations name


@pytest.mark.parametrize("pack", IMPLEMENTED)
def test_pack_passes_through_the_cli(pack, tmp_path):
    r = CliRunner().invoke(cli, ["conformance", str(PACKS / pack), "--json", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)[0]
    assert report["pass"]
    expected_cases = [c["id"] for c in json.loads((PACKS / pack / "pack.json").read_text())["cases"]]
    assert [c["case"] for c in report["cases"]] == expected_cases
    for case in report["cases"]:
        assert case["error"] == ""
        assert (tmp_path / pack / f"{case['case']}.npz").is_file()
        if case["judged"]:
            assert all(o["pass"] and o["err_over_tol"] <= 1 for o in case["outputs"].values())


@pytest.mark.slow
def test_syncnet_lse_values(tmp_path):
    """The LSE case's scalars themselves, read back from the candidate files."""
    CliRunner().invoke(cli, ["conformance", str(PACKS / "syncnet"), "--case", "lse", "--out", str(tmp_path)])
    got = np.load(tmp_path / "syncnet" / "lse.npz")
    exp = json.loads((PACKS / "syncnet" / "expected.json").read_text())["lse"]
    assert int(got["offset"]) == exp["offset"]
    assert abs(float(got["conf"]) - exp["conf"]) <= 0.02
    assert abs(float(got["min_dist"]) - exp["min_dist"]) <= 1.0


def test_procedural_rule_self_test_values():
    """The README's self-test table of the procedural-v1 rule."""
    cases = [
        ({"key": "netcnnaud.0.weight", "shape": [64, 1, 3, 3], "kind": "weight"}, 13438812148476742573,
         [0.13219972, -0.169273078, 0.287837088]),
        ({"key": "netcnnaud.1.running_var", "shape": [64], "kind": "running_var"}, 2115303475010085853,
         [1.04657984, 1.0338099, 1.06057608]),
        ({"key": "conv2d_1/kernel:0", "shape": [7, 7, 6, 32], "kind": "weight", "fan_in": 294}, 14033981252070673725,
         [-0.00525208516, 0.0457764901, 0.043899022]),
        ({"key": "audio_content_encoder.weight_ih_l0", "shape": [1024, 80], "kind": "rnn_weight", "hidden": 256},
         3010275367971075279, [-0.018938154, 0.0132887848, 0.0192216765]),
    ]
    for entry, seed, first in cases:
        assert procedural.key_seed(entry["key"]) == seed
        v = procedural.tensor({**entry, "dtype": "float32"}, PACKS)
        np.testing.assert_allclose(v.ravel()[:3], first, rtol=1e-6)


def test_a_wrong_tensor_digest_is_caught(tmp_path):
    keys = json.loads((PACKS / "syncnet" / "keys.json").read_text())
    tset = keys["tensor_sets"]["syncnet"]
    tset["entries"][0]["sha256"] = "0" * 64
    with pytest.raises(ValueError, match="does not match its recorded sha-256"):
        procedural.materialize_set(tset, PACKS / "syncnet")


def test_judge_modes():
    exp = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert judge(exp + 0.01, exp, {"atol": 0.02}).ok
    assert not judge(exp + 0.03, exp, {"atol": 0.02}).ok
    assert not judge(exp[:1], exp, {"atol": 1}).ok  # shape
    assert judge(exp[::-1], exp, {"compare": "rows_unordered", "atol": 1e-9}).ok
    assert not judge(exp[::-1], exp, {"compare": "allclose", "atol": 1e-9}).ok
    assert not judge(np.array(3), np.array(4), {"compare": "exact"}).ok
    assert not judge(np.array([np.nan, 1.0]), np.array([0.0, 1.0]), {"atol": 10}).ok


def test_a_port_bug_fails_the_pack(monkeypatch, tmp_path):
    """BatchNorm eps 1e-5 -> 1e-3 (the packs' `bn_eps` bug) must make the syncnet pack fail."""
    from lsbench.conformance import calls_syncnet
    from lsbench.syncnet import model as M

    original = M.load_syncnet

    def buggy(*a, **k):
        net = original(*a, **k)
        for m in net.modules():
            if isinstance(m, (M.nn.BatchNorm1d, M.nn.BatchNorm2d, M.nn.BatchNorm3d)):
                m.eps = 1e-3
        return net

    monkeypatch.setattr(calls_syncnet, "load_syncnet", buggy)
    calls_syncnet._net.cache_clear()
    try:
        r = CliRunner().invoke(cli, ["conformance", str(PACKS / "syncnet"), "--case", "forward_aud"])
        assert r.exit_code == 1 and "FAIL" in r.output
    finally:
        calls_syncnet._net.cache_clear()


def test_every_pack_in_shared_is_implemented():
    packs = sorted(p.name for p in PACKS.iterdir() if (p / "pack.json").is_file())
    assert packs == sorted(IMPLEMENTED)


def test_a_folder_of_packs_stands_for_every_registered_pack(tmp_path):
    """`lsbench conformance ../shared/conformance` (make conformance) runs the packs the registrations
    name; a registered pack that is not there, or a pack no registration claims, is an error."""
    from lsbench.conformance.runner import expand_packs
    from lsbench.errors import LsbenchError

    assert expand_packs([PACKS]) == [PACKS / name for name in IMPLEMENTED]
    assert expand_packs([PACKS / "audio"]) == [PACKS / "audio"]
    some = tmp_path / "some"
    for name in IMPLEMENTED[:-1]:
        (some / name).mkdir(parents=True)
        (some / name / "pack.json").write_text("{}")
    with pytest.raises(LsbenchError, match=f"registered pack\\(s\\) {IMPLEMENTED[-1]} not there"):
        expand_packs([some])
    (some / IMPLEMENTED[-1]).mkdir()
    (some / IMPLEMENTED[-1] / "pack.json").write_text("{}")
    (some / "stranger").mkdir()
    (some / "stranger" / "pack.json").write_text("{}")
    with pytest.raises(LsbenchError, match="pack\\(s\\) stranger belong to no registration"):
        expand_packs([some])
