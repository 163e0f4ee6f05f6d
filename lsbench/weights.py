"""The only code in lsbench that downloads, verifies and locates checkpoint files.

Search order for a file: ``$LSBENCH_WEIGHTS_DIR`` (a folder of files the user already
has), then the cache ``$LSBENCH_HOME/weights``. Downloads go to a temporary name in the
cache folder, are checked (size, sha-256) and only then renamed into place, so an
interrupted or corrupt transfer never looks like a usable file.

Every file has one provenance state (``provenance``), so a score can say whether it came
from the authors' weights:

- ``verified``: its sha-256 equals the published one, or starts with the prefix published
  in the file name (pytorch-fid's ``...-6726825d.pth``);
- ``pinned``: no hash is published; it equals the hash recorded when the file was first
  downloaded from the official URL (trust on first use);
- ``mirror``: anything else that no published or pinned hash vouches for: a download
  through ``LSBENCH_MIRROR``, a file in ``LSBENCH_WEIGHTS_DIR`` or given by path;
- ``procedural``: test weights, written with a ``<file>.procedural.json`` sidecar whose
  sha-256 matches the file;
- ``unverified``: weights lsbench never sees (external submissions).

Only ``verified`` and ``pinned`` count as official.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional

from .errors import UnsafeCheckpoint, WeightsError

CHUNK = 1 << 20
OFFICIAL_STATES = ("verified", "pinned")
STATES = OFFICIAL_STATES + ("mirror", "procedural", "unverified")
SIDECAR_SUFFIX = ".procedural.json"


@dataclass(frozen=True)
class WeightSpec:
    """One official checkpoint file. ``sha256`` is None where the authors publish none:
    the hash is then recorded in the lock file on first download and enforced after."""

    name: str
    filename: str
    url: str
    sha256: Optional[str]
    size: Optional[int]
    group: str
    direct: bool = True  # False: the public link is a web page (e.g. Google Drive), not the file
    note: str = ""
    sha256_prefix: Optional[str] = None  # leading hex digits of the sha-256 the authors publish in the file name
    loader: str = ""  # "module:function" that loads a file of this spec as lsbench does (keys and shapes checked)
    procedural: str = ""  # "pack/checkpoint id" of ../shared/conformance whose procedural weights stand in for it

    def __post_init__(self) -> None:
        if self.sha256_prefix is not None and self.sha256_prefix not in self.filename:
            raise ValueError(f"{self.name}: sha256_prefix {self.sha256_prefix} is not part of {self.filename}")


def specs_of(weights_field: str) -> List[WeightSpec]:
    """The specs a registry entry's ``weights`` field names: comma-separated "module:ATTR"
    targets (ATTR a WeightSpec or a list of them), each optionally narrowed to one spec by
    "#name" (``lsbench.models.wav2lip:WEIGHTS#wav2lip_gan``)."""
    out: List[WeightSpec] = []
    for target in filter(None, (t.strip() for t in weights_field.split(","))):
        ref, _, only = target.partition("#")
        module_name, _, attr = ref.partition(":")
        obj = getattr(importlib.import_module(module_name), attr or "WEIGHTS")
        found = [obj] if isinstance(obj, WeightSpec) else list(obj)
        if only:
            found = [x for x in found if x.name == only]
            if not found:
                raise ValueError(f"weights {target!r}: {ref} has no spec named {only!r}")
        out.extend(x for x in found if x not in out)
    return out


def _registries():
    from .registry import DATASETS, DETECTORS, METRICS, MODELS, PROTOCOLS

    return (DATASETS, DETECTORS, MODELS, METRICS, PROTOCOLS)


def all_specs() -> List[WeightSpec]:
    """Every spec a registry entry names, in registry order, each once: the registry is
    the one list of components, so a component's weights are known where it is registered."""
    specs: List[WeightSpec] = []
    seen = set()
    for registry in _registries():
        for entry in registry:
            for s in specs_of(entry.weights):
                if s.name not in seen:
                    seen.add(s.name)
                    specs.append(s)
    return specs


def trained_by(s: WeightSpec) -> str:
    """The command that makes s where the authors released no weights (from the registry
    entry that loads it), else ""."""
    for registry in _registries():
        for entry in registry:
            if getattr(entry, "trained_by", "") and s in specs_of(entry.weights):
                return entry.trained_by
    return ""


def public_name(s: WeightSpec) -> str:
    """The name a user types for s: hyphens, like every other name on the command line
    (model wav2lip-gan, weights wav2lip-gan)."""
    return s.name.replace("_", "-")


def _lookup(name: str, specs: List[WeightSpec]) -> List[WeightSpec]:
    for s in specs:
        if name in (s.name, public_name(s)):
            return [s]
    return [s for s in specs if s.group == name]


def resolve(names: Iterable[str]) -> List[WeightSpec]:
    """Weight names (either spelling) or group names ("makeittalk" = its four files) to specs, in order."""
    specs = all_specs()
    out: List[WeightSpec] = []
    for name in names:
        chosen = _lookup(name, specs)
        if not chosen:
            import difflib

            known = sorted({public_name(s) for s in specs} | {s.group for s in specs})
            close = difflib.get_close_matches(name.replace("_", "-"), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known)}"
            raise WeightsError(f"unknown weights {name!r}{hint}")
        out.extend(s for s in chosen if s not in out)
    return out


def respelled(names: Iterable[str]) -> List["tuple[str, str]"]:
    """(typed, preferred) for names typed in the old underscore spelling (wav2lip_gan)."""
    specs = all_specs()
    return [(n, public_name(s)) for n in names for s in specs if n == s.name and n != public_name(s)]


def spec(name: str) -> WeightSpec:
    return resolve([name])[0]


def home() -> Path:
    return Path(os.environ.get("LSBENCH_HOME") or Path.home() / ".cache" / "lsbench")


ENV_VARS = ("LSBENCH_HOME", "LSBENCH_WEIGHTS_DIR", "LSBENCH_MIRROR")  # where weights are looked for


def worker_runtime_env() -> Dict[str, Dict[str, str]]:
    """A Ray runtime_env carrying this process's weight locations to its workers: a Ray started
    earlier in the process (a notebook, another command) would otherwise hand its workers the
    environment of that moment, and they would look for the weights elsewhere than the driver."""
    return {"env_vars": {k: os.environ[k] for k in ENV_VARS if os.environ.get(k)}}


def cache_dir() -> Path:
    return home() / "weights"


def lock_path() -> Path:
    return cache_dir() / "weights.lock.json"


def _read_lock() -> Dict[str, dict]:
    """filename -> {"sha256", "source" ("official" or "mirror"), "url"}. An entry that is a bare
    hash string (lock files written before sources were recorded) came from the official URL:
    mirrors were never pinned then."""
    try:
        raw = json.loads(lock_path().read_text())
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise WeightsError(f"{lock_path()}: lock file is not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise WeightsError(f"{lock_path()}: lock file is not a JSON object")
    return {k: ({"sha256": v, "source": "official", "url": ""} if isinstance(v, str) else dict(v))
            for k, v in raw.items()}


def _write_lock(lock: Dict[str, dict]) -> None:
    path = lock_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(lock, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def pinned_sha256(s: WeightSpec) -> Optional[str]:
    """The hash recorded when s was first fetched from its official URL (None: never was)."""
    rec = _read_lock().get(s.filename)
    return rec.get("sha256") if rec and rec.get("source") == "official" else None


def expected_sha256(s: WeightSpec) -> Optional[str]:
    """The full hash a file for s must have: the published one, else the official pin. A
    mirror download is recorded but never enforced: a mirror cannot vouch for the original."""
    return s.sha256 or pinned_sha256(s)


# ------------------------------------------------------------------ procedural test weights


def sidecar_path(p: Path) -> Path:
    return Path(p).with_name(Path(p).name + SIDECAR_SUFFIX)


def mark_procedural(p: Path, rule: str, pack: str) -> Path:
    """Record that p holds procedural test weights (rule, pack, its sha-256) beside it."""
    side = sidecar_path(p)
    side.write_text(json.dumps({"rule": rule, "pack": pack, "sha256": sha256_file(p)}, indent=1) + "\n")
    return side


def procedural_record(p: Path, digest: Optional[str] = None) -> Optional[dict]:
    """The sidecar of p when it describes this very file (same sha-256), else None."""
    side = sidecar_path(p)
    try:
        rec = json.loads(side.read_text())
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(rec, dict) or rec.get("sha256") != (digest or sha256_file(p)):
        return None
    return rec


def candidates(s: WeightSpec) -> List[Path]:
    paths = []
    if os.environ.get("LSBENCH_WEIGHTS_DIR"):
        paths.append(Path(os.environ["LSBENCH_WEIGHTS_DIR"]) / s.filename)
    paths.append(cache_dir() / s.filename)
    return paths


def find(s: WeightSpec) -> Optional[Path]:
    return next((p for p in candidates(s) if p.is_file()), None)


def missing_message(s: WeightSpec) -> str:
    where = " or ".join(str(p) for p in candidates(s))
    made = trained_by(s)
    if made:
        return (f"weights {public_name(s)!r} ({s.filename}) not found (looked in {where}). The authors released "
                f"none: make them with `{made}` and pass the checkpoint with --weights, or put it in a folder "
                f"as {s.filename} and set LSBENCH_WEIGHTS_DIR to it.")
    return (
        f"weights {public_name(s)!r} ({s.filename}) not found (looked in {where}). "
        f"Run `lsbench weights fetch {public_name(s)}` (source: {s.url}), or put {s.filename} in a folder "
        f"and set LSBENCH_WEIGHTS_DIR to it."
    )


def verify(s: WeightSpec, path: Path) -> str:
    """Check size and sha-256 of a file for s; return its sha-256 or raise naming the path.
    Procedural test files load whatever their name says (their provenance flags them)."""
    digest = sha256_file(path)
    if procedural_record(path, digest) is not None:
        return digest
    if s.size is not None and path.stat().st_size != s.size:
        raise WeightsError(
            f"{path}: refused: size {path.stat().st_size} bytes, expected {s.size} for {s.filename} "
            f"(truncated or a different file)"
        )
    expected = expected_sha256(s)
    if expected is not None and digest != expected:
        raise WeightsError(
            f"{path}: refused: sha-256 {digest} does not match the expected {expected} for {s.filename}"
        )
    _check_prefix(s, digest, str(path))
    return digest


def _check_prefix(s: WeightSpec, digest: str, where: str) -> None:
    """The published prefix (e.g. pytorch-fid's ...-6726825d.pth) must start the file's sha-256."""
    if s.sha256_prefix is not None and not digest.startswith(s.sha256_prefix):
        raise WeightsError(f"{where}: refused: sha-256 {digest} does not start with {s.sha256_prefix}, the prefix "
                           f"published in the file name {s.filename}")


def path(name_or_spec: "str | WeightSpec", check: bool = True) -> Path:
    """Local path of a verified file, or a WeightsError saying how to get it."""
    s = spec(name_or_spec) if isinstance(name_or_spec, str) else name_or_spec
    p = find(s)
    if p is None:
        raise WeightsError(missing_message(s))
    if check:
        verify(s, p)
    return p


def _url_for(s: WeightSpec) -> str:
    mirror = os.environ.get("LSBENCH_MIRROR")
    return f"{mirror.rstrip('/')}/{s.filename}" if mirror else s.url


def fetch(s: WeightSpec, force: bool = False, progress: bool = True, timeout: float = 30.0) -> Path:
    """Download s into the cache (atomically) unless a verified copy is already present."""
    existing = find(s)
    if existing is not None and not force:
        verify(s, existing)
        return existing
    made = trained_by(s)
    if made and not os.environ.get("LSBENCH_MIRROR"):
        raise WeightsError(f"{public_name(s)}: the authors released no weights, so there is nothing to download. "
                           f"Make them with `{made}`, then pass the checkpoint with --weights or put it in a "
                           f"folder as {s.filename} and set LSBENCH_WEIGHTS_DIR to it.")
    url = _url_for(s)
    if not s.direct and not os.environ.get("LSBENCH_MIRROR"):
        raise WeightsError(
            f"{s.filename} is published behind a web page ({s.url}), not a direct file link: download it "
            f"there and put it in a folder named by LSBENCH_WEIGHTS_DIR. {s.note}".strip()
        )
    dest = cache_dir() / s.filename
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{s.filename}.part.{os.getpid()}")
    h = hashlib.sha256()
    received = 0
    try:
        try:
            response = urllib.request.urlopen(url, timeout=timeout)
        except urllib.error.HTTPError as exc:
            raise WeightsError(
                f"cannot download {s.filename} from {url}: HTTP {exc.code} {exc.reason}. Download it elsewhere, "
                f"put {s.filename} in a folder and set LSBENCH_WEIGHTS_DIR to it."
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise WeightsError(
                f"cannot download {s.filename} from {url} ({reason}). Offline? Download it elsewhere, put "
                f"{s.filename} in a folder and set LSBENCH_WEIGHTS_DIR to it."
            ) from None
        with response:
            total = response.headers.get("Content-Length")
            total_n = int(total) if total is not None else s.size
            bar = _progress(total_n, s.filename, progress)
            with open(tmp, "wb") as out:
                while True:
                    try:
                        block = response.read(CHUNK)
                    except (OSError, http.client.HTTPException) as exc:  # IncompleteRead on early close
                        raise WeightsError(f"download of {url} broke off after {received} bytes ({exc})") from None
                    if not block:
                        break
                    out.write(block)
                    h.update(block)
                    received += len(block)
                    bar.update(len(block))
            bar.close()
        if total is not None and received != int(total):
            raise WeightsError(f"download of {url} was truncated: {received} of {total} bytes")
        _check_download(s, tmp, h.hexdigest(), received, url)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


def _check_download(s: WeightSpec, tmp: Path, digest: str, received: int, url: str) -> None:
    if s.size is not None and received != s.size:
        raise WeightsError(f"download of {url}: {received} bytes, expected {s.size}; refused")
    expected = expected_sha256(s)
    if expected is not None and digest != expected:
        raise WeightsError(
            f"download of {url} refused: sha-256 {digest} does not match the expected {expected}"
        )
    _check_prefix(s, digest, f"download of {url}")
    if expected is None:  # no published or official pin: record this download and where it came from
        lock = _read_lock()
        lock[s.filename] = {"sha256": digest, "source": "mirror" if os.environ.get("LSBENCH_MIRROR") else "official",
                            "url": url}
        _write_lock(lock)


def _progress(total: Optional[int], name: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, desc=name, disable=not enabled, leave=False)


def load_check(s: WeightSpec, p: Path) -> Optional[str]:
    """Load p as the weights of s through lsbench's own loader (the spec's `loader`); return the
    loader's name, None when s names none, or raise WeightsError naming the file and what is wrong."""
    if not s.loader:
        return None
    from .registry import import_target

    try:
        detail = import_target(s.loader)(Path(p))
    except WeightsError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of a loader is one line naming the file
        first = (str(exc).strip().splitlines() or [""])[0]
        raise WeightsError(f"{p}: cannot be loaded as {s.name} ({type(exc).__name__}: {first})") from None
    name = s.loader.replace(":", ".")
    return f"{name} ({detail})" if isinstance(detail, str) else name


def load_torch(p: Path, what: str = "checkpoint"):
    """torch.load with weights_only=True: a pickle carrying code is refused, never executed."""
    import pickle

    import torch

    try:
        return torch.load(str(p), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        found = next((ln for ln in lines if "unsupported global" in ln.lower()), None)
        if found:  # a real pickle that names classes or functions: possibly code
            raise UnsafeCheckpoint(f"{p}: {what} refused: it holds objects other than tensors ({found})") from None
        detail = next((ln for ln in lines if ln.startswith("Unsupported operand") or "load key" in ln), lines[0] if lines else "")
        raise WeightsError(f"{p}: {what} cannot be read (truncated or not a torch file: {detail})") from None
    except (EOFError, RuntimeError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{p}: {what} cannot be read (truncated or not a torch file: {first})") from None


class _Inert:
    """Stands in for any class a checkpoint names that is not a tensor type: it takes whatever
    the pickle passes and runs nothing."""

    def __init__(self, *args, **kwargs):
        self.args = args

    def __setstate__(self, state):
        self.state = state


def _tensors_only_pickle():
    """A pickle module whose Unpickler resolves only the globals torch's own weights_only loader
    allows (tensors, storages, containers) and replaces every other global by an inert stub."""
    import pickle
    import types

    import torch._weights_only_unpickler as allowed_mod

    allowed = allowed_mod._get_allowed_globals()

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            obj = allowed.get(f"{module}.{name}")
            return obj if obj is not None else type(name, (_Inert,), {"__module__": "lsbench.inert." + module})

    mod = types.ModuleType("lsbench_tensors_only_pickle")
    mod.Unpickler = Unpickler
    mod.load = lambda f, **kw: Unpickler(f, **kw).load()
    mod.__name__ = "lsbench_tensors_only_pickle"
    return mod


def load_torch_tensors_only(p: Path, what: str = "checkpoint"):
    """For files that pickle more than tensors (MakeItTalk's i2i checkpoint also pickles an
    optimizer object). First the plain weights_only load; if that refuses a global, the file
    is read again with an unpickler that keeps tensors and turns every other object into an
    inert stub. We chose the stub unpickler over widening torch's allow-list because the
    allow-list would have to name (and so import and trust) the optimizer's classes, while the
    stub path imports nothing and calls nothing from the file."""
    try:
        return load_torch(p, what)
    except UnsafeCheckpoint:
        pass
    import torch

    try:
        return torch.load(str(p), map_location="cpu", weights_only=False, pickle_module=_tensors_only_pickle())
    except Exception as exc:  # noqa: BLE001 - any failure is one message naming the file
        raise WeightsError(f"{p}: {what} cannot be read even keeping tensors only ({type(exc).__name__}: {exc})") from None


def load_into(module, p: Path, what: str):
    """Load a plain state_dict file into `module` strictly; errors name the file and the mismatch."""
    state = load_torch(p, what)
    if not isinstance(state, dict):
        raise WeightsError(f"{p}: {what} is not a state_dict (got {type(state).__name__})")
    return load_state_checked(module, state, p, what, "a plain state_dict")


def _few(keys: List[str], n: int = 3) -> str:
    return ", ".join(keys[:n]) + (f" and {len(keys) - n} more" if len(keys) > n else "")


def load_state_checked(module, state: Dict, p: Path, what: str, expected_format: str):
    """Strict load_state_dict whose failure says, in one readable line, which file, which
    format was expected and what differs (missing / unexpected keys, shapes), instead of
    torch's multi-page dump."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(getattr(state[k], 'shape', ()))} vs {tuple(own[k].shape)}"
              for k in own if k in state and tuple(getattr(state[k], "shape", ())) != tuple(own[k].shape)]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} tensors missing ({_few(missing)})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected tensors ({_few(unexpected)})")
        if shapes:
            parts.append(f"{len(shapes)} shape mismatches (file vs model: {_few(shapes, 2)})")
        raise WeightsError(f"{p}: not a valid {what}: expected {expected_format}; " + "; ".join(parts))
    module.load_state_dict(state, strict=True)
    return module.eval()


def _in(p: Path, folder: Optional[str]) -> bool:
    return bool(folder) and Path(p).resolve().parent == Path(folder).resolve()


def classify(s: WeightSpec, p: Path, digest: str) -> "tuple[str, str]":
    """(state, why) of the file p whose sha-256 is digest, by the rules in the module docstring."""
    proc = procedural_record(p, digest)
    if proc is not None:
        return "procedural", (f"procedural test weights (rule {proc.get('rule')}, pack {proc.get('pack')}): "
                              f"not the authors' file")
    if s.sha256:
        if digest == s.sha256:
            return "verified", "sha-256 equals the published one"
        return "mirror", f"sha-256 differs from the published {s.sha256}: not the official file"
    if s.sha256_prefix:
        if digest.startswith(s.sha256_prefix):
            return "verified", f"sha-256 starts with {s.sha256_prefix}, the prefix published in the file name"
        return "mirror", f"sha-256 does not start with {s.sha256_prefix}, the prefix published in the file name"
    rec = _read_lock().get(s.filename)
    pin = rec.get("sha256") if rec and rec.get("source") == "official" else None
    if pin is not None:
        if digest == pin:
            return "pinned", ("no hash is published; equals the sha-256 pinned when it was first fetched from the "
                              "official URL")
        return "mirror", f"sha-256 differs from the one pinned at the official download ({pin}): not the official file"
    unchecked = "no published or pinned hash to check it against"
    if rec and rec.get("source") == "mirror" and rec.get("sha256") == digest and _in(p, str(cache_dir())):
        return "mirror", f"fetched through LSBENCH_MIRROR ({rec.get('url')}); {unchecked}"
    if _in(p, os.environ.get("LSBENCH_WEIGHTS_DIR")):
        return "mirror", f"found in LSBENCH_WEIGHTS_DIR; {unchecked}"
    return "mirror", f"not fetched from the official URL (from {Path(p).parent}); {unchecked}"


def provenance(s: WeightSpec, p: Optional[Path] = None) -> dict:
    """Where a weight file stands: {file, path, sha256, state, official, why}. state is one of
    verified / pinned / mirror / procedural (see the module docstring); official is True only
    for verified and pinned; why says, in words, what decided the state."""
    p = Path(p) if p is not None else path(s, check=False)
    digest = sha256_file(p)
    state, why = classify(s, p, digest)
    return {"file": p.name, "path": str(p), "sha256": digest, "state": state,
            "official": state in OFFICIAL_STATES, "why": why}


def unverified(name: str, sha256: Optional[str] = None,
               why: str = "weights used outside lsbench: it never saw the file") -> dict:
    """The provenance record of weights lsbench cannot see (e.g. an external submission, whose
    sha-256, if any, is the submitter's word)."""
    return {"file": name, "path": None, "sha256": sha256, "state": "unverified", "official": False, "why": why}


def state(s: WeightSpec) -> str:
    """missing, or the provenance state of the file found for s."""
    p = find(s)
    return "missing" if p is None else provenance(s, p)["state"]
