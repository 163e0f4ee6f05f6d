"""bench/gpu.sh (issue 24): where no GPU is at hand it says so in one line and exits 2, pointing at
--device cpu; a device it does not know is refused the same way. The CPU run itself is in
docs/benchmarks.md (it starts Ray twice: too slow for the suite)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "gpu.sh"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has nvidia-smi")
def test_without_a_gpu_it_says_so_in_one_line():
    r = _run()
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().splitlines() == [
        "bench/gpu.sh: no CUDA GPU here (nvidia-smi is not installed): nothing measured (--device cpu runs it on the CPU)"]


def test_an_unknown_device_is_refused():
    r = _run("--device", "tpu")
    assert r.returncode == 2 and r.stderr.strip() == "bench/gpu.sh: --device tpu: cuda or cpu"
