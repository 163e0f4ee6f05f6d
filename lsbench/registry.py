"""One small generic registry: name -> lazy "module:Class", checked against a base class.

Datasets, detectors, models, metrics and protocols all register here, so the CLI can
offer their names as choices without importing torch or ray. A registration carries every
fact about its component that another place needs: its weights (whose specs name their
loaders), its conformance packs, whether and how it trains, its full-frame mode, a dataset's
LSE route. Lists elsewhere (the Makefile's packs, `weights verify`, `train`'s choices, the
tests' model lists) are derived from here, and a test fails when a registration is incomplete.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple

from .errors import NotBuiltError, UnknownNameError


def import_target(target: str) -> Any:
    """Import "package.module:Attr" and return Attr."""
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr) if attr else module


@dataclass(frozen=True)
class Value:
    """One number a metric reports per clip: its column label, which way is better (None:
    per-clip information only, never averaged or ranked) and the values it can take (None:
    unbounded on that side; low_open: strictly above `lowest`), which `lsbench validate` checks."""

    key: str
    label: str
    higher_is_better: Optional[bool]
    lowest: Optional[float] = None
    highest: Optional[float] = None
    low_open: bool = False


@dataclass(frozen=True)
class Entry:
    name: str
    target: str
    summary: str = ""
    planned: Optional[str] = None  # e.g. "issue 6": registered, implementation not landed yet
    weights: str = ""  # "module:WEIGHTS" (or "module:WEIGHTS#name", comma-separated): the checkpoints it loads
    trained_by: str = ""  # no released weights: the command that makes them
    full_frame: bool = False  # models: can re-voice a whole video (`lsbench generate`)
    values: Tuple[Value, ...] = ()  # metrics: what they report, in column order
    default: bool = True  # metrics: computed unless the run asks otherwise
    ground_truth: bool = False  # metrics: compare with the real frames (protocols that have them)
    target_frames: bool = False  # metrics: compare with the target's real frames under every protocol (identity)
    computed_on: str = ""  # metrics: the inputs and the official script the number follows (docs table)
    packs: Tuple[str, ...] = ()  # conformance packs (../shared/conformance/<pack>) that prove its ports
    trains: Tuple[str, ...] = ()  # (`lsbench train --model` name, "module:function"): what `train` runs for it
    reference: bool = False  # models: a reference row (a bound on the board, never a contestant)
    lse_route: str = ""  # datasets: the LSE route their published tables used (whole-frame or pipeline)

    @property
    def ready(self) -> bool:
        return self.planned is None


class Registry:
    """Names of one kind of component (e.g. "model") mapped to lazily imported classes."""

    def __init__(self, kind: str, base: Optional[str] = None):
        self.kind = kind
        self.base = base
        self._entries: Dict[str, Entry] = {}

    def register(self, name: str, target: str, summary: str = "", planned: Optional[str] = None, **meta: Any) -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = Entry(name, target, summary, planned, **meta)

    def unregister(self, name: str) -> None:
        """For tests that register a throwaway component."""
        self._entries.pop(name, None)

    def names(self, ready_only: bool = False) -> List[str]:
        return [n for n, e in self._entries.items() if e.ready or not ready_only]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    def entry(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self._entries), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(self._entries)}"
            raise UnknownNameError(f"unknown {self.kind} {name!r}{hint}") from None

    def load(self, name: str) -> Any:
        """Import and return the class registered under name, checking its base class."""
        entry = self.entry(name)
        if entry.planned:
            raise NotBuiltError(f"{self.kind} {name!r} is registered but not built yet ({entry.planned})")
        obj = import_target(entry.target)
        if self.base is not None:
            base = import_target(self.base)
            if not (isinstance(obj, type) and issubclass(obj, base)):
                raise TypeError(f"{self.kind} {name!r} -> {entry.target} is not a subclass of {self.base}")
        return obj

    def create(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.load(name)(*args, **kwargs)


DATASETS = Registry("dataset", base="preprocess.recipes.base:Recipe")
# lse_route: whole-frame = Wav2Lip's calculate_scores_LRS.py (its LRS2/LRW tables); pipeline = syncnet_python's
# run_pipeline.py + calculate_scores_real_videos.py (any other video)
DATASETS.register("lrs2", "preprocess.recipes.lrs2:LRS2", "LRS2 (mvlrs_v1/{main,pretrain}, split lists)",
                  lse_route="whole-frame")
DATASETS.register("lrw", "preprocess.recipes.lrw:LRW", "LRW (lipread_mp4/WORD/{train,val,test})", lse_route="whole-frame")
DATASETS.register("voxceleb2", "preprocess.recipes.voxceleb2:VoxCeleb2", "VoxCeleb2 (dev|test/mp4/idXXXXX)",
                  lse_route="pipeline")
DATASETS.register("lrs3", "preprocess.recipes.lrs3:LRS3",
                  "LRS3 ({pretrain,trainval,test}/SPEAKER/NNNNN.mp4 + .txt with word timings)", lse_route="whole-frame")
DATASETS.register("hdtf", "preprocess.recipes.hdtf:HDTF",
                  "HDTF (HDTF_dataset/ annotations + videos/Name.mp4, cut and cropped here; or cut clips "
                  "RD|WDA|WRA_Name_nnn.mp4); split: identity-disjoint hdtf-identity-v1 or --split-file",
                  lse_route="pipeline")

DETECTORS = Registry("detector", base="lsbench.detectors.base:FaceDetector")
DETECTORS.register("s3fd", "lsbench.detectors.s3fd:S3FDDetector", "S3FD, official sfd_face.pth (syncnet_python)",
                   weights="lsbench.detectors.specs:WEIGHTS", packs=("s3fd",))
DETECTORS.register("dlib", "lsbench.detectors.dlib_cascade:DlibCascadeDetector", "HOG, then dlib's CNN where HOG finds nothing; no download",
                   weights="lsbench.landmarks:MMOD")
DETECTORS.register("dlib-hog", "lsbench.detectors.dlib_hog:DlibHOGDetector", "dlib's built-in HOG detector, no weights, CPU")
DETECTORS.register("dlib-mmod", "lsbench.detectors.dlib_mmod:DlibMMODDetector", "dlib's CNN detector, weights in the face-recognition-models wheel",
                   weights="lsbench.landmarks:MMOD")

MODELS = Registry("model", base="lsbench.models.base:LipSyncModel")
MODELS.register("wav2lip", "lsbench.models.wav2lip:Wav2Lip", "Wav2Lip (Prajwal et al. 2020)",
                weights="lsbench.models.wav2lip:WEIGHTS#wav2lip", full_frame=True, packs=("wav2lip", "audio"))
MODELS.register("wav2lip-gan", "lsbench.models.wav2lip:Wav2LipGAN", "Wav2Lip + visual quality discriminator",
                weights="lsbench.models.wav2lip:WEIGHTS#wav2lip_gan", full_frame=True, packs=("wav2lip", "audio"))
MODELS.register("lipgan", "lsbench.models.lipgan:LipGAN", "LipGAN (KR et al. 2019), Keras .h5 (master or fully_pythonic)",
                weights="lsbench.models.lipgan:WEIGHTS", full_frame=True, packs=("lipgan",))
MODELS.register("synctalkface", "lsbench.models.synctalkface:SyncTalkFace", "SyncTalkFace (Park et al. 2022)",
                weights="lsbench.models.synctalkface:WEIGHTS", packs=("synctalkface",),
                trains=("synctalkface", "lsbench.train:train_synctalkface"),
                trained_by="lsbench train --model synctalkface")
MODELS.register("makeittalk", "lsbench.models.makeittalk:MakeItTalk", "MakeItTalk (Zhou et al. 2020), 256x256 portraits",
                weights="lsbench.models.makeittalk:WEIGHTS", packs=("makeittalk",))
MODELS.register("ground-truth", "lsbench.models.reference_rows:GroundTruth", "the real video with its own audio",
                reference=True)
MODELS.register("static-frame", "lsbench.models.reference_rows:StaticFrame", "a frozen reference frame (lower bound)",
                reference=True)
MODELS.register("shifted-audio", "lsbench.models.reference_rows:ShiftedAudio", "the real video, own audio 5 frames late",
                reference=True)

METRICS = Registry("metric", base="lsbench.metrics.base:Metric")
VSHIFT = 15  # SyncNet's offsets are searched over -15..15 frames
# The registration line is the one place for a metric's columns: label, direction, order (the order here).
METRICS.register("lse", "lsbench.metrics.lse:LSEMetric", "LSE-D / LSE-C from SyncNet (syncnet_python semantics)",
                 weights="lsbench.syncnet.specs:WEIGHTS", packs=("syncnet", "audio"),
                 computed_on="the full-frame mp4 by the dataset's route: `whole-frame` (LRS2, LRS3, LRW: Wav2Lip's "
                             "calculate_scores_LRS.py) or `pipeline` (others: syncnet_python run_pipeline.py + "
                             "calculate_scores_real_videos.py); split figure = plain mean over videos",
                 values=(Value("lse_d", "LSE-D", False, 0.0), Value("lse_c", "LSE-C", True, 0.0),
                         Value("lse_offset_abs", "|LSE offset|", False, 0.0, VSHIFT), Value("lse_offset", "LSE offset", None, -VSHIFT, VSHIFT)))
METRICS.register("crop-lse", "lsbench.metrics.lse:CropLSE",
                 "diagnostic LSE on the evaluation face crops (not the published route)", default=False,
                 weights="lsbench.syncnet.specs:WEIGHTS", packs=("syncnet", "audio"),
                 computed_on="the evaluation crops upsampled to 224 (syncnet_python's crop mode); no paper uses it",
                 values=(Value("crop_lse_d", "crop LSE-D", False, 0.0), Value("crop_lse_c", "crop LSE-C", True, 0.0),
                         Value("crop_lse_offset_abs", "|crop LSE offset|", False, 0.0, VSHIFT),
                         Value("crop_lse_offset", "crop LSE offset", None, -VSHIFT, VSHIFT)))
METRICS.register("expert-sync", "lsbench.metrics.expert_sync:ExpertSync",
                 "Wav2Lip lip-sync expert: cosine sync and BCE loss",
                 weights="lsbench.models.wav2lip:WEIGHTS#lipsync_expert", packs=("wav2lip_expert",),
                 trains=("syncnet", "lsbench.train:train_syncnet"),
                 computed_on="lower half of the evaluation crops at 96x96, 5-frame windows (Wav2Lip's color_syncnet "
                             "training input); an lsbench diagnostic",
                 values=(Value("expert_cos", "expert cos", True, -1.0, 1.0), Value("expert_loss", "expert loss", False, 0.0)))
METRICS.register("energy", "lsbench.metrics.energy:EnergySync", "weight-free sync score (mouth motion x audio envelope)",
                 computed_on="the evaluation crops' mouth region and the speech envelope; an lsbench diagnostic",
                 values=(Value("energy_sync", "energy sync", True), Value("energy_corr0", "energy corr@0", True),
                         Value("energy_offset_abs", "|energy offset|", False),
                         Value("energy_offset", "energy offset", None)))
METRICS.register("psnr", "lsbench.metrics.image:PSNR", "peak signal-to-noise ratio, mean of per-frame values",
                 ground_truth=True, computed_on="generated vs real evaluation crops, per frame, then the mean",
                 values=(Value("psnr", "PSNR", True, 0.0, low_open=True), Value("psnr_identical_frames",
                                                                                 "identical frames", None)))
METRICS.register("ssim", "lsbench.metrics.image:SSIM", "structural similarity, Wang et al. settings (scikit-image)",
                 ground_truth=True, computed_on="generated vs real evaluation crops, per frame (Gaussian window "
                                                "sigma 1.5, per channel), then the mean",
                 values=(Value("ssim", "SSIM", True, None, 1.0),))
METRICS.register("lmd", "lsbench.metrics.lmd:LMD", "mouth landmark distance (dlib 68 points)", ground_truth=True,
                 weights="lsbench.landmarks:SHAPE_68",
                 computed_on="mouth points 48-67 (0-based) of dlib's 68-point model on generated vs real evaluation crops; "
                             "LMD / IOD: each frame's distance over the real frame's inter-ocular distance (outer eye "
                             "corners 36, 45), then the mean",
                 values=(Value("lmd", "LMD", False, 0.0), Value("lmd_iod", "LMD / IOD", False, 0.0)))
METRICS.register("identity", "lsbench.metrics.identity:DlibIdentity",
                 "identity similarity from dlib's ResNet face-recognition embedding (not ArcFace CSIM)",
                 target_frames=True, default=False, weights="lsbench.landmarks:FACE_RESNET,lsbench.landmarks:SHAPE_5",
                 computed_on="cosine similarity of dlib_face_recognition_resnet_model_v1 embeddings (128-d, "
                             "face-recognition-models 0.3.0, 5-point alignment on the whole crop) of each generated "
                             "evaluation crop and the target's real crop of the same frame, every 5th frame, "
                             "then the mean; not ArcFace CSIM",
                 values=(Value("identity_dlib_cos", "identity (dlib cos)", True, -1.0, 1.0),))
METRICS.register("cpbd", "lsbench.metrics.cpbd:CPBD",
                 "CPBD no-reference sharpness (Narvekar & Karam 2011), a bit-exact port of the cpbd 1.0.7 package",
                 default=False,
                 computed_on="the generated evaluation crops, every frame, grayscale as Pillow's convert('L'); CPBD: "
                             "64x64 blocks tiled from the top-left (a 96x96 crop has one: its top-left, the eyes), "
                             "then the mean; equal bit for bit to the cpbd 1.0.7 package (which cannot be imported "
                             "beside SciPy >= 1.2); CPBD (mouth): the same on each crop's bottom-centre 64x64 window, "
                             "an lsbench variant",
                 values=(Value("cpbd", "CPBD", True, 0.0, 1.0), Value("cpbd_mouth", "CPBD (mouth)", True, 0.0, 1.0)))
METRICS.register("landmark-sync", "lsbench.metrics.landmark_sync:LandmarkSync",
                 "THEval's lip-sync (mouth opening vs loudness) and silent lip stability on dlib's 68 landmarks",
                 default=False, weights="lsbench.landmarks:SHAPE_68",
                 computed_on="dlib's 68 points on every evaluation crop (the whole crop as the face box); opening = "
                             "vertical gap between the mean inner upper lip (61-63) and mean inner lower lip (65-67) "
                             "over the horizontal distance of the eye centres (corners 36/39, 42/45); loudness = RMS "
                             "of 50 ms frames, hop 50 ms (librosa rms), at frame times; speech = webrtcvad mode 3 on "
                             "30 ms frames with silero's segment rules; diff = THEval's mean absolute difference of "
                             "opening and loudness over speech frames, each min-max normalised per clip; offset = lag "
                             "of peak Pearson r within +-15 frames (syncnet_python sign); silent MAD = THEval's over "
                             "silences >= 0.3 s (inner-lip gaps over outer-eye distance 36-45); mediapipe and silero "
                             "in THEval: docs list each difference",
                 values=(Value("lmsync_diff", "landmark-sync diff", False, 0.0, 1.0),
                         Value("lmsync_offset_abs", "|landmark-sync offset|", False, 0.0, VSHIFT),
                         Value("lmsync_offset", "landmark-sync offset", None, -VSHIFT, VSHIFT),
                         Value("lmsync_silent_mad", "silent lip MAD", False, 0.0)))
METRICS.register("fid", "lsbench.metrics.fid:FID", "Frechet Inception Distance", weights="lsbench.fid.specs:WEIGHTS",
                 packs=("fid",),
                 computed_on="every scored frame's generated vs real evaluation crop (the shard's crop size, "
                             "resized to 299 as pytorch-fid does), pooled over the split; no per-clip value",
                 values=(Value("fid", "FID", False, -1e-3),))

def trainers() -> Dict[str, Tuple[Entry, str]]:
    """`lsbench train --model` name -> (the registration that trains, "module:function" that trains it)."""
    return {e.trains[0]: (e, e.trains[1]) for registry in (MODELS, METRICS) for e in registry if e.trains}


PROTOCOLS = Registry("protocol", base="lsbench.protocols.base:Protocol")
PROTOCOLS.register("random-reference", "lsbench.protocols.random_reference:RandomReference", "default")
PROTOCOLS.register("reconstruction", "lsbench.protocols.reconstruction:Reconstruction", "own audio; PSNR/SSIM/LMD")
PROTOCOLS.register("wav2lip-filelist", "lsbench.protocols.filelist:Wav2LipFilelist", "Wav2Lip's lrs2.txt/lrw.txt/lrs3.txt pairs (--filelist)")

# Conformance calls ("<model>.<call>" in pack.json) map to functions, one table for all packs.
CONFORMANCE_MODELS = Registry("conformance model")
CONFORMANCE_MODELS.register("syncnet", "lsbench.conformance.calls_syncnet:CALLS", "SyncNet embeddings and LSE")
CONFORMANCE_MODELS.register("s3fd", "lsbench.conformance.calls_s3fd:CALLS", "S3FD raw heads and detect_faces")
CONFORMANCE_MODELS.register("audio", "lsbench.conformance.calls_audio:CALLS", "Wav2Lip mel and SyncNet MFCC")
CONFORMANCE_MODELS.register("wav2lip", "lsbench.conformance.calls_wav2lip:CALLS", "Wav2Lip generator and expert")
CONFORMANCE_MODELS.register("lipgan", "lsbench.conformance.calls_lipgan:CALLS", "LipGAN (Keras .h5), both branches")
CONFORMANCE_MODELS.register("makeittalk", "lsbench.conformance.calls_makeittalk:CALLS", "MakeItTalk modules and audio chain")
CONFORMANCE_MODELS.register("synctalkface", "lsbench.conformance.calls_synctalkface:CALLS", "SyncTalkFace encoder, memory, decoder, losses")
CONFORMANCE_MODELS.register("fid", "lsbench.conformance.calls_fid:CALLS", "FID Inception pool3, statistics, Frechet distance, folders")
