"""The fuzz targets on a short budget (CI); `make fuzz` runs them long."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_target(module: str, runs: int, tmp_path: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", module, f"-runs={runs}", "-seed=12345", f"-artifact_prefix={tmp_path}/"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    return out


def test_fuzz_transmit_short(tmp_path):
    out = run_target("fuzz.fuzz_transmit", 3000, tmp_path)
    line = next(l for l in out.splitlines() if l.startswith("fuzz_transmit:"))
    inputs = int(line.split()[1])
    assert inputs >= 3000 and "no failure" in line
