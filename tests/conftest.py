"""Shared fixtures: the ../shared folder, isolated weight caches, procedural checkpoints,
tiny corpora and synthetic talking faces."""

from __future__ import annotations

import os
import subprocess
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


# Tests that start Ray (in this process or in a CLI subprocess) share one xdist worker, so that one
# Ray runs at a time on the machine: `make test` runs the suite on two workers (pytest-xdist,
# --dist loadgroup); the other worker takes the tests that need no Ray.
RAY_GROUP = pytest.mark.xdist_group("ray")
TIER = os.environ.get("LSBENCH_TEST_TIER", "full")  # `make check` sets "check" and runs -m "not slow"


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which turns the groups into the ids it schedules by
def pytest_collection_modifyitems(config, items):
    """Under xdist, each module's tests stay on one worker (unless they are in the Ray group), so a
    module-scoped fixture (the leaderboard's results, a module's shards) is built once per run."""
    for item in items:
        if not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


def built_once(tmp_path_factory, name: str, build) -> Path:
    """A folder built once per test run, shared by the xdist workers: the first builds it (build(folder))
    under a lock, the others wait and reuse it."""
    import shutil

    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = root / f"shared-{name}"
    with FileLock(str(folder) + ".lock"):
        if not (folder / ".built").is_file():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            build(folder)
            (folder / ".built").touch()
    return folder


@pytest.fixture(autouse=True)
def check_tier_starts_no_ray(monkeypatch):
    """In the check tier a test that starts Ray fails with one line: it belongs in the slow tier."""
    if TIER == "check":
        import ray

        def refuse(*args, **kwargs):
            raise AssertionError("this test starts Ray: mark it slow (the check tier runs no Ray cluster)")

        monkeypatch.setattr(ray, "init", refuse)


def shared_ray():
    """The one in-process Ray instance of the test run (2 CPUs, no dashboard), started on first use
    without LSBENCH_WEIGHTS_DIR in its environment (actors must get the driver's weight locations
    from their runtime_env); tests do not shut it down."""
    import ray

    if not ray.is_initialized():
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        saved = os.environ.pop("LSBENCH_WEIGHTS_DIR", None)
        try:
            ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        finally:
            if saved is not None:
                os.environ["LSBENCH_WEIGHTS_DIR"] = saved
    return ray


@pytest.fixture
def ray_local():
    return shared_ray()


def preprocess_cli(*args: str, own_ray: bool = False, timeout: int = 900, env=None, cwd=None, prefix=()):
    """`lsbench preprocess ARGS --no-progress` in a subprocess. It joins the test run's Ray with
    --ray-address (about 4 s less a run than starting and stopping a Ray of its own); own_ray: the
    tests whose subject is that start, or whose workers must see the run's own environment (env, a
    process tree to kill), let it start its own."""
    extra = () if own_ray else ("--ray-address", shared_ray().get_runtime_context().gcs_address)
    return subprocess.run([*prefix, sys.executable, "-m", "lsbench.cli", "preprocess", *args, "--no-progress", *extra],
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)


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


def _fid_specs():
    from lsbench import weights as W
    from lsbench.registry import METRICS

    return W.specs_of(METRICS.entry("fid").weights)


@pytest.fixture(scope="session")
def procedural_weights(tmp_path_factory, shared) -> Path:
    """A folder with the procedural stand-in of every registered weight file that has one
    (WeightSpec.procedural), in its official format under its official name (what
    LSBENCH_WEIGHTS_DIR would hold), made by the conformance materialiser. FID's Inception is
    kept apart (procedural_weights_with_fid): FID costs minutes per evaluate run."""
    from lsbench import weights as W
    from lsbench.conformance.procedural import write_stand_in

    def build(out: Path) -> None:
        for s in W.all_specs():
            if s.procedural and s not in _fid_specs():
                write_stand_in(s, PACKS, out)

    return built_once(tmp_path_factory, "procedural_weights", build)


@pytest.fixture(scope="session")
def procedural_weights_with_fid(tmp_path_factory, procedural_weights) -> Path:
    """The procedural checkpoints plus FID's Inception."""
    import shutil

    from lsbench.conformance.procedural import write_stand_in

    def build(out: Path) -> None:
        for f in procedural_weights.iterdir():
            if not f.name.startswith("."):
                shutil.copy(f, out / f.name)
        for s in _fid_specs():
            write_stand_in(s, PACKS, out)

    return built_once(tmp_path_factory, "procedural_weights_fid", build)


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
def real_shards(tmp_path_factory, shared):
    """Shards of two real test clips (LRS2 layout, cut from ../shared/media) made by the real
    preprocessing stages, without Ray: what `evaluate` reads."""
    from corpora import SOURCES

    return built_once(tmp_path_factory, "real_shards", lambda root: _build_real_shards(root, SOURCES[0], SOURCES[3]))


@pytest.fixture(scope="session")
def short_real_shards(tmp_path_factory, shared):
    """real_shards' two speakers over 0.4 s each (10 frames; every registered model's row is ok with every
    default metric at this length): for the tests whose assertions hold for any real clip (runs agree with
    each other, FID of a set against itself, a result's shape), and which score a model several times over."""
    from corpora import SOURCES

    def build(root: Path) -> None:
        _build_real_shards(root, (*SOURCES[0][:2], 0.4), (*SOURCES[3][:2], 0.4))

    return built_once(tmp_path_factory, "short_real_shards", build)


def _build_real_shards(root: Path, first, second) -> None:
    import pyarrow.parquet as pq

    from corpora import SOURCES, build_lrs2
    from lsbench.detectors.dlib_cascade import DlibCascadeDetector
    from preprocess.recipes.lrs2 import LRS2
    from preprocess.schema import SHARD_SCHEMA
    from preprocess.stages import Config, process_batch

    build_lrs2(MEDIA, root, [SOURCES[1], SOURCES[4], first, SOURCES[4], second])  # the test split: first, second
    refs = [r.to_dict() for r in LRS2(root / "mvlrs_v1").find_clips("test")]
    table = process_batch({k: [r[k] for r in refs] for k in refs[0]}, DlibCascadeDetector(), None,
                          Config(sync="none"))
    assert table.column("ok").to_pylist() == [True, True], table.column("error_message").to_pylist()
    (root / "shards").mkdir()
    pq.write_table(table.select(SHARD_SCHEMA.names).cast(SHARD_SCHEMA), root / "shards" / "part-0.parquet")


@pytest.fixture(scope="session")
def portrait_shards(tmp_path_factory, shared):
    """MakeItTalk's portrait (makeittalk/obama.jpg) held still for 0.6 s over MakeItTalk's own
    example speech, as an LRS2-layout test clip, through the real preprocessing stages."""
    return built_once(tmp_path_factory, "portrait_shards", _build_portrait_shards)


def _build_portrait_shards(root: Path) -> None:
    import pyarrow.parquet as pq

    from lsbench.detectors.dlib_cascade import DlibCascadeDetector
    from lsbench.media import ffmpeg
    from preprocess.recipes.base import ClipRef
    from preprocess.schema import SHARD_SCHEMA
    from preprocess.stages import Config, process_batch

    clip = root / "portrait.mp4"
    ffmpeg("-loop", "1", "-i", str(MEDIA / "makeittalk/obama.jpg"), "-i", str(MEDIA / "makeittalk/M6_04_16k.wav"),
           "-t", "0.6", "-vf", "scale=256:-2,fps=25", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
           "-ac", "1", "-ar", "16000", str(clip))
    refs = [ClipRef(clip_id=f"portrait/test/{i}", dataset="portrait", split="test", speaker_id="obama",
                    video_id=str(i), source_path=str(clip)).to_dict() for i in range(2)]
    table = process_batch({k: [r[k] for r in refs] for k in refs[0]}, DlibCascadeDetector(), None,
                          Config(sync="none", crop_size=128))
    assert table.column("ok").to_pylist() == [True, True], table.column("error_message").to_pylist()
    (root / "shards").mkdir()
    pq.write_table(table.select(SHARD_SCHEMA.names).cast(SHARD_SCHEMA), root / "shards" / "part-0.parquet")


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
