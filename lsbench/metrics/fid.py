"""FID's Inception weights as pytorch-fid publishes them (the metric lands with issue 5).
The file name carries the first 8 hex digits of its sha-256 (6726825d); the full hash is
pinned in the lock file on first download; the prefix is checked on download and on verify."""

from ..weights import WeightSpec

WEIGHTS = [
    WeightSpec(
        "fid_inception",
        "pt_inception-2015-12-05-6726825d.pth",
        "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",
        None,
        None,
        "fid",
        note="full sha-256 not published (prefix 6726825d in the name); pinned on first download",
        sha256_prefix="6726825d",
    )
]
