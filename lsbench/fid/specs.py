"""pytorch-fid's FID Inception weights (pool3): the file name carries the first 8 hex digits of its
sha-256, checked on download and on verify."""

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
        loader="lsbench.fid.features:load_inception",
        procedural="fid/fid_inception",
    )
]
