"""SyncNet's official checkpoint (VGG, syncnet_python)."""

from ..weight_sources import url
from ..weights import WeightSpec

_URL = "http://www.robots.ox.ac.uk/~vgg/software/lipsync/data/syncnet_v2.model"

SYNCNET = WeightSpec(
    name="syncnet",
    filename="syncnet_v2.model",
    url=_URL,
    sources=(url(_URL, "syncnet_python download_model.sh at ea2d8c72"),),
    sha256=None,
    size=None,
    group="syncnet",
    note="sha-256 not published by VGG; pinned in the lock file on first download",
    loader="lsbench.syncnet.model:load_syncnet",
    procedural="syncnet/syncnet_v2",
)
WEIGHTS = [SYNCNET]
