"""How `lsbench weights verify` checks a file that no published or pinned hash vouches for:
it loads the file through the loader lsbench itself uses for it, which compares every key
and shape with the network, so a wrong or corrupt file is named before any scoring run.

Keyed by weight spec name. The spec modules under lsbench/models could name their loader
themselves; until then this table is the one place that maps a file to its loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, Optional

from .errors import WeightsError


def _syncnet(p: Path) -> str:
    from .syncnet.model import load_syncnet

    load_syncnet(p)
    return "lsbench.syncnet.model.load_syncnet"


def _s3fd(p: Path) -> str:
    from .detectors.s3fd import load_s3fd

    load_s3fd(p)
    return "lsbench.detectors.s3fd.load_s3fd"


def _wav2lip(p: Path) -> str:
    from .models.wav2lip_net import load_generator

    load_generator(p)
    return "lsbench.models.wav2lip_net.load_generator"


def _expert(p: Path) -> str:
    from .models.wav2lip_net import load_expert

    load_expert(p)
    return "lsbench.models.wav2lip_net.load_expert"


def _lipgan(p: Path) -> str:
    from .models.lipgan_net import load_generator

    _, variant = load_generator(p)
    return f"lsbench.models.lipgan_net.load_generator (variant {variant})"


def _synctalkface(p: Path) -> str:
    from .models.synctalkface_net import STFConfig, load_synctalkface
    from .weights import load_torch

    meta = load_torch(p, "SyncTalkFace checkpoint")  # sizes ride along in lsbench-trained files, as the model reads them
    saved = (meta.get("lsbench") or {}).get("config", {}) if isinstance(meta, dict) else {}
    load_synctalkface(p, STFConfig(**saved) if saved else STFConfig())
    return "lsbench.models.synctalkface_net.load_synctalkface"


def _makeittalk(container: str, net: str, what: str, drop: Optional[str] = None) -> Callable[[Path], str]:
    """One of MakeItTalk's four files, loaded as MakeItTalk.__init__ loads it."""

    def check(p: Path) -> str:
        from .models import makeittalk_net as N

        N.load_container(p, container, getattr(N, net)(), what, drop)
        return f"lsbench.models.makeittalk_net.load_container ({net})"

    return check


LOADERS: Dict[str, Callable[[Path], str]] = {
    "syncnet": _syncnet,
    "s3fd": _s3fd,
    "wav2lip": _wav2lip,
    "wav2lip_gan": _wav2lip,
    "lipsync_expert": _expert,
    "lipgan": _lipgan,
    "synctalkface": _synctalkface,
    "makeittalk_autovc": _makeittalk("model", "AutoVC", "MakeItTalk AutoVC checkpoint"),
    "makeittalk_content_branch": _makeittalk("model_g_face_id", "Audio2LandmarkContent",
                                             "MakeItTalk content branch checkpoint"),
    "makeittalk_speaker_branch": _makeittalk("G", "Audio2LandmarkSpeaker", "MakeItTalk speaker branch checkpoint",
                                             "comb_mlp"),
    "makeittalk_i2i": _makeittalk("G", "ResUnetGenerator", "MakeItTalk image translator checkpoint"),
}


def load_check(name: str, p: Path) -> Optional[str]:
    """Load p as the weights `name`; return the loader's name, None when lsbench has no loader
    for it, or raise WeightsError naming the file and what is wrong."""
    check = LOADERS.get(name)
    if check is None:
        return None
    try:
        return check(Path(p))
    except WeightsError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of a loader is one line naming the file
        first = (str(exc).strip().splitlines() or [""])[0]
        raise WeightsError(f"{p}: cannot be loaded as {name} ({type(exc).__name__}: {first})") from None
