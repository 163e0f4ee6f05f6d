"""A small Keras-2.2.4-style functional graph in PyTorch, for ports of Keras models.

Why not a plain nn.Module: Keras ``load_weights`` assigns the i-th weighted layer stored in
an .h5 file to the i-th weighted layer of ``model.layers``, and that order comes from a
depth sort of the functional graph, not from the code order. Building the port as the
same graph lets us compute that order exactly (``keras_order``) and so read official
files the way Keras reads them. Layers compute in NCHW; Keras layouts (NHWC, HWIO
kernels, 'same' padding that pads more at the end) are converted at the edges.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

Shape = Tuple[int, ...]  # without the batch axis, Keras order (H, W, C) or (D,)


class Namer:
    """Keras' per-session auto-names: conv2d_1, conv2d_2, ... one counter per prefix."""

    def __init__(self):
        self.counts: Dict[str, int] = defaultdict(int)

    def __call__(self, prefix: str) -> str:
        self.counts[prefix] += 1
        return f"{prefix}_{self.counts[prefix]}"


@dataclass(frozen=True)
class Sym:
    """A symbolic tensor: output of node `node` of the graph, with its Keras shape."""

    node: int
    shape: Shape


class KLayer(nn.Module):
    prefix = "layer"
    keras_class = "Layer"

    def __init__(self):
        super().__init__()
        self.name = ""

    def output_shape(self, *shapes: Shape) -> Shape:
        return shapes[0]

    def keras_weight_shapes(self) -> List[Shape]:
        return []

    def set_keras_weights(self, arrays: Sequence[np.ndarray]) -> None:
        pass


def _same_pads(size: int, k: int, s: int) -> Tuple[int, int]:
    out = math.ceil(size / s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def _param(shape) -> nn.Parameter:
    return nn.Parameter(torch.zeros(shape), requires_grad=False)


class Conv2D(KLayer):
    prefix, keras_class = "conv2d", "Conv2D"

    def __init__(self, cin: int, filters: int, kernel, strides=1, padding: str = "same"):
        super().__init__()
        self.k = (kernel, kernel) if isinstance(kernel, int) else tuple(kernel)
        self.s = (strides, strides) if isinstance(strides, int) else tuple(strides)
        self.padding, self.cin, self.filters = padding, cin, filters
        self.weight, self.bias = _param((filters, cin, *self.k)), _param((filters,))

    def output_shape(self, shape: Shape) -> Shape:
        h, w, _ = shape
        if self.padding == "same":
            return math.ceil(h / self.s[0]), math.ceil(w / self.s[1]), self.filters
        return math.ceil((h - self.k[0] + 1) / self.s[0]), math.ceil((w - self.k[1] + 1) / self.s[1]), self.filters

    def keras_weight_shapes(self) -> List[Shape]:
        return [(*self.k, self.cin, self.filters), (self.filters,)]

    def set_keras_weights(self, arrays) -> None:
        self.weight.copy_(torch.from_numpy(np.ascontiguousarray(arrays[0].transpose(3, 2, 0, 1))))  # HWIO -> OIHW
        self.bias.copy_(torch.from_numpy(arrays[1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding == "same":
            top, bottom = _same_pads(x.shape[2], self.k[0], self.s[0])
            left, right = _same_pads(x.shape[3], self.k[1], self.s[1])
            x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, self.bias, self.s)


class Conv2DTranspose(KLayer):
    """'same' output = input x stride; TF crops the full transposed convolution from the
    padding the forward convolution would have used (the smaller half first)."""

    prefix, keras_class = "conv2d_transpose", "Conv2DTranspose"

    def __init__(self, cin: int, filters: int, kernel, strides):
        super().__init__()
        self.k = (kernel, kernel) if isinstance(kernel, int) else tuple(kernel)
        self.s = (strides, strides) if isinstance(strides, int) else tuple(strides)
        self.cin, self.filters = cin, filters
        self.weight, self.bias = _param((cin, filters, *self.k)), _param((filters,))

    def output_shape(self, shape: Shape) -> Shape:
        return shape[0] * self.s[0], shape[1] * self.s[1], self.filters

    def keras_weight_shapes(self) -> List[Shape]:
        return [(*self.k, self.filters, self.cin), (self.filters,)]

    def set_keras_weights(self, arrays) -> None:
        self.weight.copy_(torch.from_numpy(np.ascontiguousarray(arrays[0].transpose(3, 2, 0, 1))))  # (kh,kw,out,in) -> (in,out,kh,kw)
        self.bias.copy_(torch.from_numpy(arrays[1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv_transpose2d(x, self.weight, None, self.s)
        for axis, (n, k, s) in enumerate(zip(x.shape[2:], self.k, self.s)):
            out = n * s
            before = max((n - 1) * s + k - out, 0) // 2
            full = y.shape[2 + axis]
            if full < before + out:  # kernel smaller than stride: the rest is zeros
                pad = [0, 0, 0, 0]
                pad[(1 - axis) * 2 + 1] = before + out - full
                y = F.pad(y, pad)
            y = y.narrow(2 + axis, before, out)
        return y + self.bias.view(1, -1, 1, 1)


class BatchNormalization(KLayer):
    prefix, keras_class = "batch_normalization", "BatchNormalization"

    def __init__(self, channels: int, eps: float = 1e-3):
        super().__init__()
        self.eps = eps
        self.gamma, self.beta = _param((channels,)), _param((channels,))
        self.mean, self.var = _param((channels,)), _param((channels,))

    def keras_weight_shapes(self) -> List[Shape]:
        return [(self.gamma.numel(),)] * 4

    def set_keras_weights(self, arrays) -> None:
        for p, a in zip((self.gamma, self.beta, self.mean, self.var), arrays):
            p.copy_(torch.from_numpy(a))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(x, self.mean, self.var, self.gamma, self.beta, False, 0.0, self.eps)


class InstanceNormalization(KLayer):
    """keras_contrib InstanceNormalization(axis=None): one mean and one population std over
    H, W and C of each sample, eps added to the std; scalar gamma and beta."""

    prefix, keras_class = "instance_normalization", "InstanceNormalization"

    def __init__(self, eps: float = 1e-3):
        super().__init__()
        self.eps = eps
        self.gamma, self.beta = _param((1,)), _param((1,))

    def keras_weight_shapes(self) -> List[Shape]:
        return [(1,), (1,)]

    def set_keras_weights(self, arrays) -> None:
        self.gamma.copy_(torch.from_numpy(arrays[0]))
        self.beta.copy_(torch.from_numpy(arrays[1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(1, x.dim()))
        mean = x.mean(dim=dims, keepdim=True)
        std = (x - mean).pow(2).mean(dim=dims, keepdim=True).sqrt() + self.eps
        return (x - mean) / std * self.gamma + self.beta


class Activation(KLayer):
    prefix, keras_class = "activation", "Activation"
    FUNCS: Dict[str, Callable] = {"relu": F.relu, "sigmoid": torch.sigmoid, "linear": lambda x: x}

    def __init__(self, fn: str):
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.FUNCS[self.fn](x)


class LeakyReLU(KLayer):
    prefix, keras_class = "leaky_re_lu", "LeakyReLU"

    def __init__(self, alpha: float):
        super().__init__()
        self.alpha = float(np.float32(alpha))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x, self.alpha)


class Add(KLayer):
    prefix, keras_class = "add", "Add"

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Concatenate(KLayer):
    """Keras axis=3 (channels of NHWC) is axis 1 here."""

    prefix, keras_class = "concatenate", "Concatenate"

    def output_shape(self, *shapes: Shape) -> Shape:
        return (*shapes[0][:-1], sum(s[-1] for s in shapes))

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=1)


class ZeroPadding2D(KLayer):
    prefix, keras_class = "zero_padding2d", "ZeroPadding2D"

    def __init__(self, pads: Tuple[Tuple[int, int], Tuple[int, int]]):
        super().__init__()
        self.pads = pads

    def output_shape(self, shape: Shape) -> Shape:
        (t, b), (l, r) = self.pads
        return shape[0] + t + b, shape[1] + l + r, shape[2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (t, b), (l, r) = self.pads
        return F.pad(x, (l, r, t, b))


class Flatten(KLayer):
    """Flattens in Keras' (H, W, C) order."""

    prefix, keras_class = "flatten", "Flatten"

    def output_shape(self, shape: Shape) -> Shape:
        return (int(np.prod(shape)),)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 3, 1).flatten(1) if x.dim() == 4 else x.flatten(1)


class Lambda(KLayer):
    prefix, keras_class = "lambda", "Lambda"

    def __init__(self, fn: Callable, shape_fn: Optional[Callable] = None):
        super().__init__()
        self.fn, self.shape_fn = fn, shape_fn

    def output_shape(self, *shapes: Shape) -> Shape:
        return self.shape_fn(*shapes) if self.shape_fn else shapes[0]

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return self.fn(*xs)


class InputLayer(KLayer):
    prefix, keras_class = "input", "InputLayer"


@dataclass
class _Node:
    layer: int
    inputs: Tuple[int, ...]
    shape: Shape


class Graph(nn.Module):
    """Records layer calls in code order; runs them in that (topological) order."""

    def __init__(self, namer: Optional[Namer] = None):
        super().__init__()
        self.namer = namer or Namer()
        self.klayers = nn.ModuleList()
        self.nodes: List[_Node] = []
        self.input_nodes: List[int] = []
        self.output_nodes: List[int] = []
        self._tap: Dict[str, int] = {}

    def input(self, name: str, shape: Shape) -> Sym:
        layer = InputLayer()
        layer.name = name
        self.klayers.append(layer)
        self.nodes.append(_Node(len(self.klayers) - 1, (), tuple(shape)))
        self.input_nodes.append(len(self.nodes) - 1)
        return Sym(len(self.nodes) - 1, tuple(shape))

    def add_layer(self, layer: KLayer, name: Optional[str] = None) -> KLayer:
        layer.name = name or self.namer(layer.prefix)
        self.klayers.append(layer)
        return layer

    def call(self, layer: KLayer, *inputs: Sym, tap: Optional[str] = None) -> Sym:
        """Apply `layer` (added on first use; a layer called again is shared, as in Keras)."""
        if not any(layer is l for l in self.klayers):
            self.add_layer(layer)
        index = next(i for i, l in enumerate(self.klayers) if l is layer)
        shape = layer.output_shape(*[s.shape for s in inputs])
        self.nodes.append(_Node(index, tuple(s.node for s in inputs), shape))
        if tap:
            self._tap[tap] = len(self.nodes) - 1
        return Sym(len(self.nodes) - 1, shape)

    def set_outputs(self, *outs: Sym) -> None:
        self.output_nodes = [o.node for o in outs]

    def forward(self, *inputs: torch.Tensor, taps: Sequence[str] = ()) -> "Tuple[torch.Tensor, ...]":
        values: Dict[int, torch.Tensor] = dict(zip(self.input_nodes, inputs))
        for i, node in enumerate(self.nodes):
            if i not in values:
                values[i] = self.klayers[node.layer](*[values[j] for j in node.inputs])
        return tuple(values[o] for o in self.output_nodes) + tuple(values[self._tap[t]] for t in taps)

    def keras_order(self) -> List[KLayer]:
        """``model.layers`` as Keras 2.2.4 orders a functional model: layers by decreasing
        depth (longest path to an output), ties by first visit of a depth-first walk from
        the outputs that follows each node's inputs in order."""
        first_visit: Dict[int, int] = {}
        finished: set = set()
        post_order: List[int] = []

        def walk(node: int) -> None:
            if node in finished:
                return
            layer = self.nodes[node].layer
            first_visit.setdefault(layer, len(first_visit))
            for j in self.nodes[node].inputs:
                walk(j)
            finished.add(node)
            post_order.append(node)

        for o in self.output_nodes:
            walk(o)
        node_depth: Dict[int, int] = {}
        layer_depth: Dict[int, int] = {}
        for node in reversed(post_order):
            depth = max(node_depth.setdefault(node, 0), layer_depth.get(self.nodes[node].layer, 0))
            layer_depth[self.nodes[node].layer] = depth
            node_depth[node] = depth
            for j in self.nodes[node].inputs:
                node_depth[j] = max(depth + 1, node_depth.get(j, 0))
        order = sorted(layer_depth, key=lambda l: (-layer_depth[l], first_visit[l]))
        return [self.klayers[i] for i in order]

    def shapes(self) -> Dict[str, Shape]:
        """Output shape of every layer's last call, by name (for checks against a Keras summary)."""
        return {self.klayers[n.layer].name: n.shape for n in self.nodes}
