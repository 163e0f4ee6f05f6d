"""Pass/fail rules of the conformance packs (README "Tolerances"), numpy only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np


@dataclass
class Verdict:
    ok: bool
    max_abs: float
    max_rel: float
    worst_ratio: float  # max |err| / (atol + rtol |expected|); <= 1 passes
    message: str = ""


def _ratios(got: np.ndarray, exp: np.ndarray, atol: float, rtol: float) -> "tuple[np.ndarray, np.ndarray]":
    err = np.abs(got - exp)
    bound = atol + rtol * np.abs(exp)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(err == 0, 0.0, err / bound)
    return err, np.where(np.isnan(r), np.inf, r)


def _rel(err: np.ndarray, exp: np.ndarray) -> float:
    if err.size == 0:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(err == 0, 0.0, err / np.abs(exp))
    return float(np.nanmax(rel))


def allclose(got: np.ndarray, exp: np.ndarray, atol: float, rtol: float) -> Verdict:
    if got.shape != exp.shape:
        return Verdict(False, np.inf, np.inf, np.inf, f"shape {got.shape} != expected {exp.shape}")
    got, exp = got.astype(np.float64), exp.astype(np.float64)
    finite = np.isfinite(exp)
    if not np.array_equal(np.isfinite(got), finite) or not np.array_equal(got[~finite], exp[~finite], equal_nan=True):
        return Verdict(False, np.inf, np.inf, np.inf, "non-finite values differ")
    if not finite.any():
        return Verdict(True, 0.0, 0.0, 0.0)
    err, r = _ratios(got[finite], exp[finite], atol, rtol)
    worst = float(r.max())
    return Verdict(worst <= 1.0, float(err.max()), _rel(err, exp[finite]), worst)


def exact(got: np.ndarray, exp: np.ndarray) -> Verdict:
    if got.shape != exp.shape:
        return Verdict(False, np.inf, np.inf, np.inf, f"shape {got.shape} != expected {exp.shape}")
    g, e = got.astype(np.float64), exp.astype(np.float64)
    same = np.array_equal(g, e, equal_nan=True)
    err = 0.0 if same else float(np.nanmax(np.abs(g - e)))
    return Verdict(same, err, 0.0 if same else _rel(np.abs(g - e), e), 0.0 if same else np.inf)


def rows_unordered(got: np.ndarray, exp: np.ndarray, atol: float, rtol: float) -> Verdict:
    """Rows of the last axis matched one to one, greedily to the closest free candidate row."""
    if exp.ndim == 0 or got.ndim == 0 or got.shape[-1] != exp.shape[-1]:
        return Verdict(False, np.inf, np.inf, np.inf, f"row length differs: {got.shape} vs {exp.shape}")
    g = got.reshape(-1, got.shape[-1]).astype(np.float64)
    e = exp.reshape(-1, exp.shape[-1]).astype(np.float64)
    if len(g) != len(e):
        return Verdict(False, np.inf, np.inf, np.inf, f"{len(g)} rows != expected {len(e)}")
    free = np.ones(len(g), bool)
    worst = max_abs = max_rel = 0.0
    for i, row in enumerate(e):
        err, r = _ratios(g, row[None, :], atol, rtol)
        per_row = np.where(free, r.max(axis=1), np.inf)
        j = int(np.argmin(per_row))
        if not np.isfinite(per_row[j]) or per_row[j] > 1.0:
            return Verdict(False, np.inf, np.inf, float(per_row[j]), f"expected row {i} has no matching row")
        free[j] = False
        worst = max(worst, float(per_row[j]))
        max_abs = max(max_abs, float(err[j].max()))
        max_rel = max(max_rel, _rel(err[j], row))
    return Verdict(True, max_abs, max_rel, worst)


def judge(got, exp, tolerance: Mapping) -> Verdict:
    mode = tolerance.get("compare", "allclose")
    atol, rtol = float(tolerance.get("atol", 0.0)), float(tolerance.get("rtol", 0.0))
    got, exp = np.asarray(got), np.asarray(exp)
    if mode == "exact":
        return exact(got, exp)
    if mode == "rows_unordered":
        return rows_unordered(got, exp, atol, rtol)
    if mode == "allclose":
        return allclose(got, exp, atol, rtol)
    raise ValueError(f"unknown compare mode {mode!r}")
