"""FID as pytorch-fid 0.3.0 computes it (FID Inception pool3, statistics, Frechet distance),
written without torchvision. Proven against pytorch-fid by the ``fid`` conformance pack."""

from .features import SPEC, features, load_inception
from .folders import IMAGE_EXTENSIONS, image_files, load_stats, read_image, save_stats, score_folders
from .frechet import FIDError, fid_from_activations, fid_from_activations_svd, frechet_distance, statistics
from .inception import DIMS, PYTORCH_FID, TORCHVISION_BLOCKS, Conventions, FIDInception

__all__ = [
    "DIMS", "IMAGE_EXTENSIONS", "PYTORCH_FID", "SPEC", "TORCHVISION_BLOCKS", "Conventions", "FIDError", "FIDInception",
    "features", "fid_from_activations", "fid_from_activations_svd", "frechet_distance", "image_files",
    "load_inception", "load_stats", "read_image", "save_stats", "score_folders", "statistics",
]
