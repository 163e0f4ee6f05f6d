"""Wav2Lip's generator and its 96x96 colour lip-sync expert, in PyTorch.

Module names follow the official state_dict keys (``face_encoder_blocks.1.0.conv_block.0.weight``),
so the published files load without renaming; strides and paddings are those of the
official models/wav2lip.py and models/syncnet.py (Rudrabha/Wav2Lip @ 5c90fa9).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch
from torch import nn
from torch.nn import functional as F

from .. import weights as W
from ..errors import WeightsError


class ConvBN(nn.Module):
    """conv -> BatchNorm -> ReLU, with an optional identity shortcut added before the ReLU."""

    def __init__(self, cin: int, cout: int, k, s, p, residual: bool = False, transpose: bool = False,
                 output_padding: int = 0):
        super().__init__()
        conv = (nn.ConvTranspose2d(cin, cout, k, s, p, output_padding) if transpose else nn.Conv2d(cin, cout, k, s, p))
        self.conv_block = nn.Sequential(conv, nn.BatchNorm2d(cout))
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv_block(x)
        return F.relu(y + x if self.residual else y)


def _res(c: int) -> ConvBN:
    return ConvBN(c, c, 3, 1, 1, residual=True)


def _up(cin: int, cout: int) -> ConvBN:
    return ConvBN(cin, cout, 3, 2, 1, transpose=True, output_padding=1)


def _audio_encoder(n_res_last: int) -> nn.Sequential:
    """80x16 mel window -> 512x1x1. The generator has one residual block at 256 channels, the expert two."""
    return nn.Sequential(
        ConvBN(1, 32, 3, 1, 1), _res(32), _res(32),
        ConvBN(32, 64, 3, (3, 1), 1), _res(64), _res(64),
        ConvBN(64, 128, 3, 3, 1), _res(128), _res(128),
        ConvBN(128, 256, 3, (3, 2), 1), *[_res(256) for _ in range(n_res_last)],
        ConvBN(256, 512, 3, 1, 0), ConvBN(512, 512, 1, 1, 0))


class Wav2LipGenerator(nn.Module):
    """U-Net face encoder/decoder conditioned on a mel window; 96x96 in, 96x96 out."""

    def __init__(self):
        super().__init__()
        self.face_encoder_blocks = nn.ModuleList([
            nn.Sequential(ConvBN(6, 16, 7, 1, 3)),  # 96
            nn.Sequential(ConvBN(16, 32, 3, 2, 1), _res(32), _res(32)),  # 48
            nn.Sequential(ConvBN(32, 64, 3, 2, 1), _res(64), _res(64), _res(64)),  # 24
            nn.Sequential(ConvBN(64, 128, 3, 2, 1), _res(128), _res(128)),  # 12
            nn.Sequential(ConvBN(128, 256, 3, 2, 1), _res(256), _res(256)),  # 6
            nn.Sequential(ConvBN(256, 512, 3, 2, 1), _res(512)),  # 3
            nn.Sequential(ConvBN(512, 512, 3, 1, 0), ConvBN(512, 512, 1, 1, 0)),  # 1
        ])
        self.audio_encoder = _audio_encoder(1)
        self.face_decoder_blocks = nn.ModuleList([
            nn.Sequential(ConvBN(512, 512, 1, 1, 0)),
            nn.Sequential(ConvBN(1024, 512, 3, 1, 0, transpose=True), _res(512)),  # 3
            nn.Sequential(_up(1024, 512), _res(512), _res(512)),  # 6
            nn.Sequential(_up(768, 384), _res(384), _res(384)),  # 12
            nn.Sequential(_up(512, 256), _res(256), _res(256)),  # 24
            nn.Sequential(_up(320, 128), _res(128), _res(128)),  # 48
            nn.Sequential(_up(160, 64), _res(64), _res(64)),  # 96
        ])
        self.output_block = nn.Sequential(ConvBN(80, 32, 3, 1, 1), nn.Conv2d(32, 3, 1, 1, 0))

    def forward_2d(self, mel: torch.Tensor, face: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """mel (N,1,80,16), face (N,6,96,96) in [0,1] -> (logits (N,3,96,96), audio embedding (N,512,1,1)).
        The sigmoid is left to the caller so the logits can be checked too."""
        audio = self.audio_encoder(mel)
        skips: List[torch.Tensor] = []
        x = face
        for block in self.face_encoder_blocks:
            x = block(x)
            skips.append(x)
        x = audio
        for block in self.face_decoder_blocks:
            x = torch.cat((block(x), skips.pop()), dim=1)
        return self.output_block(x), audio

    def forward(self, mel: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        """(B,1,80,16)+(B,6,96,96) or, as in training, (B,T,1,80,16)+(B,6,T,96,96) -> images in [0,1]."""
        return torch.sigmoid(self.logits(mel, face))

    def logits(self, mel: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        if face.dim() == 4:
            return self.forward_2d(mel, face)[0]
        b, t = face.shape[0], face.shape[2]
        # time-major fold (frame t of item b is row t*B+b), as the official forward does
        mel2 = torch.cat([mel[:, i] for i in range(t)], dim=0)
        face2 = torch.cat([face[:, :, i] for i in range(t)], dim=0)
        out, _ = self.forward_2d(mel2, face2)
        return torch.stack(torch.split(out, b, dim=0), dim=2)


class Wav2LipExpert(nn.Module):
    """SyncNet_color: 5 lower-half face crops (15x48x96) and a mel window -> two unit 512-d embeddings."""

    def __init__(self, face_tail: Optional[List[nn.Module]] = None):
        super().__init__()
        # 48x96 lower halves end at 3x3 after the last stride 2; other face sizes pass their own tail
        tail = face_tail or [ConvBN(512, 512, 3, 1, 0)]
        self.face_encoder = nn.Sequential(
            ConvBN(15, 32, 7, 1, 3),
            ConvBN(32, 64, 5, (1, 2), 1), _res(64), _res(64),
            ConvBN(64, 128, 3, 2, 1), _res(128), _res(128), _res(128),
            ConvBN(128, 256, 3, 2, 1), _res(256), _res(256),
            ConvBN(256, 512, 3, 2, 1), _res(512), _res(512),
            ConvBN(512, 512, 3, 2, 1), *tail, ConvBN(512, 512, 1, 1, 0))
        self.audio_encoder = _audio_encoder(2)

    def forward(self, mel: torch.Tensor, face: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        a = self.audio_encoder(mel).flatten(1)
        v = self.face_encoder(face).flatten(1)
        return F.normalize(a, p=2, dim=1), F.normalize(v, p=2, dim=1)

    @staticmethod
    def sync_loss(audio_emb: torch.Tensor, face_emb: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(cosine similarity per item, BCE of it against 'in sync'): the loss Wav2Lip trains its generator with."""
        cos = F.cosine_similarity(audio_emb, face_emb)
        return cos, F.binary_cross_entropy(cos, torch.ones_like(cos))


WAV2LIP_FORMAT = ("a torch checkpoint dict with 'state_dict' (keys with or without the DataParallel "
                  "'module.' prefix), as the published wav2lip.pth / wav2lip_gan.pth / lipsync_expert.pth")


def _state_dict_of(p: Path, what: str) -> Dict[str, torch.Tensor]:
    ckpt = W.load_torch(p, what)
    if not isinstance(ckpt, dict):
        raise WeightsError(f"{p}: not a valid {what}: expected {WAV2LIP_FORMAT}; got {type(ckpt).__name__}")
    state = ckpt.get("state_dict", None)
    if state is None:
        if ckpt and all(isinstance(v, torch.Tensor) for v in ckpt.values()):
            state = ckpt  # a bare state_dict (some re-exports); accepted, the keys are still checked
        else:
            raise WeightsError(f"{p}: not a valid {what}: expected {WAV2LIP_FORMAT}; "
                               f"its top-level keys are {sorted(map(str, ckpt))[:6]}")
    # inference.load_model strips every 'module.'; color_syncnet_train.py writes them unprefixed
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in state.items()}


def load_generator(path: "str | Path", device: str = "cpu") -> Wav2LipGenerator:
    p = Path(path)
    net = W.load_state_checked(Wav2LipGenerator(), _state_dict_of(p, "Wav2Lip generator checkpoint"), p,
                               "Wav2Lip generator checkpoint", WAV2LIP_FORMAT)
    return net.to(device)


def load_expert(path: "str | Path", device: str = "cpu") -> Wav2LipExpert:
    p = Path(path)
    net = W.load_state_checked(Wav2LipExpert(), _state_dict_of(p, "Wav2Lip lip-sync expert checkpoint"), p,
                               "Wav2Lip lip-sync expert checkpoint", WAV2LIP_FORMAT)
    return net.to(device)

