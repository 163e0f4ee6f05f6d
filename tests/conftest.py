"""Shared fixtures: the ../shared folder, isolated weight caches, procedural checkpoints,
tiny corpora and synthetic talking faces."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LSBENCH_SHARED", ROOT.parent / "shared")).resolve()
MEDIA = SHARED / "media"
PACKS = SHARED / "conformance"
sys.path.insert(0, str(Path(__file__).parent))

VIDEO_EXT = (".mp4", ".avi")


def media_videos():
    return sorted(p for p in MEDIA.rglob("*") if p.suffix in VIDEO_EXT)


def media_audio_files():
    return sorted(p for p in MEDIA.rglob("*.wav"))


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets an empty weights cache and no user weights folder or mirror."""
    home = tmp_path_factory.mktemp("lsbench_home")
    monkeypatch.setenv("LSBENCH_HOME", str(home))
    monkeypatch.delenv("LSBENCH_WEIGHTS_DIR", raising=False)
    monkeypatch.delenv("LSBENCH_MIRROR", raising=False)
    return home


@pytest.fixture(scope="session")
def shared() -> Path:
    if not MEDIA.is_dir():
        pytest.fail(f"{SHARED} (the shared folder with media/ and conformance/) is missing; set LSBENCH_SHARED")
    return SHARED


@pytest.fixture(scope="session")
def procedural_weights(tmp_path_factory, shared) -> Path:
    """A folder with procedural syncnet_v2.model and sfd_face.pth in their official formats
    (what LSBENCH_WEIGHTS_DIR would hold), made by the conformance materialiser."""
    from lsbench.conformance.procedural import write_checkpoint

    out = tmp_path_factory.mktemp("procedural_weights")
    for pack in ("syncnet", "s3fd"):
        ck = json.loads((PACKS / pack / "pack.json").read_text())["checkpoints"][0]
        write_checkpoint(PACKS / pack, ck, out)
    return out


@pytest.fixture
def weights_dir(procedural_weights, monkeypatch) -> Path:
    monkeypatch.setenv("LSBENCH_WEIGHTS_DIR", str(procedural_weights))
    return procedural_weights


@pytest.fixture(scope="session")
def syncnet_scorer(procedural_weights):
    from lsbench.syncnet.lse import SyncNetScorer
    from lsbench.syncnet.model import load_syncnet

    return SyncNetScorer(load_syncnet(procedural_weights / "syncnet_v2.model"))


@pytest.fixture(scope="session")
def lrs2_corpus(tmp_path_factory, shared):
    from corpora import build_lrs2

    root = tmp_path_factory.mktemp("lrs2")
    return root, build_lrs2(MEDIA, root)


@pytest.fixture(scope="session")
def lrw_corpus(tmp_path_factory, shared):
    from corpora import build_lrw

    root = tmp_path_factory.mktemp("lrw")
    return root, build_lrw(MEDIA, root)


@pytest.fixture(scope="session")
def voxceleb2_corpus(tmp_path_factory, shared):
    from corpora import build_voxceleb2

    root = tmp_path_factory.mktemp("vox2")
    return root, build_voxceleb2(MEDIA, root)


@pytest.fixture(scope="session")
def synthetic_clips(tmp_path_factory):
    """Synthetic talking faces written to mp4, audio delayed by a known number of frames."""
    from lsbench import synthetic

    out = tmp_path_factory.mktemp("synthetic")
    clips = {}
    for i, shift in enumerate((0, 4, -3, 7)):
        clip = synthetic.make_clip(3.0, shift_frames=shift, seed=i)
        clips[shift] = (synthetic.write_clip(out / f"shift{shift:+d}.mp4", clip), clip)
    return clips
