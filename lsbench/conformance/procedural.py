"""The ``procedural-v1`` weight rule and the official on-disk checkpoint formats.

Weights are deterministic functions of each tensor's key, shape and kind; every tensor
is checked against the sha-256 that keys.json records before a file is written, so a
drift in the rule can never pass as a port bug (or hide one).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Dict, Mapping

import numpy as np

RULE = "procedural-v1"


def key_seed(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "little")


def _draw(key: str, shape: tuple) -> np.ndarray:
    return np.random.Generator(np.random.PCG64(key_seed(key))).standard_normal(shape)


def _scaled(entry: Mapping, z: np.ndarray) -> np.ndarray:
    kind, shape = entry["kind"], tuple(entry["shape"])
    if kind == "weight":
        fan_in = entry.get("fan_in") or int(np.prod(shape[1:]))
        return z * math.sqrt(2.0 / int(fan_in))
    if kind in ("bias", "norm_bias", "running_mean", "rnn_bias"):
        return 0.01 * z
    if kind == "norm_weight":
        return 1.0 + 0.01 * z
    if kind == "running_var":
        return 1.0 + 0.1 * np.abs(z)
    if kind == "rnn_weight":
        return z / math.sqrt(float(entry["hidden"]))
    raise ValueError(f"{entry['key']}: unknown kind {kind!r}")


def tensor(entry: Mapping, pack_dir: Path) -> np.ndarray:
    """The value of one keys.json entry, in its final dtype, C order."""
    shape = tuple(int(s) for s in entry["shape"])
    dtype = np.dtype(entry.get("dtype", "float32"))
    kind = entry["kind"]
    if kind == "zeros":
        value = np.zeros(shape, np.float64)
    elif kind == "const":
        fname, _, name = entry["value"].partition("#")
        with np.load(pack_dir / fname) as consts:
            value = np.asarray(consts[name], np.float64)
        if value.shape != shape:
            raise ValueError(f"{entry['key']}: const shape {value.shape} != {shape}")
    else:
        value = _scaled(entry, _draw(entry["key"], shape))
    return np.array(np.asarray(value, np.float64).astype(dtype), order="C", copy=True)


def digest(a: np.ndarray) -> str:
    a = np.array(a, order="C", copy=False)
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    return hashlib.sha256(a.tobytes()).hexdigest()


def materialize_set(tset: Mapping, pack_dir: Path) -> "OrderedDict[str, np.ndarray]":
    """All tensors of one tensor set, each verified against its recorded sha-256."""
    out: "OrderedDict[str, np.ndarray]" = OrderedDict()
    for entry in tset["entries"]:
        value = tensor(entry, pack_dir)
        if entry.get("sha256") and digest(value) != entry["sha256"]:
            raise ValueError(f"procedural tensor {entry['key']} does not match its recorded sha-256")
        out[entry["key"]] = value
    return out


def _torch_dict(values: Mapping[str, np.ndarray], prefix: str = "") -> "OrderedDict":
    import torch

    return OrderedDict((prefix + k, torch.from_numpy(np.array(v, order="C", copy=True))) for k, v in values.items())


def _save(obj, path: Path) -> None:
    import torch

    torch.save(obj, str(path), _use_new_zipfile_serialization=False)  # the legacy container, as the originals


def _wrapped(container: str, prefix: str = "", **extra) -> Callable:
    def write(slots, path, layout=None):
        _save({container: _torch_dict(slots["state_dict"], prefix), **extra}, path)

    return write


def _wav2lip(prefix: str) -> Callable:
    def write(slots, path, layout=None):
        _save({"state_dict": _torch_dict(slots["state_dict"], prefix), "optimizer": None,
               "global_step": 0, "global_epoch": 0}, path)

    return write


def _plain(slots, path, layout=None):
    _save(_torch_dict(slots["state_dict"]), path)


def _synctalkface(slots, path, layout=None):
    _save({k: _torch_dict(slots[k]) for k in ("model_state_dict", "dec_state_dict", "disc_state_dict")}, path)


def _keras224(under_model_weights: bool) -> Callable:
    """Keras 2.2.4 HDF5 weights: Model.save keeps them under 'model_weights', save_weights at the root."""

    def write(slots, path, layout=None):
        import h5py

        if layout is None:
            raise ValueError("a Keras checkpoint needs the tensor set's keras_layout")
        values = slots["state_dict"]
        with h5py.File(str(path), "w") as f:
            root = f.create_group("model_weights") if under_model_weights else f
            root.attrs["layer_names"] = [n.encode("utf8") for n in layout["layer_names"]]
            root.attrs["backend"] = b"tensorflow"
            root.attrs["keras_version"] = b"2.2.4"
            for layer in layout["layers"]:
                group = root.create_group(layer["name"])
                group.attrs["weight_names"] = [n.encode("utf8") for n in layer["weight_names"]]
                for n in layer["weight_names"]:
                    group.create_dataset(n, data=values[n])  # 'conv2d_1/kernel:0' nests one group deeper

    return write


WRITERS: Dict[str, Callable] = {
    "torch_state_dict": _plain,
    "wav2lip_checkpoint": _wav2lip("module."),
    "wav2lip_checkpoint_unprefixed": _wav2lip(""),
    "makeittalk_autovc": _wrapped("model"),
    "makeittalk_content_branch": _wrapped("model_g_face_id", epoch=0),
    "makeittalk_speaker_branch": _wrapped("G", epoch=0),
    "makeittalk_i2i": _wrapped("G", epoch=0),
    "makeittalk_i2i_dataparallel": _wrapped("G", "module.", epoch=0),
    "synctalkface_checkpoint": _synctalkface,
    "keras224_model_h5": _keras224(True),
    "keras224_weights_h5": _keras224(False),
}


def write_checkpoint(pack_dir: Path, checkpoint: Mapping, out_dir: Path) -> Path:
    """Materialise one pack.json checkpoint entry as its official file under out_dir, with a
    ``<file>.procedural.json`` sidecar (rule, pack, sha-256) that marks it as test weights
    wherever it is later found (weights.provenance: state ``procedural``)."""
    from ..weights import mark_procedural

    writer = WRITERS.get(checkpoint["format"])
    if writer is None:
        raise ValueError(f"checkpoint format {checkpoint['format']!r} is not supported yet")
    keys = json.loads((pack_dir / checkpoint["keys"]).read_text())
    if keys.get("rule") not in (None, RULE):
        raise ValueError(f"{pack_dir / checkpoint['keys']}: unknown weight rule {keys.get('rule')!r}")
    sets = {slot: keys["tensor_sets"][name] for slot, name in checkpoint["tensor_sets"].items()}
    slots = {slot: materialize_set(tset, pack_dir) for slot, tset in sets.items()}
    layout = next((t["keras_layout"] for t in sets.values() if "keras_layout" in t), None)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / checkpoint["filename"]
    writer(slots, path, layout)
    mark_procedural(path, RULE, _pack_name(pack_dir))
    return path


def write_stand_in(spec, packs_dir: Path, out_dir: Path) -> Path:
    """The procedural stand-in of a weight file (its spec's `procedural`, "pack/checkpoint id") under
    the file's own name, marked as test weights: what LSBENCH_WEIGHTS_DIR holds in the tests."""
    import shutil
    import tempfile

    from ..weights import mark_procedural

    pack, _, ck_id = spec.procedural.partition("/")
    checkpoints = json.loads((Path(packs_dir) / pack / "pack.json").read_text())["checkpoints"]
    ck = next((c for c in checkpoints if c["id"] == ck_id), None)
    if ck is None:
        raise ValueError(f"weights {spec.name}: pack {pack} has no checkpoint {ck_id!r}")
    if ck["filename"] == spec.filename:
        return write_checkpoint(Path(packs_dir) / pack, ck, out_dir)
    with tempfile.TemporaryDirectory() as tmp:  # the same layers under another file name (wav2lip_gan.pth)
        dest = Path(out_dir) / spec.filename
        shutil.copyfile(write_checkpoint(Path(packs_dir) / pack, ck, Path(tmp)), dest)
    mark_procedural(dest, RULE, pack)
    return dest


def _pack_name(pack_dir: Path) -> str:
    try:
        return str(json.loads((Path(pack_dir) / "pack.json").read_text()).get("name") or Path(pack_dir).name)
    except (OSError, ValueError):
        return Path(pack_dir).name
