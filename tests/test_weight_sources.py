"""Weights a researcher can get (issue 26): ordered sources, Google Drive's confirmation step and
folder listing (against a local imitation, tests/drive_imitation.py), pinning on the first
official download, a changed file refused unless accepted, mirrors recorded as mirrors, and
`weights import` of a file the user already has."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from drive_imitation import DriveImitation
from lsbench import weights as W
from lsbench.cli import cli
from lsbench.weight_sources import confirm_url, folder_files, page_reason

WAV2LIP_FOLDER = "153HLrqlBNxzZcHi17PEvP09kkAfzRshM"
GAN_FILE = "15G3U08c8xsCkOqQxE38Z2XXDnPcOptNk"
CHECKPOINTS = "1I-0dNLfFOSFwrfqjNa-SXuwaURHE5K4k"


@pytest.fixture
def drive(monkeypatch):
    with DriveImitation() as d:
        monkeypatch.setenv("LSBENCH_GDRIVE_URL", d.url)
        yield d


def _lock():
    return json.loads(W.lock_path().read_text())


def _other_checkpoint(procedural_weights, tmp_path):
    """wav2lip.pth's format with one weight changed: what a re-upload by the authors would look like."""
    ckpt = torch.load(procedural_weights / "wav2lip.pth", map_location="cpu", weights_only=False)
    key = next(iter(ckpt["state_dict"]))
    ckpt["state_dict"][key] = ckpt["state_dict"][key] + 1e-3
    torch.save(ckpt, tmp_path / "new.pth")
    return (tmp_path / "new.pth").read_bytes()


def test_wav2lip_from_its_drive_folder_is_confirmed_and_pinned_and_a_new_hash_needs_consent(
        drive, procedural_weights, tmp_path):
    first = (procedural_weights / "wav2lip.pth").read_bytes()
    drive.add("w2l-id", "wav2lip.pth", first)
    drive.folders[WAV2LIP_FOLDER] = ["folder:older", "w2l-id"]
    r = CliRunner().invoke(cli, ["weights", "fetch", "wav2lip"])
    assert r.exit_code == 0 and "pinned" in r.output, r.output
    assert [p.split("?")[0] for p in drive.requests] == ["/embeddedfolderview", "/uc", "/download"]
    cached = W.cache_dir() / "wav2lip.pth"
    assert cached.read_bytes() == first
    entry = _lock()["wav2lip.pth"]
    assert entry["source"] == "official" and entry["sha256"] == W.sha256_file(cached) and "/download?" in entry["url"]
    listing = CliRunner().invoke(cli, ["weights", "list"]).output
    assert f"source 1: official: wav2lip.pth in Google Drive folder {WAV2LIP_FOLDER}" in listing
    assert any(line.startswith("wav2lip ") and " pinned " in line for line in listing.splitlines())

    drive.files["w2l-id"] = _other_checkpoint(procedural_weights, tmp_path)  # the authors replace the file
    r = CliRunner().invoke(cli, ["weights", "fetch", "wav2lip", "--force"])
    assert r.exit_code == 1 and "pinned at the first official download" in r.output, r.output
    assert "--accept-new-hash" in r.output and f"Google Drive folder {CHECKPOINTS} " in r.output  # source 2 failed too
    assert cached.read_bytes() == first and _lock()["wav2lip.pth"] == entry
    r = CliRunner().invoke(cli, ["weights", "fetch", "wav2lip", "--force", "--accept-new-hash"])
    assert r.exit_code == 0 and "pinned" in r.output, r.output
    new = _lock()["wav2lip.pth"]
    assert new["sha256"] == W.sha256_file(cached) != entry["sha256"]
    assert new["history"][0]["sha256"] == entry["sha256"] and new["history"][0]["by"] == "--accept-new-hash"


def test_a_dead_source_is_one_line_and_the_next_one_delivers(drive, procedural_weights):
    drive.add("gan-id", "wav2lip_gan.pth", (procedural_weights / "wav2lip_gan.pth").read_bytes())
    drive.files[GAN_FILE], drive.names[GAN_FILE] = b"", "wav2lip_gan.pth"
    drive.quota.add(GAN_FILE)  # the README's file link: over its quota today
    drive.folders[CHECKPOINTS] = ["gan-id"]
    r = CliRunner().invoke(cli, ["weights", "fetch", "wav2lip-gan", "--from", f"{drive.url}/files/nothing.pth"])
    assert r.exit_code == 0, r.output
    notes = [line for line in r.output.splitlines() if line.startswith("note")]
    assert len(notes) == 2, r.output
    assert "source 1 of 3 (mirror: " in notes[0] and "HTTP 404" in notes[0]
    assert f"source 2 of 3 (official: Google Drive file {GAN_FILE}" in notes[1] and "quota exceeded" in notes[1]
    assert (W.cache_dir() / "wav2lip_gan.pth").read_bytes() == (procedural_weights / "wav2lip_gan.pth").read_bytes()
    assert _lock()["wav2lip_gan.pth"]["source"] == "official"


def test_from_a_mirror_is_recorded_as_a_mirror_and_never_pinned(drive, procedural_weights):
    drive.plain["expert.pth"] = (procedural_weights / "lipsync_expert.pth").read_bytes()
    r = CliRunner().invoke(cli, ["weights", "fetch", "lipsync-expert", "--from", f"{drive.url}/files/expert.pth"])
    assert r.exit_code == 0 and " mirror " in r.output, r.output
    assert _lock()["lipsync_expert.pth"] == {"sha256": W.sha256_file(W.cache_dir() / "lipsync_expert.pth"),
                                             "source": "mirror", "url": f"{drive.url}/files/expert.pth"}
    assert W.pinned_sha256(W.spec("lipsync_expert")) is None
    r = CliRunner().invoke(cli, ["weights", "fetch", "wav2lip", "lipsync-expert", "--from", f"{drive.url}/files/x"])
    assert r.exit_code == 2 and "--from names one file's URL" in r.output


def test_a_file_that_does_not_load_is_never_kept_or_pinned(drive, procedural_weights):
    """A Drive link that now holds another model's file (or a page): refused by the loader."""
    drive.add("odd", "wav2lip.pth", (procedural_weights / "syncnet_v2.model").read_bytes(), large=False)
    drive.folders[WAV2LIP_FOLDER] = ["odd"]
    r = CliRunner().invoke(cli, ["weights", "fetch", "wav2lip"])
    assert r.exit_code == 1 and "gave a file lsbench cannot load as wav2lip" in r.output, r.output
    assert not (W.cache_dir() / "wav2lip.pth").exists() and "wav2lip.pth" not in (
        _lock() if W.lock_path().exists() else {})


def test_import_records_a_good_file_and_refuses_a_wrong_one(procedural_weights, tmp_path):
    mine = tmp_path / "my_wav2lip.pth"
    mine.write_bytes((procedural_weights / "wav2lip.pth").read_bytes())  # without its procedural sidecar
    r = CliRunner().invoke(cli, ["weights", "import", "wav2lip", str(mine), "--link"])
    assert r.exit_code == 0 and " mirror " in r.output and "imported with `lsbench weights import`" in r.output, r.output
    cached = W.cache_dir() / "wav2lip.pth"
    assert cached.is_symlink() and cached.resolve() == mine.resolve()
    entry = _lock()["wav2lip.pth"]
    assert entry["source"] == "imported" and entry["sha256"] == W.sha256_file(mine) and entry["imported"]["link"]
    ls = CliRunner().invoke(cli, ["ls", "models"]).output
    assert "weights wav2lip (wav2lip.pth): mirror" in ls, ls

    wrong = tmp_path / "not_wav2lip.pth"
    wrong.write_bytes((procedural_weights / "syncnet_v2.model").read_bytes())
    r = CliRunner().invoke(cli, ["weights", "import", "lipsync-expert", str(wrong)])
    assert r.exit_code == 1 and f"{wrong}: not a valid Wav2Lip lip-sync expert checkpoint" in r.output, r.output
    assert not (W.cache_dir() / "lipsync_expert.pth").exists() and "lipsync_expert.pth" not in _lock()


def test_drive_pages_are_read_as_drive_writes_them():
    """The older confirmation link (``confirm=`` in an anchor), a folder view, and what a page that
    is not the file says."""
    old = '<a id="uc-download-link" href="/uc?export=download&amp;confirm=AbCd&amp;id=X1">Download anyway</a>'
    assert confirm_url(old, "https://drive.google.com/uc?export=download&id=X1") == \
        "https://drive.google.com/uc?export=download&confirm=AbCd&id=X1"
    form = ('<form id="download-form" action="https://drive.usercontent.google.com/download" method="get">'
            '<input type="hidden" name="id" value="X1"><input type="hidden" name="confirm" value="t"></form>')
    assert confirm_url(form, "x") == "https://drive.usercontent.google.com/download?id=X1&confirm=t"
    assert confirm_url("<p>nothing</p>", "x") is None
    view = ('<div class="flip-entry" id="entry-A"><a href="https://drive.google.com/file/d/A-1_x/view">'
            '<div class="flip-entry-title">wav2lip.pth</div></a></div>'
            '<div class="flip-entry" id="entry-F"><a href="https://drive.google.com/drive/folders/F">'
            '<div class="flip-entry-title">old</div></a></div>')
    assert folder_files(view) == {"wav2lip.pth": "A-1_x"}
    assert "quota exceeded" in page_reason("<p>Too many users have viewed or downloaded this file recently</p>")
    assert "sign in" in page_reason('<a href="https://accounts.google.com/ServiceLogin">Sign in</a>')
