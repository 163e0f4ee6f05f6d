"""SyncTalkFace (Park et al., AAAI 2022) networks, as the authors' code (recovered from the
repository history, jinny960812/SyncTalkFace @ 9d5d08d) defines them.

Module names follow the authors' state_dict keys so their checkpoint format
({'model_state_dict', 'dec_state_dict', 'disc_state_dict'}) loads as it is. Defaults are the
authors' values: 128x128 faces, S = 96 memory slots of C = 512 channels, radius (kappa) 16.
`img_size` (96 or 128), `n_slot`, `dim` and `radius` are configurable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

import torch
from torch import nn
from torch.nn import functional as F

from .wav2lip_net import ConvBN, Wav2LipExpert, _res


@dataclass(frozen=True)
class STFConfig:
    img_size: int = 128
    n_slot: int = 96
    dim: int = 512
    radius: float = 16.0

    @property
    def k(self) -> int:  # the kernel that takes the deepest map (img_size / 32) to 1x1
        if self.img_size not in (96, 128):
            raise ValueError(f"SyncTalkFace img_size must be 96 or 128, got {self.img_size}")
        return self.img_size // 32


class LeakyConv(nn.Module):
    """conv -> LeakyReLU(0.01), no normalisation (the quality discriminator's block)."""

    def __init__(self, cin: int, cout: int, k, s, p):
        super().__init__()
        self.conv_block = nn.Sequential(nn.Conv2d(cin, cout, k, s, p))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.conv_block(x), 0.01)


class Squeeze2(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.squeeze(2)


def _fold(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Time into batch, time-major: item b of step t is row t*B + b."""
    return torch.cat([x.select(dim, i) for i in range(x.size(dim))], dim=0)


def _unfold(x: torch.Tensor, b: int, dim: int) -> torch.Tensor:
    return torch.stack(torch.split(x, b, dim=0), dim=dim)


class AudioLipMemory(nn.Module):
    """S key slots (audio side) and S value slots (lip side). An audio feature addresses the
    keys by cosine similarity (softmax of radius x cosine) and reads the values: the lip
    feature it recalls. Training aligns the key and value addresses (KL) and reconstructs
    the lip feature from the values."""

    def __init__(self, n_slot: int = 96, dim: int = 512, radius: float = 16.0):
        super().__init__()
        self.key = nn.Parameter(torch.randn(n_slot, dim) * 0.5)  # the authors' init, N(0, 0.5)
        self.value = nn.Parameter(torch.randn(n_slot, dim) * 0.5)
        self.q_embd = nn.Linear(dim, dim)
        self.v_embd = nn.Linear(dim, dim)
        self.fusion = nn.Linear(2 * dim, dim)
        self.dropout = nn.Dropout(0.5)
        self.radius = radius

    def address(self, embd: torch.Tensor, slots: torch.Tensor) -> torch.Tensor:
        return F.softmax(self.radius * F.linear(F.normalize(embd, dim=1), F.normalize(slots, dim=1)), dim=1)

    def forward(self, query: torch.Tensor, value: Optional[torch.Tensor] = None, inference: bool = False):
        query = query.flatten(1)
        n, s = query.shape[0], self.key.shape[0]
        key_add = self.address(self.q_embd(query), self.key)
        recalled = key_add @ self.value
        te_fusion = self.fusion(self.dropout(torch.cat([query, recalled], 1)))[..., None, None]
        if inference:
            return te_fusion, None, None, None, key_add.view(1, -1, s), None
        value = value.flatten(1)
        embd_value = self.v_embd(value)
        value_add = self.address(embd_value, self.value)
        lip = value_add @ self.value
        recon_loss = F.mse_loss(lip, embd_value.detach()).unsqueeze(0)
        tr_fusion = self.fusion(self.dropout(torch.cat([query, lip], 1)))[..., None, None]
        add_loss = F.kl_div(torch.log(key_add + 1e-13), value_add.detach(), reduction="batchmean").unsqueeze(0)
        return (te_fusion, tr_fusion, recon_loss, add_loss, key_add.view(n // 5, 5, -1), value_add.view(n // 5, 5, -1))


def _audio_encoder(dim: int) -> nn.Sequential:
    return nn.Sequential(
        ConvBN(1, 32, 3, 1, 1), _res(32), _res(32),
        ConvBN(32, 64, 3, (3, 1), 1), _res(64), _res(64),
        ConvBN(64, 128, 3, 3, 1), _res(128), _res(128),
        ConvBN(128, 256, 3, (3, 2), 1), _res(256),
        ConvBN(256, dim, 3, 1, 0), ConvBN(dim, dim, 1, 1, 0))


class STFEncoder(nn.Module):
    """Audio, lip (upper-half-masked 5-frame windows) and identity encoders plus the memory."""

    def __init__(self, cfg: STFConfig = STFConfig()):
        super().__init__()
        self.cfg = cfg
        k, d = cfg.k, cfg.dim
        self.mem = AudioLipMemory(cfg.n_slot, d, cfg.radius)
        self.lip_encoder = nn.Sequential(
            nn.Conv3d(3, 64, (5, 7, 7), 2, (0, 3, 3)), Squeeze2(),
            ConvBN(64, 64, 3, 2, 1), _res(64), _res(64), _res(64),
            ConvBN(64, 128, 3, 2, 1), _res(128), _res(128),
            ConvBN(128, 256, 3, 2, 1), _res(256), _res(256),
            ConvBN(256, 512, 3, 2, 1), _res(512),
            ConvBN(512, d, k, 1, 0), ConvBN(d, d, 1, 1, 0))
        self.face_encoder_blocks = nn.ModuleList([
            nn.Sequential(ConvBN(6, 16, 7, 1, 3)),
            nn.Sequential(ConvBN(16, 32, 3, 2, 1), _res(32), _res(32)),
            nn.Sequential(ConvBN(32, 64, 3, 2, 1), _res(64), _res(64), _res(64)),
            nn.Sequential(ConvBN(64, 128, 3, 2, 1), _res(128), _res(128)),
            nn.Sequential(ConvBN(128, 256, 3, 2, 1), _res(256), _res(256)),
            nn.Sequential(ConvBN(256, 512, 3, 2, 1), _res(512)),
            nn.Sequential(ConvBN(512, d, k, 1, 0), ConvBN(d, d, 1, 1, 0)),
        ])
        self.audio_encoder = _audio_encoder(d)

    def forward(self, mels: torch.Tensor, faces: torch.Tensor, lips: Optional[torch.Tensor] = None,
                inference: bool = True):
        """mels (B,T,1,80,16), faces (B,6,T,H,W), lips (B,T,3,5,H,W) -> te_fusion (B,T,C,1,1),
        tr_fusion, identity features (T*B rows), memory losses, addresses, centre lip feature."""
        b = mels.size(0)
        audio = self.audio_encoder(_fold(mels, 1))
        lip_emb = None if inference else self.lip_encoder(_fold(lips, 1))
        te, tr, recon, add, key_add, value_add = self.mem(audio, lip_emb, inference)
        feats: List[torch.Tensor] = []
        x = _fold(faces, 2)
        for block in self.face_encoder_blocks:
            x = block(x)
            feats.append(x)
        te = _unfold(te, b, 1)
        tr = None if inference else _unfold(tr, b, 1)
        centre = None if inference else _unfold(lip_emb, b, 1)[:, 2]
        return te, tr, feats, recon, add, key_add, value_add, centre

    def lip_features(self, lips: torch.Tensor) -> torch.Tensor:
        """The lip encoder on (B,T,3,5,H,W) windows (the visual-visual sync loss compares these)."""
        return self.lip_encoder(_fold(lips, 1))


class STFDecoder(nn.Module):
    """U-Net decoder from the fused audio-lip feature and the identity features; tanh output."""

    def __init__(self, cfg: STFConfig = STFConfig()):
        super().__init__()
        k, d = cfg.k, cfg.dim
        up = lambda cin, cout: ConvBN(cin, cout, 3, 2, 1, transpose=True, output_padding=1)  # noqa: E731
        self.face_decoder_blocks = nn.ModuleList([
            nn.Sequential(ConvBN(d, 512, 1, 1, 0)),
            nn.Sequential(ConvBN(512 + d, 512, k, 1, 0, transpose=True), _res(512)),
            nn.Sequential(up(1024, 512), _res(512), _res(512)),
            nn.Sequential(up(768, 384), _res(384), _res(384)),
            nn.Sequential(up(512, 256), _res(256), _res(256)),
            nn.Sequential(up(320, 128), _res(128), _res(128)),
            nn.Sequential(up(160, 64), _res(64), _res(64)),
        ])
        self.output_block = nn.Sequential(ConvBN(80, 32, 3, 1, 1), nn.Conv2d(32, 3, 1, 1, 0))

    def forward(self, fusion: torch.Tensor, feats: List[torch.Tensor], pre_tanh: bool = False):
        """fusion (B,T,C,1,1) -> images (B,3,T,H,W) in [-1,1] (or the tanh input)."""
        b = fusion.size(0)
        x = _fold(fusion, 1)
        feats = list(feats)
        for block in self.face_decoder_blocks:
            x = torch.cat((block(x), feats.pop()), dim=1)
        x = self.output_block(x)
        return _unfold(x if pre_tanh else torch.tanh(x), b, 2)


class STFDiscriminator(nn.Module):
    """Visual quality discriminator on the lower half of each frame."""

    def __init__(self, cfg: STFConfig = STFConfig()):
        super().__init__()
        k = cfg.k
        self.face_encoder_blocks = nn.ModuleList([
            nn.Sequential(LeakyConv(3, 32, 7, 1, 3)),
            nn.Sequential(LeakyConv(32, 64, 5, (1, 2), 2), LeakyConv(64, 64, 5, 1, 2)),
            nn.Sequential(LeakyConv(64, 128, 5, 2, 2), LeakyConv(128, 128, 5, 1, 2)),
            nn.Sequential(LeakyConv(128, 256, 5, 2, 2), LeakyConv(256, 256, 5, 1, 2)),
            nn.Sequential(LeakyConv(256, 512, 3, 2, 1), LeakyConv(512, 512, 3, 1, 1)),
            nn.Sequential(LeakyConv(512, 512, 3, 2, 1), LeakyConv(512, 512, 3, 1, 1)),
            nn.Sequential(LeakyConv(512, 512, k, 1, 0), LeakyConv(512, 512, 1, 1, 0)),
        ])
        self.binary_pred = nn.Sequential(nn.Conv2d(512, 1, 1, 1, 0), nn.Sigmoid())

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        """(B,3,T,H,W) -> (T*B, 1) probability of 'real'."""
        x = _fold(faces, 2)
        x = x[:, :, x.size(2) // 2:]
        for block in self.face_encoder_blocks:
            x = block(x)
        return self.binary_pred(x).view(len(x), -1)


class STFSyncNet(Wav2LipExpert):
    """The colour SyncNet expert at SyncTalkFace's face size: two more residual blocks at the
    last scale and a kernel that takes (img_size/32)^2 to 1x1."""

    def __init__(self, cfg: STFConfig = STFConfig()):
        super().__init__(face_tail=[_res(512), _res(512), ConvBN(512, 512, cfg.k, 1, 0)])

    def sync_inputs(self, images01: torch.Tensor) -> torch.Tensor:
        """(B,3,5,H,W) in [0,1] -> (B,15,H/2,W): lower halves stacked frame-major on channels."""
        lower = images01[:, :, :, images01.size(3) // 2:]
        return torch.cat([lower[:, :, i] for i in range(lower.size(2))], dim=1)


# ---------------------------------------------------------------- the authors' checkpoint format

STF_FORMAT = ("a torch checkpoint dict {'model_state_dict', 'dec_state_dict', 'disc_state_dict'} as SyncTalkFace's "
              "train.py saves it (Epoch_XXX_Step_XXXX_...ckpt)")


def load_synctalkface(path, cfg: STFConfig = STFConfig(), device: str = "cpu"):
    """(encoder, decoder, discriminator) from the authors' training checkpoint format."""
    from pathlib import Path

    from .. import weights as W
    from ..errors import WeightsError

    p = Path(path)
    ckpt = W.load_torch(p, "SyncTalkFace checkpoint")
    slots = ("model_state_dict", "dec_state_dict", "disc_state_dict")
    if not isinstance(ckpt, dict) or not all(isinstance(ckpt.get(s), dict) for s in slots):
        got = sorted(map(str, ckpt))[:6] if isinstance(ckpt, dict) else type(ckpt).__name__
        raise WeightsError(f"{p}: not a valid SyncTalkFace checkpoint: expected {STF_FORMAT}; got {got}")
    nets = []
    for slot, net in zip(slots, (STFEncoder(cfg), STFDecoder(cfg), STFDiscriminator(cfg))):
        state = {(k[7:] if k.startswith("module.") else k): v for k, v in ckpt[slot].items()}
        nets.append(W.load_state_checked(net, state, p, f"SyncTalkFace checkpoint ({slot})", STF_FORMAT).to(device))
    return tuple(nets)


def load_file(path, device: str = "cpu"):
    """(encoder, decoder, discriminator, config) of a checkpoint file: lsbench-trained files carry
    their sizes (memory slots, channels, face size), the authors' layout is read at the defaults."""
    from pathlib import Path

    from .. import weights as W

    meta = W.load_torch(Path(path), "SyncTalkFace checkpoint")
    saved = (meta.get("lsbench") or {}).get("config", {}) if isinstance(meta, dict) else {}
    cfg = STFConfig(**saved) if saved else STFConfig()
    return (*load_synctalkface(path, cfg, device), cfg)


def save_synctalkface(path, encoder: STFEncoder, decoder: STFDecoder, disc: STFDiscriminator, **extra) -> None:
    """The same format the authors' train.py writes, so one loader reads both (extra keys ride along)."""
    import os
    from pathlib import Path

    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp")
    torch.save({"model_state_dict": encoder.state_dict(), "dec_state_dict": decoder.state_dict(),
                "disc_state_dict": disc.state_dict(), **extra}, str(tmp))
    os.replace(tmp, p)


def load_stf_syncnet(path, cfg: STFConfig = STFConfig(), device: str = "cpu") -> STFSyncNet:
    from pathlib import Path

    from .. import weights as W
    from .wav2lip_net import WAV2LIP_FORMAT, _state_dict_of

    p = Path(path)
    state = _state_dict_of(p, f"SyncTalkFace lip-sync expert ({cfg.img_size}x{cfg.img_size})")
    return W.load_state_checked(STFSyncNet(cfg), state, p, "SyncTalkFace lip-sync expert", WAV2LIP_FORMAT).to(device)
