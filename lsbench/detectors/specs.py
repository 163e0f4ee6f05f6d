"""S3FD as syncnet_python ships it (a plain state_dict, keys vgg.*, L2Norm*, extras.*, loc.*, conf.*)."""

from ..weight_sources import url
from ..weights import WeightSpec

_URL = "http://www.robots.ox.ac.uk/~vgg/software/lipsync/data/sfd_face.pth"

S3FD = WeightSpec(
    name="s3fd",
    filename="sfd_face.pth",
    url=_URL,
    sources=(url(_URL, "syncnet_python download_model.sh at ea2d8c72"),),
    sha256=None,
    size=None,
    group="s3fd",
    note="sha-256 not published; pinned in the lock file on first download",
    loader="lsbench.detectors.s3fd:load_s3fd",
    procedural="s3fd/sfd_face",
)
WEIGHTS = [S3FD]
