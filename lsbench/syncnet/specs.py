"""SyncNet's official checkpoint (VGG, syncnet_python)."""

from ..weights import WeightSpec

SYNCNET = WeightSpec(
    name="syncnet",
    filename="syncnet_v2.model",
    url="http://www.robots.ox.ac.uk/~vgg/software/lipsync/data/syncnet_v2.model",
    sha256=None,
    size=None,
    group="syncnet",
    note="sha-256 not published by VGG; pinned in the lock file on first download",
    loader="lsbench.syncnet.model:load_syncnet",
    procedural="syncnet/syncnet_v2",
)
WEIGHTS = [SYNCNET]
