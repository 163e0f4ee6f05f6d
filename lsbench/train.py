"""``lsbench train``: SyncTalkFace, and the 96x96 colour SyncNet expert Wav2Lip's workflow
trains first, from lsbench shards.

Samples follow the authors' scripts: SyncTalkFace (train.py) takes frames id-2 .. id+6 of a
clip, re-generates id .. id+4 from their masked copies and a random 5-frame window of the
same clip, with one mel window per frame (starting one frame early, as the authors' code
does); the expert (color_syncnet_train.py) sees 5 lower-half frames with the mel window of
their first frame (label 1) or of another start (label 0). Losses and their weights are the
authors' (L1 10, sync 0.2, lip 0.2, quality 0.2, memory 0.2). Checkpoints are written in the
published formats, atomically, so the loaders used for official files read them, and a
run resumes from its last checkpoint. One folder holds one run: a used folder is refused
unless the run resumes it or --overwrite clears it, and losses.jsonl holds exactly the
steps that led to the checkpoint beside it.
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, List, Optional

import numpy as np

from .audio import MEL_STEP, mel_window_start
from .data import ShardDataset, decode_frames
from .errors import LsbenchError

WEIGHTS = {"l1": 10.0, "sync": 0.2, "lip": 0.2, "disc": 0.2, "mem": 0.2}  # SyncTalkFace hparams.py


@dataclass
class TrainOptions:
    model: str
    data: Path
    out: Path
    steps: int = 1000
    batch_size: int = 8
    lr: float = 1e-4
    disc_lr: float = 5e-4
    img_size: int = 128
    n_slot: int = 96  # SyncTalkFace memory slots (S)
    dim: int = 512  # SyncTalkFace memory / embedding channels (C)
    radius: float = 16.0  # SyncTalkFace addressing scale (kappa)
    expert: Optional[Path] = None
    checkpoint_every: int = 100
    resume: bool = False
    overwrite: bool = False  # clear a folder that holds another run
    seed: int = 0
    device: str = "cpu"
    split: Optional[str] = "train"


class ClipBank:
    """Shard rows kept as JPEG bytes; only the frames a sample needs are decoded."""

    def __init__(self, data: Path, split: Optional[str], min_frames: int):
        from .data import shard_files

        try:
            files = shard_files(data)
        except FileNotFoundError as exc:
            raise LsbenchError(str(exc)) from None
        rows = [r for r in ShardDataset(data, split).clips(files) if r["n_frames"] >= min_frames]
        if not rows:
            present = splits_present(files)
            if split is not None and split not in present:
                raise LsbenchError(f"{data}: no split {split!r} in these shards (splits present: "
                                   f"{', '.join(present) or 'none'}); choose one with --split, or --split all")
            raise LsbenchError(f"{data}: no clip of split {split!r} has the {min_frames} frames a training sample needs")
        self.rows = rows

    def frames(self, row: dict, start: int, n: int, size: int) -> np.ndarray:
        """(n, size, size, 3) BGR uint8, as cv2.imread + resize gives the authors' loaders."""
        import cv2

        rgb = decode_frames(row["frames"][start:start + n])
        return np.stack([cv2.resize(np.ascontiguousarray(f[..., ::-1]), (size, size)) for f in rgb])

    @staticmethod
    def mel(row: dict) -> np.ndarray:
        return np.asarray(row["mel"], np.float32)


def splits_present(files: List[Path]) -> List[str]:
    """The split names in the shards, reading only that column."""
    import pyarrow.parquet as pq

    return sorted({v for f in files for v in pq.read_table(f, columns=["split"]).column("split").to_pylist()})


# Everything a run writes into its folder (checkpoints of either model, the log, the options).
RUN_FILES = ("latest.ckpt", "lipsync_expert.pth", "losses.jsonl", "train_config.json")


def claim_out(opts: TrainOptions) -> None:
    """Refuse a folder that holds another run, before any work: resuming continues it,
    --overwrite replaces it (the files go in clear_out, once the data has loaded)."""
    if opts.resume and opts.overwrite:
        raise LsbenchError("--resume continues the run in OUT and --overwrite deletes it: give one of them")
    if not opts.out.is_dir():
        return
    present = sorted(p.name for p in opts.out.iterdir())
    foreign = [n for n in present if n not in RUN_FILES and not (n.startswith(".") and n.endswith(".tmp"))]
    if foreign:
        raise LsbenchError(f"{opts.out}: holds files lsbench train did not write ({', '.join(foreign[:5])}"
                           f"{' ...' if len(foreign) > 5 else ''}); give an empty or new folder")
    if present and not opts.resume and not opts.overwrite:
        raise LsbenchError(f"{opts.out}: already holds a training run ({', '.join(present)}); pass --resume to "
                           f"continue it or --overwrite to replace it")


def clear_out(opts: TrainOptions) -> None:
    if opts.overwrite and opts.out.is_dir():
        for p in opts.out.iterdir():
            p.unlink()


def trim_log(out: Path, step: int) -> Path:
    """losses.jsonl keeps the steps up to `step` (the checkpoint a run starts from): steps logged
    after the last checkpoint of a killed run are redone, never listed twice."""
    path = out / "losses.jsonl"
    if path.exists():
        kept = [ln for ln in path.read_text().splitlines() if ln.strip() and json.loads(ln)["step"] <= step]
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text("".join(ln + "\n" for ln in kept))
        tmp.replace(path)
    return path


def _save_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    tmp.replace(path)


# ---------------------------------------------------------------------------- SyncTalkFace


def stf_sample(bank: ClipBank, rng: random.Random, size: int):
    """One training sample in the authors' layout (window of 9, reference window of 5, mel)."""
    from .models import synctalkface_data as D

    while True:
        row = rng.choice(bank.rows)
        n = row["n_frames"]
        mel = bank.mel(row)
        last = min(n - 7, (mel.shape[1] - MEL_STEP) * 25 // 80 - 1)  # mel windows of id-1 .. id+4 must fit
        if last < 2:
            continue
        fid, wid = rng.randint(2, last), rng.randint(0, n - 5)
        if wid == fid:
            continue
        window = bank.frames(row, fid - 2, 9, size).transpose(3, 0, 1, 2)[None]  # (1,3,9,H,W)
        ref = bank.frames(row, wid, 5, size).transpose(3, 0, 1, 2)[None]
        try:
            return D.training_batch(window, ref, mel, fid)
        except ValueError:
            continue


def _cat(batches, field: str):
    import torch

    return torch.cat([getattr(b, field) for b in batches], dim=0)


class _STFRun:
    """SyncTalkFace's networks and optimisers, fresh or resumed from OUT's checkpoint."""

    def __init__(self, opts: TrainOptions, cfg, echo: Callable[[str], None]):
        import torch

        from .models.synctalkface_net import (STFDecoder, STFDiscriminator, STFEncoder, load_stf_syncnet,
                                              load_synctalkface)

        self.cfg, self.ckpt, self.step = cfg, opts.out / "latest.ckpt", 0
        self.enc, self.dec, self.disc = STFEncoder(cfg), STFDecoder(cfg), STFDiscriminator(cfg)
        self._optimisers(opts)
        if opts.resume and self.ckpt.exists():
            self.enc, self.dec, self.disc = load_synctalkface(self.ckpt, cfg)
            self._optimisers(opts)
            state = torch.load(str(self.ckpt), map_location="cpu", weights_only=True)
            self.opt.load_state_dict(state["optimizer"])
            self.disc_opt.load_state_dict(state["disc_optimizer"])
            self.step = int(state["lsbench"]["step"])
            echo(f"resuming from {self.ckpt} at step {self.step}")
        self.expert = load_stf_syncnet(opts.expert, cfg, opts.device).eval() if opts.expert else None
        if self.expert is None:
            echo("no --expert: the audio-visual sync loss is off (train the expert first: lsbench train --model syncnet)")
        for m in (self.enc, self.dec, self.disc):
            m.to(opts.device).train()

    def _optimisers(self, opts: TrainOptions) -> None:
        import torch

        self.opt = torch.optim.Adam(list(self.enc.parameters()) + list(self.dec.parameters()), lr=opts.lr)
        self.disc_opt = torch.optim.Adam(self.disc.parameters(), lr=opts.disc_lr)

    def save(self, opts: TrainOptions) -> None:
        from .models.synctalkface_net import save_synctalkface

        save_synctalkface(self.ckpt, self.enc, self.dec, self.disc, optimizer=self.opt.state_dict(),
                          disc_optimizer=self.disc_opt.state_dict(),
                          lsbench={"step": self.step, "config": asdict(self.cfg), "data": str(opts.data)})

    def train_step(self, batches: list, device: str) -> dict:
        """One generator step and one discriminator step, with the authors' losses and weights."""
        import torch
        from torch.nn import functional as F

        cfg, enc, dec, disc = self.cfg, self.enc, self.dec, self.disc
        x, mels, mel, gt, lips = (_cat(batches, f).to(device) for f in ("x", "indiv_mels", "mel", "gt", "lips"))
        te, tr, feats, mem_recon, add_loss, _, _, lip_emb = enc(mels, x, lips, inference=False)
        g_te, g_tr = dec(te, feats), dec(tr, feats)
        critic = copy.deepcopy(enc.lip_encoder)  # the authors' lip_check: a frozen copy judges the output
        lip_te, lip_tr = g_te.unsqueeze(1).clone(), g_tr.unsqueeze(1).clone()
        lip_te[..., : cfg.img_size // 2, :] = 0.0
        lip_tr[..., : cfg.img_size // 2, :] = 0.0
        lip_loss = F.l1_loss(critic(lip_te.flatten(0, 1)), lip_emb) + F.l1_loss(critic(lip_tr.flatten(0, 1)), lip_emb)
        sync_loss = torch.zeros(())
        if self.expert is not None:
            for g in (g_te, g_tr):
                a, v = self.expert(mel, self.expert.sync_inputs((g + 1) / 2))
                cos = F.cosine_similarity(a, v).clamp(1e-7, 1 - 1e-7)
                sync_loss = sync_loss + F.binary_cross_entropy(cos, torch.ones_like(cos))
        perceptual = sum(F.binary_cross_entropy(p, torch.ones_like(p)) for p in (disc(g_te), disc(g_tr)))
        l1 = F.l1_loss((g_te + 1) / 2, (gt + 1) / 2) + F.l1_loss((g_tr + 1) / 2, (gt + 1) / 2)
        mem = add_loss.mean() + mem_recon.mean()
        loss = (WEIGHTS["l1"] * l1 + WEIGHTS["sync"] * sync_loss + WEIGHTS["lip"] * lip_loss
                + WEIGHTS["disc"] * perceptual + WEIGHTS["mem"] * mem)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.disc_opt.zero_grad()
        real = disc(gt)
        d_loss = F.binary_cross_entropy(real, torch.ones_like(real)) + sum(
            F.binary_cross_entropy(p, torch.zeros_like(p)) for p in (disc(g.detach()) for g in (g_te, g_tr)))
        d_loss.backward()
        self.disc_opt.step()
        self.step += 1
        rec = {k: float(v.detach()) for k, v in (("loss", loss), ("l1", l1), ("sync", sync_loss), ("lip", lip_loss),
                                                  ("perceptual", perceptual), ("disc", d_loss), ("mem", mem))}
        return {**rec, "step": self.step}


def train_synctalkface(opts: TrainOptions, echo: Callable[[str], None] = print, progress: bool = True) -> Path:
    import torch
    from tqdm import tqdm

    from .models.synctalkface_net import STFConfig

    if opts.batch_size < 2:
        raise LsbenchError("--batch-size must be at least 2 for synctalkface: its lip critic runs BatchNorm in "
                           "training mode on 1x1 features, which needs two samples")
    claim_out(opts)
    cfg = STFConfig(img_size=opts.img_size, n_slot=opts.n_slot, dim=opts.dim, radius=opts.radius)
    torch.manual_seed(opts.seed)
    rng = random.Random(opts.seed)
    bank = ClipBank(opts.data, opts.split, 12)
    clear_out(opts)
    opts.out.mkdir(parents=True, exist_ok=True)
    run = _STFRun(opts, cfg, echo)
    rec: Optional[dict] = None
    bar = tqdm(total=opts.steps, initial=run.step, desc="train synctalkface", unit="step", disable=not progress)
    with open(trim_log(opts.out, run.step), "a") as log:
        while run.step < opts.steps:
            rec = run.train_step([stf_sample(bank, rng, cfg.img_size) for _ in range(opts.batch_size)], opts.device)
            log.write(json.dumps(rec) + "\n")
            log.flush()
            bar.update(1)
            bar.set_postfix(loss=f"{rec['loss']:.3f}", l1=f"{rec['l1']:.3f}")
            if run.step % opts.checkpoint_every == 0 or run.step == opts.steps:
                run.save(opts)
    bar.close()
    _save_json(opts.out / "train_config.json", {k: str(v) for k, v in asdict(opts).items()})
    echo(f"synctalkface: {run.step} steps" + (f", last loss {rec['loss']:.4f}" if rec else " (already reached)")
         + f" -> {run.ckpt}")
    return run.ckpt


# ---------------------------------------------------------------------------- the 96x96 expert


def expert_sample(bank: ClipBank, rng: random.Random):
    """(faces (15,48,96) in [0,1], mel (1,80,16), label): the true window or another start."""
    from .metrics.expert_sync import face_stack

    while True:
        row = rng.choice(bank.rows)
        mel = bank.mel(row)
        n = min(row["n_frames"] - 5, (mel.shape[1] - MEL_STEP) * 25 // 80)
        if n < 2:
            continue
        start, other = rng.randint(0, n), rng.randint(0, n)
        if other == start:
            continue
        label = rng.random() < 0.5
        m0 = mel_window_start(start if label else other)
        return face_stack(bank.frames(row, start, 5, 96)), mel[None, :, m0:m0 + MEL_STEP], float(label)


def train_syncnet(opts: TrainOptions, echo: Callable[[str], None] = print, progress: bool = True) -> Path:
    import os

    import torch
    from torch.nn import functional as F
    from tqdm import tqdm

    from .models.wav2lip_net import Wav2LipExpert, load_expert

    claim_out(opts)
    torch.manual_seed(opts.seed)
    rng = random.Random(opts.seed)
    bank = ClipBank(opts.data, opts.split, 8)
    clear_out(opts)
    opts.out.mkdir(parents=True, exist_ok=True)
    ckpt_path = opts.out / "lipsync_expert.pth"
    net, step = Wav2LipExpert(), 0
    opt = torch.optim.Adam(net.parameters(), lr=opts.lr)
    if opts.resume and ckpt_path.exists():
        net = load_expert(ckpt_path)
        opt = torch.optim.Adam(net.parameters(), lr=opts.lr)
        state = torch.load(str(ckpt_path), map_location="cpu", weights_only=True)
        opt.load_state_dict(state["optimizer"])
        step = int(state["global_step"])
        echo(f"resuming from {ckpt_path} at step {step}")
    net.to(opts.device).train()
    loss = None
    bar = tqdm(total=opts.steps, initial=step, desc="train syncnet expert", unit="step", disable=not progress)
    with open(trim_log(opts.out, step), "a") as log:
        while step < opts.steps:
            faces, mels, labels = zip(*[expert_sample(bank, rng) for _ in range(opts.batch_size)])
            f = torch.from_numpy(np.stack(faces)).to(opts.device)
            m = torch.from_numpy(np.stack(mels)).to(opts.device)
            y = torch.tensor(labels, dtype=torch.float32, device=opts.device)
            a, v = net(m, f)
            cos = F.cosine_similarity(a, v).clamp(1e-7, 1 - 1e-7)
            loss = F.binary_cross_entropy(cos, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            log.write(json.dumps({"step": step, "loss": float(loss.detach())}) + "\n")
            log.flush()
            bar.update(1)
            bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
            if step % opts.checkpoint_every == 0 or step == opts.steps:
                tmp = ckpt_path.with_name(f".{ckpt_path.name}.tmp")
                torch.save({"state_dict": net.state_dict(), "optimizer": opt.state_dict(), "global_step": step,
                            "global_epoch": 0}, str(tmp))
                os.replace(tmp, ckpt_path)
    bar.close()
    echo(f"syncnet expert: {step} steps" + (f", last loss {float(loss.detach()):.4f}" if loss is not None
                                             else " (already reached)") + f" -> {ckpt_path}")
    return ckpt_path


def losses(out: Path) -> List[dict]:
    return [json.loads(line) for line in (out / "losses.jsonl").read_text().splitlines() if line.strip()]
