"""Is a submitted video's audio the pair's speech? Compared by their best normalised correlation
within a small lag, so that a lossy mux (AAC's priming and resampling) passes and another clip's
audio (a copied target) does not."""

from __future__ import annotations

from typing import Tuple

import numpy as np

MAX_LAG_S = 0.2  # the muxing codec's delay and resampling: AAC's 1,024-sample priming is 64 ms at 16 kHz
MIN_CORRELATION = 0.6  # Pearson correlation at the best lag; lossy AAC of the speech scores above 0.9


def speech_match(submitted: np.ndarray, speech: np.ndarray, sr: int = 16000,
                 max_lag_s: float = MAX_LAG_S) -> Tuple[float, int]:
    """(the best Pearson correlation of `submitted` with `speech` over lags within max_lag_s, that lag in
    samples: positive when the submitted audio is late). Both are 16 kHz mono float arrays."""
    from scipy.signal import correlate

    n = min(len(submitted), len(speech))
    x = np.asarray(submitted[:n], np.float64)
    y = np.asarray(speech[:n], np.float64)
    x, y = x - x.mean(), y - y.mean()
    if n == 0 or not np.any(x) or not np.any(y):
        return 0.0, 0
    lag = min(int(max_lag_s * sr), n - 1)
    full = correlate(x, y, mode="full", method="fft")  # index n-1 is lag 0; index n-1+k: x[k:] against y[:n-k]
    cx, cy = np.concatenate([[0.0], np.cumsum(x * x)]), np.concatenate([[0.0], np.cumsum(y * y)])
    best, best_lag = -1.0, 0
    for k in range(-lag, lag + 1):
        m = n - abs(k)
        ex = cx[n] - cx[k] if k >= 0 else cx[m]  # energy of x over the overlap
        ey = cy[m] if k >= 0 else cy[n] - cy[-k]
        if ex <= 0 or ey <= 0:
            continue
        r = full[n - 1 + k] / np.sqrt(ex * ey)
        if r > best:
            best, best_lag = float(r), k
    return best, best_lag
