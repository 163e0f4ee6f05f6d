"""LipGAN's official Keras weights (issue 6 brings the PyTorch port that reads them)."""

from ..weights import WeightSpec

WEIGHTS = [
    WeightSpec("lipgan", "lipgan_residual_mfcc.h5", "https://github.com/Rudrabha/LipGAN#getting-the-weights",
               None, None, "lipgan", direct=False,
               note="The authors publish it on Google Drive, linked from the LipGAN README."),
]
