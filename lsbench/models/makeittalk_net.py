"""MakeItTalk (Zhou et al., SIGGRAPH Asia 2020) networks, with the official state_dict names
(yzhou359/MakeItTalk @ fad2fe4: src/models/model_audio2landmark.py,
src/models/model_image_translation.py). Sizes are the demo's (main_end2end.py).
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

import torch
from torch import nn
from torch.nn import functional as F

FACE_ID = 204  # 68 landmarks x (x, y, z)


class Audio2LandmarkContent(nn.Module):
    """Content branch: 18 AutoVC mel frames -> LSTM -> with the face's landmarks -> 204 displacements."""

    def __init__(self, in_size: int = 80, lstm_size: int = 161, hidden: int = 256, layers: int = 3):
        super().__init__()
        self.in_size, self.lstm_size = in_size, lstm_size
        self.fc_prior = nn.Sequential(nn.Linear(in_size, 256), nn.BatchNorm1d(256), nn.LeakyReLU(0.2),
                                      nn.Linear(256, lstm_size))
        self.bilstm = nn.LSTM(lstm_size, hidden, layers, batch_first=True)
        self.fc = nn.Sequential(nn.Linear(hidden + FACE_ID, 512), nn.BatchNorm1d(512), nn.LeakyReLU(0.2),
                                nn.Linear(512, 256), nn.BatchNorm1d(256), nn.LeakyReLU(0.2), nn.Linear(256, FACE_ID))

    def forward(self, au: torch.Tensor, face_id: torch.Tensor) -> torch.Tensor:
        b, t, _ = au.shape
        x = self.fc_prior(au.reshape(-1, self.in_size)).view(b, t, self.lstm_size)
        out = self.bilstm(x)[0][:, -1]
        if face_id.shape[0] == 1:
            face_id = face_id.repeat(b, 1)
        return self.fc(torch.cat([out, face_id], dim=1))


def positional_table(d_model: int, max_len: int = 512) -> torch.Tensor:
    """MakeItTalk's table: sin(pos / 10000^(2i/d)) at even i, cos(pos / 10000^(2(i+1)/d)) at i+1."""
    pe = torch.zeros(max_len, d_model)
    for pos in range(max_len):
        for i in range(0, d_model, 2):
            pe[pos, i] = math.sin(pos / (10000 ** ((2 * i) / d_model)))
            pe[pos, i + 1] = math.cos(pos / (10000 ** ((2 * (i + 1)) / d_model)))
    return pe[None]


class Linear1(nn.Module):
    """A Linear kept under the attribute name the official Embedder uses (`embed.embed`)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.embed = nn.Linear(cin, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x)


class PositionalEncoder(nn.Module):
    def __init__(self, d_model: int, max_len: int = 512):
        super().__init__()
        self.d_model = d_model
        self.register_buffer("pe", positional_table(d_model, max_len))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * math.sqrt(self.d_model) + self.pe[:, : x.size(1)]


class Norm(nn.Module):
    """(x - mean) / (unbiased std + eps), with alpha and bias: not LayerNorm (std, eps outside)."""

    def __init__(self, d: int, eps: float = 1e-6):
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.alpha * (x - x.mean(-1, keepdim=True)) / (x.std(-1, keepdim=True) + self.eps) + self.bias


class MultiHeadAttention(nn.Module):
    def __init__(self, heads: int, d_model: int):
        super().__init__()
        self.h, self.d_k = heads, d_model // heads
        self.q_linear, self.v_linear = nn.Linear(d_model, d_model), nn.Linear(d_model, d_model)
        self.k_linear, self.out = nn.Linear(d_model, d_model), nn.Linear(d_model, d_model)

    def forward(self, q, k, v):
        bs = q.size(0)
        split = lambda lin, x: lin(x).view(bs, -1, self.h, self.d_k).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q_linear, q), split(self.k_linear, k), split(self.v_linear, v)
        att = F.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.d_k), dim=-1) @ v
        return self.out(att.transpose(1, 2).contiguous().view(bs, -1, self.h * self.d_k))


class FeedForward(nn.Module):
    def __init__(self, d_model: int, d_ff: int = 2048):
        super().__init__()
        self.linear_1, self.linear_2 = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)

    def forward(self, x):
        return self.linear_2(F.relu(self.linear_1(x)))


class EncoderLayer(nn.Module):
    def __init__(self, d_model: int, heads: int):
        super().__init__()
        self.norm_1, self.norm_2 = Norm(d_model), Norm(d_model)
        self.attn, self.ff = MultiHeadAttention(heads, d_model), FeedForward(d_model)

    def forward(self, x):
        y = self.norm_1(x)
        x = x + self.attn(y, y, y)
        return x + self.ff(self.norm_2(x))


class DecoderLayer(nn.Module):
    """Present in the checkpoint (its weights are loaded); the demo's forward never runs it."""

    def __init__(self, d_model: int, heads: int):
        super().__init__()
        self.norm_1, self.norm_2, self.norm_3 = Norm(d_model), Norm(d_model), Norm(d_model)
        self.attn_1, self.attn_2 = MultiHeadAttention(heads, d_model), MultiHeadAttention(heads, d_model)
        self.ff = FeedForward(d_model)


class TransformerStack(nn.Module):
    def __init__(self, d_model: int, n: int, heads: int, in_size: int, layer=EncoderLayer):
        super().__init__()
        self.embed = Linear1(in_size, d_model)
        self.pe = PositionalEncoder(d_model)
        self.layers = nn.ModuleList([layer(d_model, heads) for _ in range(n)])
        self.norm = Norm(d_model)

    def forward(self, x):
        x = self.pe(self.embed(x))
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)


def _mlp(sizes, slope: float = 0.02) -> nn.Sequential:
    mods = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        mods.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            mods.append(nn.LeakyReLU(slope))
    return nn.Sequential(*mods)


class Audio2LandmarkSpeaker(nn.Module):
    """Speaker-aware branch: LSTM audio code + speaker MLP + z through a transformer encoder whose
    sequence is the batch of windows (attention across windows), then an MLP to 204 values."""

    def __init__(self, audio_feat: int = 80, hidden: int = 256, layers: int = 3, spk_feat: int = 256,
                 spk_enc: int = 128, d_model_per_head: int = 32, n: int = 2, heads: int = 2, z_size: int = 128):
        super().__init__()
        d_model = d_model_per_head * heads
        self.audio_content_encoder = nn.LSTM(audio_feat, hidden, layers, batch_first=True)
        self.spk_emb_encoder = _mlp([spk_feat, 256, 128, spk_enc])
        self.encoder = TransformerStack(d_model, n, heads, hidden + spk_enc + z_size)
        self.decoder = TransformerStack(d_model, n, heads, FACE_ID, layer=DecoderLayer)
        self.out = _mlp([d_model + z_size, 512, 256, FACE_ID])

    def forward(self, au, emb, face_id, fls, z) -> Tuple[torch.Tensor, torch.Tensor]:
        audio = self.audio_content_encoder(au)[0][:, -1]
        spk = self.spk_emb_encoder(emb)
        enc = self.encoder(torch.cat([audio, spk, z], dim=1).unsqueeze(0))[0]
        return self.out(torch.cat([enc, z], dim=1)), spk


def load_container(path, container: str, net: nn.Module, what: str, drop_prefix: Optional[str] = None):
    """MakeItTalk files keep the state_dict under one key ('model', 'model_g_face_id', 'G');
    'module.' prefixes (DataParallel saves) are stripped; `drop_prefix` keys (the speaker file's
    stale comb_mlp head) are dropped as the demo drops them."""
    from pathlib import Path

    from .. import weights as W
    from ..errors import WeightsError

    p = Path(path)
    fmt = f"a torch checkpoint dict with its weights under {container!r} (MakeItTalk's {p.name} layout)"
    ckpt = W.load_torch_tensors_only(p, what)
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get(container), dict):
        got = sorted(map(str, ckpt))[:6] if isinstance(ckpt, dict) else type(ckpt).__name__
        raise WeightsError(f"{p}: not a valid {what}: expected {fmt}; got {got}")
    state = {(k[7:] if k.startswith("module.") else k): v for k, v in ckpt[container].items()}
    if drop_prefix:
        state = {k: v for k, v in state.items() if k.split(".")[0] != drop_prefix}
    return W.load_state_checked(net, state, p, what, fmt)


def load_autovc(path) -> "AutoVC":
    return load_container(path, "model", AutoVC(), "MakeItTalk AutoVC checkpoint")


def load_content_branch(path) -> "Audio2LandmarkContent":
    return load_container(path, "model_g_face_id", Audio2LandmarkContent(), "MakeItTalk content branch checkpoint")


def load_speaker_branch(path) -> "Audio2LandmarkSpeaker":
    return load_container(path, "G", Audio2LandmarkSpeaker(), "MakeItTalk speaker branch checkpoint", "comb_mlp")


def load_i2i(path) -> "ResUnetGenerator":
    return load_container(path, "G", ResUnetGenerator(), "MakeItTalk image translator checkpoint")


# ---------------------------------------------------------------- image-to-image translation (256x256)


class ResidualBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(True),
                                   nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return F.relu(x + self.block(x))


class ResUnetLevel(nn.Module):
    """One U-Net level with two residual blocks on each side; the indices of `model` are the
    official ones (outermost: no norm, no output ReLU; innermost: no submodule)."""

    def __init__(self, outer: int, inner: int, cin: Optional[int] = None, sub: Optional[nn.Module] = None,
                 outermost: bool = False):
        super().__init__()
        self.outermost = outermost
        cin = cin or outer
        down = nn.Conv2d(cin, inner, 3, 2, 1, bias=False)
        res_down = [ResidualBlock(inner), ResidualBlock(inner)]
        up = nn.Conv2d(inner * (1 if sub is None else 2), outer, 3, 1, 1, bias=False)
        upsample = nn.Upsample(scale_factor=2, mode="nearest")
        if outermost:
            layers = [down, nn.ReLU(True), *res_down, sub, upsample, up]
        elif sub is None:
            layers = [down, nn.ReLU(True), *res_down, upsample, up, nn.BatchNorm2d(outer), nn.ReLU(True),
                      ResidualBlock(outer), ResidualBlock(outer)]
        else:
            layers = [down, nn.BatchNorm2d(inner), nn.ReLU(True), *res_down, sub, upsample, up, nn.BatchNorm2d(outer),
                      nn.ReLU(True), ResidualBlock(outer), ResidualBlock(outer)]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class ResUnetGenerator(nn.Module):
    """The demo's image translator: ResUnetGenerator(6, 3, num_downs=6), landmark sketch + photo in,
    raw image out (the demo applies tanh afterwards)."""

    def __init__(self, cin: int = 6, cout: int = 3, num_downs: int = 6, ngf: int = 64):
        super().__init__()
        level = ResUnetLevel(ngf * 8, ngf * 8)
        for _ in range(num_downs - 5):
            level = ResUnetLevel(ngf * 8, ngf * 8, sub=level)
        for outer, inner in ((ngf * 4, ngf * 8), (ngf * 2, ngf * 4), (ngf, ngf * 2)):
            level = ResUnetLevel(outer, inner, sub=level)
        self.model = ResUnetLevel(cout, ngf, cin, level, outermost=True)

    def forward(self, x):
        return self.model(x)


# ---------------------------------------------------------------- AutoVC (F0-conditioned retrain version)


class ConvNorm1d(nn.Module):
    """conv1d (kernel 5, same padding) under the official name `conv`."""

    def __init__(self, cin: int, cout: int, k: int = 5):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, k, 1, (k - 1) // 2)

    def forward(self, x):
        return self.conv(x)


def _conv_gn(cin: int, cout: int, groups: int) -> nn.Sequential:
    return nn.Sequential(ConvNorm1d(cin, cout), nn.GroupNorm(groups, cout))


class LinearNorm(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.linear_layer = nn.Linear(cin, cout)

    def forward(self, x):
        return self.linear_layer(x)


class AutoVCEncoder(nn.Module):
    def __init__(self, dim_neck: int = 16, dim_emb: int = 256, freq: int = 16, n_mels: int = 80):
        super().__init__()
        self.dim_neck, self.freq = dim_neck, freq
        self.convolutions = nn.ModuleList([_conv_gn(n_mels + dim_emb, 512, 32), _conv_gn(512, 512, 32),
                                           _conv_gn(512, 512, 32)])
        self.lstm = nn.LSTM(512, dim_neck, 2, batch_first=True, bidirectional=True)

    def forward(self, mel: torch.Tensor, emb: torch.Tensor):
        """mel (B,T,80), emb (B,256) -> codes: per block of `freq` frames, the forward state at the
        block's last frame and the backward state at its first."""
        x = torch.cat([mel.transpose(1, 2), emb[:, :, None].expand(-1, -1, mel.shape[1])], dim=1)
        for conv in self.convolutions:
            x = F.relu(conv(x))
        out = self.lstm(x.transpose(1, 2))[0]
        fwd, bwd = out[..., : self.dim_neck], out[..., self.dim_neck:]
        return [torch.cat([fwd[:, i + self.freq - 1], bwd[:, i]], dim=-1) for i in range(0, out.shape[1], self.freq)]


class AutoVCDecoder(nn.Module):
    def __init__(self, dim_neck: int = 16, dim_emb: int = 256, dim_pre: int = 512, n_f0: int = 257):
        super().__init__()
        self.lstm = nn.LSTM(dim_neck * 2 + dim_emb + n_f0, dim_pre, 3, batch_first=True)
        self.linear_projection = LinearNorm(dim_pre, 80)

    def forward(self, x):
        return self.linear_projection(self.lstm(x)[0])


class AutoVCPostnet(nn.Module):
    def __init__(self):
        super().__init__()
        self.convolutions = nn.ModuleList([_conv_gn(80, 512, 32)] + [_conv_gn(512, 512, 32) for _ in range(3)]
                                          + [_conv_gn(512, 80, 5)])

    def forward(self, x):
        for conv in self.convolutions[:-1]:
            x = torch.tanh(conv(x))
        return self.convolutions[-1](x)


class AutoVC(nn.Module):
    """Generator(16, 256, 512, 16) of MakeItTalk's AutoVC retrain version: the decoder is
    conditioned on the target speaker embedding and a one-hot F0 (257 bins)."""

    def __init__(self, dim_neck: int = 16, dim_emb: int = 256, dim_pre: int = 512, freq: int = 16):
        super().__init__()
        self.encoder = AutoVCEncoder(dim_neck, dim_emb, freq)
        self.decoder = AutoVCDecoder(dim_neck, dim_emb, dim_pre)
        self.postnet = AutoVCPostnet()

    def forward(self, mel, emb_org, f0_trg, emb_trg):
        """mel (B,T,80) with T a multiple of 16 -> (mel_outputs, mel_outputs_postnet, codes (B, 2T))."""
        codes = self.encoder(mel, emb_org)
        t = mel.shape[1]
        code_exp = torch.cat([c[:, None].expand(-1, t // len(codes), -1) for c in codes], dim=1)
        mel_out = self.decoder(torch.cat([code_exp, emb_trg[:, None].expand(-1, t, -1), f0_trg], dim=-1))
        post = mel_out + self.postnet(mel_out.transpose(1, 2)).transpose(1, 2)
        return mel_out, post, torch.cat(codes, dim=-1)
