"""The FID Inception network of pytorch-fid 0.3.0, without torchvision.

pytorch-fid builds torchvision's ``Inception3`` and swaps nine blocks for "FID" variants
that reproduce the TensorFlow graph the original FID numbers come from: the average pools
ignore padded zeros (TF semantics) and Mixed_7c pools with a max instead of an average.
BatchNorm uses eps 1e-3. Only pool3 (the 2048-d global average) is ported, which is what
``python -m pytorch_fid`` uses by default.

The layer names equal torchvision's so that the published state_dict
(``pt_inception-2015-12-05-6726825d.pth``, 472 tensors including the unused 1008-way fc)
loads strictly. Parameters are allocated, not randomly initialised: the network is only
meant to run with loaded weights.

``Conventions`` names every choice that distinguishes the FID network from look-alikes, so
a test can build a deliberately wrong variant (torchvision's blocks, eps 1e-5, corner-aligned
resize) and see the conformance pack reject it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

SIZE = 299  # the network's input side; every image is resized to it, as pytorch-fid does
DIMS = 2048  # pool3

Pair = Union[int, Tuple[int, int]]


@dataclass(frozen=True)
class Conventions:
    """The numerical conventions of the network and its input path (pytorch-fid's by default)."""

    bn_eps: float = 1e-3
    pool_count_include_pad: bool = False  # avg pools of Mixed_5b..7b: TF does not count the zero padding
    mixed_7c_pool: str = "max"  # pytorch-fid's FIDInceptionE_2; torchvision's InceptionE uses "avg"
    align_corners: bool = False  # F.interpolate to 299x299, bilinear, no antialias


PYTORCH_FID = Conventions()
TORCHVISION_BLOCKS = Conventions(pool_count_include_pad=True, mixed_7c_pool="avg")


class _Conv(nn.Module):
    """A bias-free Conv2d (key ``weight``), allocated without torch's random init."""

    def __init__(self, cin: int, cout: int, kernel: Pair, stride: Pair = 1, padding: Pair = 0):
        super().__init__()
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        self.weight = nn.Parameter(torch.zeros(cout, cin, kh, kw), requires_grad=False)
        self.stride, self.padding = stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, None, self.stride, self.padding)


class _FrozenBN(nn.Module):
    """Inference BatchNorm2d with exactly the four tensors of the published file: the file
    predates ``num_batches_tracked``, and eval-mode batch norm never reads it."""

    def __init__(self, channels: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels), requires_grad=False)
        self.bias = nn.Parameter(torch.zeros(channels), requires_grad=False)
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)


class BasicConv2d(nn.Module):
    """conv -> batch norm -> ReLU (torchvision's BasicConv2d)."""

    def __init__(self, cin: int, cout: int, kernel: Pair, eps: float, stride: Pair = 1, padding: Pair = 0):
        super().__init__()
        self.conv = _Conv(cin, cout, kernel, stride, padding)
        self.bn = _FrozenBN(cout, eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class _Block(nn.Module):
    def __init__(self, conv: Conventions):
        super().__init__()
        self.conv = conv

    def c(self, cin: int, cout: int, kernel: Pair, stride: Pair = 1, padding: Pair = 0) -> BasicConv2d:
        return BasicConv2d(cin, cout, kernel, self.conv.bn_eps, stride, padding)

    def avg3(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=self.conv.pool_count_include_pad)


class InceptionA(_Block):
    """Mixed_5b..5d (pytorch-fid's FIDInceptionA)."""

    def __init__(self, cin: int, pool_features: int, conv: Conventions):
        super().__init__(conv)
        self.branch1x1 = self.c(cin, 64, 1)
        self.branch5x5_1 = self.c(cin, 48, 1)
        self.branch5x5_2 = self.c(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = self.c(cin, 64, 1)
        self.branch3x3dbl_2 = self.c(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = self.c(96, 96, 3, padding=1)
        self.branch_pool = self.c(cin, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(self.avg3(x))], 1)


class InceptionB(_Block):
    """Mixed_6a (grid reduction 35 -> 17; identical in torchvision and pytorch-fid)."""

    def __init__(self, cin: int, conv: Conventions):
        super().__init__(conv)
        self.branch3x3 = self.c(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = self.c(cin, 64, 1)
        self.branch3x3dbl_2 = self.c(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = self.c(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionC(_Block):
    """Mixed_6b..6e (pytorch-fid's FIDInceptionC): factorised 7x7 convolutions."""

    def __init__(self, cin: int, c7: int, conv: Conventions):
        super().__init__(conv)
        self.branch1x1 = self.c(cin, 192, 1)
        self.branch7x7_1 = self.c(cin, c7, 1)
        self.branch7x7_2 = self.c(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = self.c(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = self.c(cin, c7, 1)
        self.branch7x7dbl_2 = self.c(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = self.c(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = self.c(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = self.c(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = self.c(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                      self.branch7x7dbl_5):
            d = layer(d)
        return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(self.avg3(x))], 1)


class InceptionD(_Block):
    """Mixed_7a (grid reduction 17 -> 8; identical in torchvision and pytorch-fid)."""

    def __init__(self, cin: int, conv: Conventions):
        super().__init__(conv)
        self.branch3x3_1 = self.c(cin, 192, 1)
        self.branch3x3_2 = self.c(192, 320, 3, stride=2)
        self.branch7x7x3_1 = self.c(cin, 192, 1)
        self.branch7x7x3_2 = self.c(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = self.c(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = self.c(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionE(_Block):
    """Mixed_7b (FIDInceptionE_1: avg pool without padding) and Mixed_7c (FIDInceptionE_2:
    max pool, a quirk of the TF graph that FID numbers carry)."""

    def __init__(self, cin: int, conv: Conventions, pool: str):
        super().__init__(conv)
        if pool not in ("avg", "max"):
            raise ValueError(f"pool branch must be 'avg' or 'max', not {pool!r}")
        self.pool = pool
        self.branch1x1 = self.c(cin, 320, 1)
        self.branch3x3_1 = self.c(cin, 384, 1)
        self.branch3x3_2a = self.c(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = self.c(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = self.c(cin, 448, 1)
        self.branch3x3dbl_2 = self.c(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = self.c(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = self.c(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = self.c(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.branch3x3_1(x)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.pool == "max" else self.avg3(x)
        return torch.cat([self.branch1x1(x), self.branch3x3_2a(a), self.branch3x3_2b(a),
                          self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d), self.branch_pool(pooled)], 1)


class FIDInception(nn.Module):
    """Inception v3 up to pool3, with the FID blocks. ``forward`` takes RGB in [0, 1]
    (N, 3, H, W) float32 and returns (N, 2048): resize to 299, ``2x - 1``, the trunk."""

    def __init__(self, conventions: Conventions = PYTORCH_FID):
        super().__init__()
        cv = self.conventions = conventions
        eps = cv.bn_eps
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, eps, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3, eps)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, eps, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1, eps)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3, eps)
        self.Mixed_5b = InceptionA(192, 32, cv)
        self.Mixed_5c = InceptionA(256, 64, cv)
        self.Mixed_5d = InceptionA(288, 64, cv)
        self.Mixed_6a = InceptionB(288, cv)
        self.Mixed_6b = InceptionC(768, 128, cv)
        self.Mixed_6c = InceptionC(768, 160, cv)
        self.Mixed_6d = InceptionC(768, 160, cv)
        self.Mixed_6e = InceptionC(768, 192, cv)
        self.Mixed_7a = InceptionD(768, cv)
        self.Mixed_7b = InceptionE(1280, cv, "avg")
        self.Mixed_7c = InceptionE(2048, cv, cv.mixed_7c_pool)
        # Part of the published file (a 1008-way ImageNet head), never used for FID.
        self.fc = nn.Linear(DIMS, 1008)
        self.fc.requires_grad_(False)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """[0, 1] RGB -> the trunk's input: bilinear resize to 299x299, then 2x - 1."""
        x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=self.conventions.align_corners)
        return 2 * x - 1

    def pool3(self, x: torch.Tensor) -> torch.Tensor:
        """The trunk on an already prepared input ([-1, 1], any size >= 75): (N, 2048)."""
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, stride=2)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                      self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = block(x)
        return F.adaptive_avg_pool2d(x, (1, 1)).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool3(self.prepare(x))
