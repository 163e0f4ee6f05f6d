"""LipGAN's generator (create_model_residual) and discriminator as Keras-style graphs.

Two official branches differ only in the audio encoder: `master` reads 12x35 MATLAB MFCC
chunks, `fully_pythonic` ("pythonic") 80x27 mel chunks. Layer sizes, strides, paddings and
the call order (which fixes Keras' auto-names and load order) follow the official
generator.py / discriminator.py (Rudrabha/LipGAN).
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..errors import WeightsError
from .keras_graph import (Activation, Add, BatchNormalization, Concatenate, Conv2D, Conv2DTranspose, Flatten, Graph,
                          InstanceNormalization, Lambda, LeakyReLU, Namer, Sym, ZeroPadding2D)

VARIANTS = ("master", "pythonic")
AUDIO_SHAPE = {"master": (12, 35, 1), "pythonic": (80, 27, 1)}
FACE = 96


def _conv_bn(g: Graph, x: Sym, filters: int, k=3, s=1, padding="same", act=True) -> Sym:
    x = g.call(Conv2D(x.shape[-1], filters, k, s, padding), x)
    x = g.call(BatchNormalization(filters), x)
    return g.call(Activation("relu"), x) if act else x


def _conv_t(g: Graph, x: Sym, filters: int, k=3, s=2) -> Sym:
    x = g.call(Conv2DTranspose(x.shape[-1], filters, k, s), x)
    x = g.call(BatchNormalization(filters), x)
    return g.call(Activation("relu"), x)


def _residual(g: Graph, inp: Sym, filters: int) -> Sym:
    x = _conv_bn(g, inp, filters)
    x = _conv_bn(g, x, filters)
    return g.call(Activation("relu"), g.call(Add(), x, inp))


def _repeat_res(g: Graph, x: Sym, filters: int, n: int) -> Sym:
    for _ in range(n):
        x = _residual(g, x, filters)
    return x


def generator(variant: str, namer: Optional[Namer] = None) -> Graph:
    """Outputs: the sigmoid image; tap "logits" gives its input."""
    g = Graph(namer)
    face = g.input("input_face", (FACE, FACE, 6))
    identity = _conv_bn(g, face, 32, 7)  # 96
    x1 = _repeat_res(g, _conv_bn(g, identity, 64, 5, 2), 64, 2)  # 48
    x2 = _repeat_res(g, _conv_bn(g, x1, 128, 3, 2), 128, 3)  # 24
    x3 = _repeat_res(g, _conv_bn(g, x2, 256, 3, 2), 256, 2)  # 12
    x4 = _repeat_res(g, _conv_bn(g, x3, 512, 3, 2), 512, 2)  # 6
    x5 = _conv_bn(g, x4, 512, 3, 2)  # 3
    x6 = _conv_bn(g, x5, 512, 3, 1, "valid")
    x7 = _conv_bn(g, x6, 512, 1, 1)

    audio = g.input("input_audio", AUDIO_SHAPE[variant])
    if variant == "master":
        a = _repeat_res(g, _conv_bn(g, audio, 128), 128, 3)
        a = g.call(ZeroPadding2D(((1, 0), (0, 0))), a)
        a = _repeat_res(g, _conv_bn(g, a, 256, s=(1, 2)), 256, 2)
        a = _repeat_res(g, _conv_bn(g, a, 512, s=2), 512, 2)
        a = _repeat_res(g, _conv_bn(g, a, 512, s=2), 512, 1)
        a = _conv_bn(g, a, 512, (4, 5), 1, "valid")
    else:
        a = _repeat_res(g, _conv_bn(g, audio, 32), 32, 2)
        a = _repeat_res(g, _conv_bn(g, a, 64, s=3), 64, 2)
        a = _repeat_res(g, _conv_bn(g, a, 128, s=(3, 1)), 128, 2)
        a = _repeat_res(g, _conv_bn(g, a, 256, s=3), 256, 2)
        a = _conv_bn(g, a, 512, 3, 1, "valid")
    a = _conv_bn(g, a, 512, 1, 1)

    x = g.call(Concatenate(), x7, a)
    x = g.call(Concatenate(), x5, _conv_t(g, x, 512, 3, 3))  # 3
    for skip, filters, n_res in ((x4, 512, 2), (x3, 256, 2), (x2, 128, 2), (x1, 64, 2)):
        x = g.call(Concatenate(), skip, _repeat_res(g, _conv_t(g, x, filters), filters, n_res))
    x = g.call(Concatenate(), identity, _conv_t(g, x, 32))  # 96
    x = _conv_bn(g, _conv_bn(g, x, 16), 16)
    logits = g.call(Conv2D(16, 3, 1, 1), x, tap="logits")
    prediction = g.add_layer(Activation("sigmoid"), name="prediction")  # named in generator.py: no auto-name used
    g.set_outputs(g.call(prediction, logits))
    return g


def _conv_in(g: Graph, x: Sym, filters: int, k=3, s=2, padding="same") -> Sym:
    x = g.call(Conv2D(x.shape[-1], filters, k, s, padding), x)
    return g.call(LeakyReLU(0.2), g.call(InstanceNormalization(), x))


def _l2_normalize(x: torch.Tensor) -> torch.Tensor:
    return x / torch.sqrt(torch.clamp((x * x).sum(dim=1, keepdim=True), min=1e-12))


def _distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(((a - b) ** 2).sum(dim=1, keepdim=True))


def discriminator(variant: str, namer: Optional[Namer] = None) -> Graph:
    """Output: (B,1) distance between the unit face and audio embeddings."""
    g = Graph(namer)
    face = g.input("input_face_disc", (FACE, FACE, 3))
    x = face
    for filters, k in ((64, 7), (128, 5), (256, 3), (512, 3), (512, 3)):
        x = _conv_in(g, x, filters, k)
    face_emb = g.call(Flatten(), g.call(Conv2D(512, 512, 3, 1, "valid"), x))

    audio = g.input("input_audio_disc" if variant == "master" else "input_audio", AUDIO_SHAPE[variant])
    if variant == "master":
        a = _conv_in(g, _conv_in(g, audio, 64, 3, 1), 128, 3, 1)
        a = g.call(ZeroPadding2D(((1, 0), (0, 0))), a)
        for filters, s in ((256, (1, 2)), (256, 1), (256, 2), (512, 2)):
            a = _conv_in(g, a, filters, 3, s)
        a = g.call(Conv2D(512, 512, (4, 5), 1, "valid"), a)
    else:
        a = audio
        for filters, s in ((32, 1), (64, 3), (128, (3, 1)), (256, 3)):
            a = _conv_in(g, a, filters, 3, s)
        a = _conv_in(g, _conv_in(g, a, 512, 3, 1, "valid"), 512, 1, 1)
    audio_emb = g.call(Flatten(), a)

    l2 = Lambda(_l2_normalize)
    d = Lambda(_distance, lambda s1, s2: (1,))
    g.set_outputs(g.call(d, g.call(l2, face_emb), g.call(l2, audio_emb)))
    return g


# ---------------------------------------------------------------- loading official .h5 files

H5_FORMAT = ("a Keras 2.2.4 HDF5 file (Model.save: weights under 'model_weights'; or save_weights: at the root) "
             "with 'layer_names' and per-layer 'weight_names' attributes")


def _read_h5_layers(path: Path, what: str) -> List[Tuple[str, List[np.ndarray]]]:
    """(layer name, arrays in weight_names order) of every layer with weights, in file order."""
    import h5py

    try:
        f = h5py.File(str(path), "r")
    except OSError as exc:
        raise WeightsError(f"{path}: not a valid {what}: expected {H5_FORMAT}; cannot open as HDF5 ({exc})") from None
    with f:
        g = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in g.attrs:
            raise WeightsError(f"{path}: not a valid {what}: expected {H5_FORMAT}; no 'layer_names' attribute")
        out = []
        for raw in g.attrs["layer_names"]:
            name = raw.decode("utf8") if isinstance(raw, bytes) else str(raw)
            if name not in g:
                raise WeightsError(f"{path}: not a valid {what}: layer {name!r} is listed but has no group (truncated?)")
            wnames = [w.decode("utf8") if isinstance(w, bytes) else str(w) for w in g[name].attrs.get("weight_names", [])]
            try:
                arrays = [np.asarray(g[name][w], np.float32) for w in wnames]
            except (KeyError, OSError) as exc:
                raise WeightsError(f"{path}: not a valid {what}: weights of layer {name!r} unreadable ({exc})") from None
            if arrays:
                out.append((name, arrays))
        return out


def load_keras_weights(graph: Graph, path: "str | Path", what: str) -> Graph:
    """Assign by layer order, as Keras 2.2.4 load_weights(by_name=False) does, checking
    every shape first so that a wrong file names the first layer that disagrees."""
    path = Path(path)
    stored = _read_h5_layers(path, what)
    layers = [l for l in graph.keras_order() if l.keras_weight_shapes()]
    if len(stored) != len(layers):
        raise WeightsError(f"{path}: not a valid {what}: the file holds {len(stored)} layers with weights, "
                           f"the model has {len(layers)} (another LipGAN variant or model?)")
    for i, ((name, arrays), layer) in enumerate(zip(stored, layers)):
        got = [tuple(a.shape) for a in arrays]
        want = [tuple(s) for s in layer.keras_weight_shapes()]
        if got != want:
            raise WeightsError(f"{path}: not a valid {what}: weighted layer #{i + 1} {name!r} holds shapes {got}, "
                               f"the model's {layer.name} ({layer.keras_class}) needs {want}")
    with torch.no_grad():
        for (_, arrays), layer in zip(stored, layers):
            layer.set_keras_weights(arrays)
    return graph.eval()


def detect_variant(path: "str | Path", what: str) -> str:
    """master or pythonic, from the audio encoder's first kernel (1 input channel; 128 / 32 filters,
    or 64 / 32 in the discriminator)."""
    stored = _read_h5_layers(Path(path), what)
    for _, arrays in stored:
        k = arrays[0]
        if k.ndim == 4 and k.shape[2] == 1:
            return "master" if k.shape[3] in (128, 64) else "pythonic"
    raise WeightsError(f"{path}: not a valid {what}: no audio encoder layer found")


def load_generator(path: "str | Path", variant: str = "auto", device: str = "cpu") -> Tuple[Graph, str]:
    what = "LipGAN generator checkpoint"
    variant = detect_variant(path, what) if variant == "auto" else variant
    if variant not in VARIANTS:
        raise ValueError(f"LipGAN variant {variant!r}: expected one of {VARIANTS}")
    return load_keras_weights(generator(variant), path, f"{what} ({variant})").to(device), variant


def generator_variant(path: "str | Path") -> str:
    """Load a LipGAN generator file as lsbench does and say which variant it holds."""
    _, variant = load_generator(path)
    return f"variant {variant}"


def load_discriminator(path: "str | Path", variant: str = "auto", device: str = "cpu") -> Tuple[Graph, str]:
    what = "LipGAN discriminator checkpoint"
    variant = detect_variant(path, what) if variant == "auto" else variant
    return load_keras_weights(discriminator(variant), path, f"{what} ({variant})").to(device), variant


def generator_input(face_bgr: np.ndarray, identity_bgr: Optional[np.ndarray] = None) -> torch.Tensor:
    """(B,96,96,3) uint8 BGR -> (B,6,96,96) float32: the unmasked identity face first, then the
    face with rows 48.. zeroed (LipGAN's order; Wav2Lip's is the reverse)."""
    masked = face_bgr.copy()
    masked[:, FACE // 2:] = 0
    ident = face_bgr if identity_bgr is None else np.broadcast_to(identity_bgr, face_bgr.shape)
    x = np.concatenate([ident, masked], axis=3).astype(np.float32) / 255.0
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def audio_input(chunks: np.ndarray) -> torch.Tensor:
    """(B,H,W,1) Keras chunks -> (B,1,H,W)."""
    return torch.from_numpy(np.ascontiguousarray(np.asarray(chunks, np.float32).transpose(0, 3, 1, 2)))


def nhwc(x: torch.Tensor) -> np.ndarray:
    return x.permute(0, 2, 3, 1).cpu().numpy()


__all__: Sequence[str] = ("generator", "discriminator", "load_generator", "load_discriminator", "VARIANTS")
