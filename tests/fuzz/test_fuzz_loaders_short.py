"""The loader fuzz targets on a short budget (CI); `make fuzz` runs them long."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_target(module: str, runs: int, tmp_path: Path, *extra: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", module, *extra, f"-runs={runs}", "-seed=12345", f"-artifact_prefix={tmp_path}/"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, "SSCARD_FUZZ_TMP": str(tmp_path)})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    return out


@pytest.mark.parametrize("target, runs", [("vectors", 700), ("sessions", 3000), ("report", 3000)])
def test_fuzz_loaders_short(tmp_path, target, runs):
    out = run_target("fuzz.fuzz_loaders", runs, tmp_path, f"--target={target}")
    line = next(l for l in out.splitlines() if l.startswith("fuzz_loaders:"))
    assert int(line.split()[1]) >= runs and line.endswith("no failure"), line
    loaded, rejected = map(int, re.search(rf"{target} (\d+) loaded/(\d+) rejected", line).groups())
    assert loaded > 0 and rejected > 0, line  # both the accepting and the refusing paths ran
