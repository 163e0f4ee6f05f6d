"""Docs tables made from the registry, so a metric's column or a protocol's length rule is
written once (on its registry line or class) and docs/evaluation.md can be checked against it."""

from __future__ import annotations

from .registry import METRICS, PROTOCOLS


def _direction(higher: "bool | None") -> str:
    return "info" if higher is None else ("higher" if higher else "lower")


def metric_columns_table() -> str:
    """One line per metric: its columns (label and which way is better), default, inputs."""
    lines = ["| metric | columns (better) | on by default | computed on |", "|---|---|---|---|"]
    for e in METRICS:
        cols = ", ".join(f"{v.label} ({_direction(v.higher_is_better)})".replace("|", "\\|") for v in e.values)
        where = "; protocols with real frames only (reconstruction)" if e.ground_truth else ""
        lines.append(f"| `{e.name}` | {cols} | {'yes' if e.default else 'no'} | {e.computed_on}{where} |")
    return "\n".join(lines) + "\n"


def frame_count_table() -> str:
    """One line per protocol: how many frames each pair's full-frame video has."""
    lines = ["| protocol | version | frames in each pair's video |", "|---|---|---|"]
    for e in PROTOCOLS:
        cls = PROTOCOLS.load(e.name)
        lines.append(f"| `{e.name}` | {cls.version} | {cls.length_rule} |")
    return "\n".join(lines) + "\n"
