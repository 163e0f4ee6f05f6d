"""The weights manager against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import sys
import pickle
import socket
import threading
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from lsbench import weights as W
from lsbench.cli import cli
from lsbench.errors import WeightsError

PAYLOAD = os.urandom(300_000)
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.endswith("truncated.bin"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 3])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if self.path.endswith("missing.bin"):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        self.wfile.write(PAYLOAD)


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def spec(url, name="file.bin", sha=SHA, size=len(PAYLOAD)):
    return W.WeightSpec("test", name, f"{url}/{name}", sha, size, "test")


def test_fetch_success_is_atomic_and_cached(server, isolated_home):
    p = W.fetch(spec(server), progress=False)
    assert p == isolated_home / "weights" / "file.bin"
    assert p.read_bytes() == PAYLOAD
    assert not list(p.parent.glob(".*part*"))
    assert W.path(spec(server)) == p  # found and verified without a download


def test_unpublished_hash_is_pinned_on_first_download(server):
    s = spec(server, sha=None, size=None)
    W.fetch(s, progress=False)
    assert json.loads(W.lock_path().read_text()) == {
        "file.bin": {"sha256": SHA, "source": "official", "url": f"{server}/file.bin"}}
    W.cache_dir().joinpath("file.bin").write_bytes(PAYLOAD[:-1] + b"x")
    with pytest.raises(WeightsError, match="does not match"):
        W.path(s)


def test_wrong_hash_is_refused_and_nothing_is_kept(server):
    with pytest.raises(WeightsError, match="refused: sha-256") as e:
        W.fetch(spec(server, sha="0" * 64), progress=False)
    assert "file.bin" in str(e.value)
    assert not any(W.cache_dir().iterdir())


def test_truncated_transfer_is_refused(server):
    with pytest.raises(WeightsError, match="truncated|broke off"):
        W.fetch(spec(server, name="truncated.bin", sha=None, size=None), progress=False)
    assert not any(W.cache_dir().iterdir())


def test_server_down_names_url_file_and_weights_dir():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens
    with pytest.raises(WeightsError) as e:
        W.fetch(spec(f"http://127.0.0.1:{port}"), progress=False, timeout=5)
    msg = str(e.value)
    assert f"http://127.0.0.1:{port}/file.bin" in msg and "file.bin" in msg and "LSBENCH_WEIGHTS_DIR" in msg


def test_http_error_is_reported(server):
    with pytest.raises(WeightsError, match="404"):
        W.fetch(spec(server, name="missing.bin"), progress=False)


def test_weights_dir_is_searched_first(tmp_path, monkeypatch, server):
    (tmp_path / "file.bin").write_bytes(PAYLOAD)
    monkeypatch.setenv("LSBENCH_WEIGHTS_DIR", str(tmp_path))
    assert W.fetch(spec(server), progress=False) == tmp_path / "file.bin"
    (tmp_path / "file.bin").write_bytes(b"not it")
    with pytest.raises(WeightsError) as e:
        W.path(spec(server))
    assert str(tmp_path / "file.bin") in str(e.value)


def test_missing_weights_message():
    with pytest.raises(WeightsError) as e:
        W.path("syncnet")
    msg = str(e.value)
    assert "lsbench weights fetch syncnet" in msg and "LSBENCH_WEIGHTS_DIR" in msg and "syncnet_v2.model" in msg


def test_every_official_file_is_listed():
    files = {s.filename for s in W.all_specs()}
    assert {"syncnet_v2.model", "sfd_face.pth", "wav2lip.pth", "wav2lip_gan.pth", "lipsync_expert.pth",
            "lipgan_residual_mfcc.h5", "ckpt_autovc.pth", "ckpt_content_branch.pth", "ckpt_speaker_branch.pth",
            "ckpt_116_i2i_comb.pth", "pt_inception-2015-12-05-6726825d.pth"} <= files
    assert all(s.url.startswith(("http://", "https://")) for s in W.all_specs())
    assert [s.name for s in W.resolve(["makeittalk"])] == [
        "makeittalk_autovc", "makeittalk_content_branch", "makeittalk_speaker_branch", "makeittalk_i2i"]
    with pytest.raises(WeightsError, match="did you mean 'wav2lip'"):
        W.resolve(["wav2lp"])


def test_cli_fetch_through_a_mirror(server, monkeypatch):
    """LSBENCH_MIRROR stands in for the official source; what it gives must load as the file it is
    fetched for (the server's random bytes do not), so nothing is kept."""
    monkeypatch.setenv("LSBENCH_MIRROR", server)
    r = CliRunner().invoke(cli, ["weights", "fetch", "syncnet"])
    assert r.exit_code == 1 and f"mirror: {server}/syncnet_v2.model (LSBENCH_MIRROR)" in r.output, r.output
    assert "gave a file lsbench cannot load as syncnet" in r.output and "lsbench weights import syncnet" in r.output
    assert "source 1 of 1" in r.output  # the mirror stands in for the official URL: nothing else is tried
    assert not (W.cache_dir() / "syncnet_v2.model").exists()
    r = CliRunner().invoke(cli, ["weights", "path", "syncnet"])
    assert r.exit_code == 1 and "not found" in r.output


def test_a_file_behind_a_web_page_only_explains_the_manual_step():
    page = W.WeightSpec("test", "x.bin", "https://example.org/models#weights", None, None, "test", direct=False)
    with pytest.raises(WeightsError, match="LSBENCH_WEIGHTS_DIR") as e:
        W.fetch(page, progress=False)
    assert "https://example.org/models#weights" in str(e.value) and "not a direct file link" in str(e.value)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/lsbench_pwned",))


def test_pickle_with_code_is_refused_not_run(tmp_path):
    p = tmp_path / "evil.pth"
    with open(p, "wb") as f:
        torch.save({"state": _Evil()}, f, _use_new_zipfile_serialization=False, pickle_module=pickle)
    Path("/tmp/lsbench_pwned").unlink(missing_ok=True)
    with pytest.raises(WeightsError, match="refused") as e:
        W.load_torch(p)
    assert str(p) in str(e.value)
    assert not Path("/tmp/lsbench_pwned").exists()


def test_truncated_checkpoint_is_refused(tmp_path):
    p = tmp_path / "trunc.pth"
    torch.save({"w": torch.randn(1000)}, p)
    p.write_bytes(p.read_bytes()[:500])
    with pytest.raises(WeightsError, match="cannot be read"):
        W.load_torch(p)


def test_checkpoint_of_another_model_is_refused(procedural_weights):
    from lsbench.syncnet.model import load_syncnet

    with pytest.raises(WeightsError, match=r"not a valid SyncNet checkpoint: expected a plain state_dict; 102 tensors missing") as e:
        load_syncnet(procedural_weights / "sfd_face.pth")
    assert "sfd_face.pth" in str(e.value)


def test_hash_prefix_in_the_file_name_is_checked(server):
    """pytorch-fid's pt_inception-...-6726825d.pth style: the name's hex digits must start the sha-256."""
    good = W.WeightSpec("test", f"file-{SHA[:8]}.bin", f"{server}/file-{SHA[:8]}.bin", None, None, "test",
                        sha256_prefix=SHA[:8])
    assert W.fetch(good, progress=False).read_bytes() == PAYLOAD
    bad_prefix = "0" * 8 if not SHA.startswith("0" * 8) else "1" * 8
    bad = W.WeightSpec("test", f"other-{bad_prefix}.bin", f"{server}/other-{bad_prefix}.bin", None, None, "test",
                       sha256_prefix=bad_prefix)
    with pytest.raises(WeightsError, match=f"does not start with {bad_prefix}"):
        W.fetch(bad, progress=False)
    assert not (W.cache_dir() / bad.filename).exists() and W.lock_path().exists()
    assert bad.filename not in json.loads(W.lock_path().read_text())
    with pytest.raises(ValueError, match="not part of"):
        W.WeightSpec("test", "file.bin", "http://x/file.bin", None, None, "test", sha256_prefix="abcd")
    assert W.spec("fid_inception").sha256_prefix == "6726825d"


# ------------------------------------------------------------------ provenance states


def _state(s, p=None):
    rec = W.provenance(s, p)
    assert set(rec) == {"file", "path", "sha256", "state", "official", "why"}
    assert rec["official"] == (rec["state"] in ("verified", "pinned"))
    return rec


def test_verified_by_published_hash_and_by_name_prefix(server):
    rec = _state(spec(server), W.fetch(spec(server), progress=False))
    assert rec["state"] == "verified" and rec["official"] and rec["sha256"] == SHA and "published" in rec["why"]
    pref = W.WeightSpec("test", f"file-{SHA[:8]}.bin", f"{server}/file-{SHA[:8]}.bin", None, None, "test",
                        sha256_prefix=SHA[:8])
    rec = _state(pref, W.fetch(pref, progress=False))
    assert rec["state"] == "verified" and SHA[:8] in rec["why"] and rec["file"] == pref.filename


def test_pinned_from_the_official_url_and_from_an_old_lock_entry(server, tmp_path, monkeypatch):
    s = spec(server, sha=None, size=None)
    rec = _state(s, W.fetch(s, progress=False))
    assert rec["state"] == "pinned" and rec["official"] and "pinned" in rec["why"]
    W._write_lock({"file.bin": SHA})  # a lock written before sources were recorded: a bare hash
    assert _state(s)["state"] == "pinned" and W.expected_sha256(s) == SHA
    (tmp_path / "file.bin").write_bytes(PAYLOAD)  # the same bytes in the user's folder are the pinned file
    monkeypatch.setenv("LSBENCH_WEIGHTS_DIR", str(tmp_path))
    assert W.find(s) == tmp_path / "file.bin" and _state(s)["state"] == "pinned"


def test_mirror_downloads_are_recorded_but_never_pin_the_official_hash(server, monkeypatch):
    s = spec(server, sha=None, size=None)
    monkeypatch.setenv("LSBENCH_MIRROR", server)
    rec = _state(s, W.fetch(s, progress=False))
    assert rec["state"] == "mirror" and not rec["official"] and "LSBENCH_MIRROR" in rec["why"]
    assert W.expected_sha256(s) is None  # a mirror cannot vouch for the original
    assert json.loads(W.lock_path().read_text())["file.bin"]["source"] == "mirror"
    monkeypatch.delenv("LSBENCH_MIRROR")
    rec = _state(s, W.fetch(s, force=True, progress=False))  # now from the official URL: pinned
    assert rec["state"] == "pinned" and W.expected_sha256(s) == SHA
    monkeypatch.setenv("LSBENCH_MIRROR", server)  # a mirror copy equal to the official pin is the pinned file
    assert _state(s, W.fetch(s, force=True, progress=False))["state"] == "pinned"


def test_weights_dir_file_without_any_hash_is_mirror(tmp_path, monkeypatch):
    s = W.WeightSpec("test", "model.bin", "https://example.invalid/model.bin", None, None, "test")
    (tmp_path / "model.bin").write_bytes(PAYLOAD)
    monkeypatch.setenv("LSBENCH_WEIGHTS_DIR", str(tmp_path))
    rec = _state(s)
    assert rec["state"] == "mirror" and "LSBENCH_WEIGHTS_DIR" in rec["why"] and rec["path"] == str(tmp_path / "model.bin")
    assert W.state(s) == "mirror" and W.path(s) == tmp_path / "model.bin"  # loads, flagged
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "mine.bin").write_bytes(PAYLOAD)  # a file given by path (--weights)
    rec = _state(s, other / "mine.bin")
    assert rec["state"] == "mirror" and str(other) in rec["why"]
    monkeypatch.delenv("LSBENCH_WEIGHTS_DIR")
    assert W.state(s) == "missing"


def test_a_file_contradicting_the_pin_is_refused_and_never_official(server, tmp_path, monkeypatch):
    s = spec(server, sha=None, size=None)
    W.fetch(s, progress=False)
    (tmp_path / "file.bin").write_bytes(b"another file")
    monkeypatch.setenv("LSBENCH_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(WeightsError, match="does not match"):
        W.path(s)
    rec = _state(s, tmp_path / "file.bin")
    assert rec["state"] == "mirror" and "differs" in rec["why"]


def test_procedural_files_carry_a_sidecar_and_load_despite_their_names(shared, tmp_path, monkeypatch):
    """The fid pack's file is named pt_inception-...-6726825d.pth, but its sha-256 cannot start with
    6726825d: as procedural weights it still loads, flagged non-official."""
    from lsbench.conformance.procedural import write_checkpoint

    fid_pack = shared / "conformance" / "fid"
    ck = json.loads((fid_pack / "pack.json").read_text())["checkpoints"][0]
    p = write_checkpoint(fid_pack, ck, tmp_path)
    side = json.loads(W.sidecar_path(p).read_text())
    assert side == {"rule": "procedural-v1", "pack": "fid", "sha256": W.sha256_file(p)}
    s = W.spec("fid_inception")
    assert not side["sha256"].startswith(s.sha256_prefix)
    monkeypatch.setenv("LSBENCH_WEIGHTS_DIR", str(tmp_path))
    assert W.path(s) == p  # not refused
    rec = _state(s)
    assert rec["state"] == "procedural" and not rec["official"] and "pack fid" in rec["why"]
    with open(p, "ab") as f:  # the sidecar no longer describes the file: the prefix rule applies again
        f.write(b"\0")
    with pytest.raises(WeightsError, match="does not start with 6726825d"):
        W.path(s)
    assert _state(s)["state"] == "mirror"


def test_weights_lsbench_never_sees_are_unverified():
    rec = W.unverified("their-model", sha256="ab" * 32)
    assert rec == {"file": "their-model", "path": None, "sha256": "ab" * 32, "state": "unverified",
                   "official": False, "why": "weights used outside lsbench: it never saw the file"}


# ------------------------------------------------------------------ specs through the registry, verify, ls


def test_specs_come_from_the_registry_once_each(tmp_path, monkeypatch):
    from lsbench.registry import DETECTORS, METRICS, MODELS

    named = [s.name for reg in (DETECTORS, MODELS, METRICS) for e in reg for s in W.specs_of(e.weights)]
    listed = [s.name for s in W.all_specs()]
    assert listed == list(dict.fromkeys(named))  # registry order, duplicates (wav2lip via expert-sync) once
    assert [s.name for s in W.specs_of(MODELS.entry("wav2lip-gan").weights)] == ["wav2lip_gan"]
    (tmp_path / "throwaway_specs.py").write_text(
        "from lsbench.weights import WeightSpec\n"
        "WEIGHTS = [WeightSpec('throwaway_net', 'throwaway.pth', 'https://example.invalid/t.pth', None, None, 'tw')]\n")
    # sys.path by hand: syspath_prepend calls pkg_resources, which this venv may lack
    monkeypatch.setattr(sys, "path", [str(tmp_path)] + sys.path)
    monkeypatch.delitem(sys.modules, "throwaway_specs", raising=False)
    MODELS.register("throwaway", "lsbench.models.reference_rows:StaticFrame", "a test entry",
                    weights="throwaway_specs:WEIGHTS, lsbench.syncnet.specs:WEIGHTS")
    try:
        specs = W.all_specs()
        assert [s.name for s in specs].count("syncnet") == 1 and "throwaway_net" in [s.name for s in specs]
        assert W.spec("throwaway-net").filename == "throwaway.pth"
        r = CliRunner().invoke(cli, ["ls", "models"])
        assert r.exit_code == 0 and "weights throwaway-net (throwaway.pth): missing" in r.output
    finally:
        MODELS.unregister("throwaway")
    assert "throwaway_net" not in [s.name for s in W.all_specs()]
    with pytest.raises(ValueError, match="no spec named 'nope'"):
        W.specs_of("lsbench.models.wav2lip:WEIGHTS#nope")


def test_ls_prints_each_entry_with_its_weights_state(procedural_weights, tmp_path, monkeypatch):
    wd = tmp_path / "wd"
    wd.mkdir()
    for f in ("sfd_face.pth", "sfd_face.pth" + W.SIDECAR_SUFFIX, "wav2lip.pth", "wav2lip.pth" + W.SIDECAR_SUFFIX):
        (wd / f).write_bytes((procedural_weights / f).read_bytes())
    (wd / "lipgan_residual_mfcc.h5").write_bytes((procedural_weights / "lipgan_residual_mfcc.h5").read_bytes())
    syncnet = (procedural_weights / "syncnet_v2.model").read_bytes()
    W.cache_dir().mkdir(parents=True)
    (W.cache_dir() / "syncnet_v2.model").write_bytes(syncnet)
    W._write_lock({"syncnet_v2.model": hashlib.sha256(syncnet).hexdigest()})  # as if fetched from the official URL
    monkeypatch.setenv("LSBENCH_WEIGHTS_DIR", str(wd))
    out = CliRunner().invoke(cli, ["ls"]).output
    for kind in ("datasets", "detectors", "models", "metrics", "protocols"):
        assert f"\n{kind}\n" in f"\n{out}"
    assert "weights s3fd (sfd_face.pth): procedural" in out
    assert "weights wav2lip (wav2lip.pth): procedural" in out
    assert "weights lipgan (lipgan_residual_mfcc.h5): mirror" in out  # no sidecar, no hash: mirror
    assert "weights syncnet (syncnet_v2.model): pinned" in out
    assert "weights wav2lip-gan (wav2lip_gan.pth): missing" in out
    assert "synctalkface.ckpt): missing (none released: lsbench train --model synctalkface)" in out
    assert "lrs2" in out and "LRS2 (mvlrs_v1" in out and "random-reference" in out
    only = CliRunner().invoke(cli, ["ls", "detectors"]).output
    assert only.splitlines()[0] == "detectors" and "\nmodels\n" not in only and "dlib-hog" in only
    listing = CliRunner().invoke(cli, ["weights", "list"]).output
    rows = {line.split()[0]: line.split() for line in listing.splitlines()[1:]}
    assert rows["syncnet"][2] == "pinned" and rows["s3fd"][2] == "procedural" and rows["lipgan"][2] == "mirror"
    assert rows["wav2lip-gan"][2] == "missing" and rows["synctalkface"][2] == "missing"


def test_verify_loads_files_no_hash_vouches_for(procedural_weights, tmp_path, monkeypatch):
    """issue 17: a 1,000-byte random file named syncnet_v2.model must fail verify."""
    monkeypatch.setenv("LSBENCH_WEIGHTS_DIR", str(tmp_path))
    (tmp_path / "syncnet_v2.model").write_bytes(os.urandom(1000))
    r = CliRunner().invoke(cli, ["weights", "verify", "syncnet"])
    assert r.exit_code == 1
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("BAD"))
    assert str(tmp_path / "syncnet_v2.model") in line and "SyncNet checkpoint cannot be read" in line
    (tmp_path / "syncnet_v2.model").write_bytes((procedural_weights / "sfd_face.pth").read_bytes())  # another model
    r = CliRunner().invoke(cli, ["weights", "verify", "syncnet"])
    assert r.exit_code == 1 and "not a valid SyncNet checkpoint" in r.output and "tensors missing" in r.output
    (tmp_path / "syncnet_v2.model").write_bytes((procedural_weights / "syncnet_v2.model").read_bytes())
    r = CliRunner().invoke(cli, ["weights", "verify", "syncnet"])
    assert r.exit_code == 0, r.output
    assert "mirror" in r.output and "load_syncnet: keys and shapes match" in r.output
    r = CliRunner().invoke(cli, ["weights", "verify"])  # every file: absent ones are reported, not failures
    assert r.exit_code == 0 and "missing wav2lip " in r.output
    r = CliRunner().invoke(cli, ["weights", "verify", "wav2lip"])  # asked for by name and absent: a failure
    assert r.exit_code == 1


@pytest.mark.slow
def test_verify_checks_each_loader_against_its_own_file(procedural_weights_with_fid):
    """Every weight spec that names a loader loads its procedural file through it and refuses a file
    of another model; a spec that names none is said to have none (None), never guessed."""
    specs = {s.name: s for s in W.all_specs()}
    with_loader = sorted(n for n, s in specs.items() if s.loader)
    assert with_loader == sorted(["syncnet", "s3fd", "wav2lip", "wav2lip_gan", "lipsync_expert", "lipgan",
                                  "synctalkface", "makeittalk_autovc", "makeittalk_content_branch",
                                  "makeittalk_speaker_branch", "makeittalk_i2i", "fid_inception"])
    for name in with_loader:
        s = specs[name]
        assert W.load_check(s, procedural_weights_with_fid / s.filename)
        wrong = procedural_weights_with_fid / ("sfd_face.pth" if name != "s3fd" else "syncnet_v2.model")
        with pytest.raises(WeightsError, match=str(wrong)):
            W.load_check(s, wrong)
    assert W.load_check(specs["face_alignment_depth"], procedural_weights_with_fid / "sfd_face.pth") is None


def test_no_release_means_no_download_suggestion():
    r = CliRunner().invoke(cli, ["weights", "fetch", "synctalkface"])
    assert r.exit_code == 1
    assert "released no weights" in r.stderr and "lsbench train --model synctalkface" in r.stderr
    assert "download it there" not in r.stderr
    with pytest.raises(WeightsError) as e:
        W.path("synctalkface")
    assert "lsbench train --model synctalkface" in str(e.value) and "weights fetch" not in str(e.value)


def test_one_spelling_for_wav2lip_gan(server, monkeypatch):
    assert W.public_name(W.spec("wav2lip_gan")) == "wav2lip-gan" and W.spec("wav2lip-gan").filename == "wav2lip_gan.pth"
    monkeypatch.setenv("LSBENCH_MIRROR", server)
    r = CliRunner().invoke(cli, ["weights", "fetch", "wav2lip_gan"])  # the server's random bytes: refused on loading
    assert r.exit_code == 1 and "'wav2lip_gan' are now spelled 'wav2lip-gan'" in r.stderr
    assert r.stderr.splitlines()[-1].split()[:2] == ["failed", "wav2lip-gan"] and "cannot load as wav2lip_gan" in r.stderr
    with pytest.raises(WeightsError) as e:
        W.path("lipsync-expert")
    assert "lsbench weights fetch lipsync-expert" in str(e.value)
    r = CliRunner().invoke(cli, ["evaluate", "--model", "wav2lip_gan", "--data", "/nonexistent"])
    assert "model 'wav2lip_gan' is spelled 'wav2lip-gan'" in r.stderr


def test_files_a_pip_package_ships_are_managed_weights_that_never_download(tmp_path, monkeypatch):
    """dlib's models come inside face-recognition-models: the weights manager finds them there, checks
    size and sha-256, shows their state, and never downloads or imports a replacement."""
    from lsbench import landmarks

    monkeypatch.setenv("LSBENCH_WEIGHTS_DIR", str(tmp_path))  # a stand-in here must not be taken for the package's
    (tmp_path / landmarks.SHAPE_68.filename).write_bytes(b"not the model")
    found = W.find(landmarks.SHAPE_68)
    assert found is not None and found.parent.name == "models" and found.parent.parent.name == "face_recognition_models"
    record = W.provenance(landmarks.SHAPE_68, found)
    assert record["state"] == "verified" and record["official"] and "face-recognition-models" in record["why"]
    assert W.fetch(landmarks.SHAPE_68, force=True) == found  # present: nothing is fetched, even with --force
    with pytest.raises(WeightsError, match="ships, never an imported one"):
        W.import_file(landmarks.SHAPE_68, tmp_path / landmarks.SHAPE_68.filename)
    listing = CliRunner().invoke(cli, ["ls", "metrics"]).output
    assert "weights dlib-shape-68 (shape_predictor_68_face_landmarks.dat): verified" in listing
    assert "weights dlib-face-resnet (dlib_face_recognition_resnet_model_v1.dat): verified" in listing

    monkeypatch.setattr(W, "package_file", lambda s: None)  # the package not installed
    with pytest.raises(WeightsError, match="pip install face-recognition-models"):
        W.fetch(landmarks.SHAPE_68)
    from lsbench.errors import Failure

    landmarks._provenance.cache_clear()
    landmarks._checked.cache_clear()
    try:
        with pytest.raises(Failure, match="pip install face-recognition-models") as exc:
            landmarks.metric_weights(landmarks.SHAPE_68)
        assert exc.value.code == "unavailable"  # the metric is skipped with this line, the run goes on
    finally:
        landmarks._provenance.cache_clear()
        landmarks._checked.cache_clear()


def test_a_remembered_file_hash_is_the_file_s_own(tmp_path, monkeypatch):
    """sha256_file remembers a settled file by its identity: a second call reads nothing, a rewrite (a new
    mtime/ctime) is hashed anew, a file written just now is never remembered (a same-size rewrite inside one
    timestamp tick would keep its key), and the memo stays bounded."""
    monkeypatch.setattr(W, "_hashes", {})
    f = tmp_path / "w.pth"
    first, second = os.urandom(3 << 20), os.urandom(3 << 20)
    f.write_bytes(first)
    assert W.sha256_file(f) == hashlib.sha256(first).hexdigest() and W._hashes == {}  # just written: not kept
    f.write_bytes(second)  # same size, very likely the same timestamp tick: still seen
    assert W.sha256_file(f) == hashlib.sha256(second).hexdigest()

    monkeypatch.setattr(W, "SETTLED_NS", 0)  # as if the file were old
    assert W.sha256_file(f) == hashlib.sha256(second).hexdigest() and len(W._hashes) == 1
    reads = []
    monkeypatch.setattr(W, "open", lambda *a, **k: reads.append(a) or open(*a, **k), raising=False)
    assert W.sha256_file(f) == hashlib.sha256(second).hexdigest() and reads == []  # remembered: not read
    f.write_bytes(first)
    os.utime(f, ns=(1_000_000_000, 1_000_000_000))  # another mtime (and a new ctime): another file
    assert W.sha256_file(f) == hashlib.sha256(first).hexdigest() and len(reads) == 1

    monkeypatch.setattr(W, "HASH_MEMO", 2)
    for i in range(3):
        (tmp_path / f"{i}.bin").write_bytes(bytes([i]) * 10)
        W.sha256_file(tmp_path / f"{i}.bin")
    assert len(W._hashes) == 2
