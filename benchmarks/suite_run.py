"""Wall time of `sscard run --json R` on the built-in cards (the whole suite, three cards)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROUNDS = 5


def _once(out: Path, env: dict) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "sscard", "run", "--json", str(out / "r.json")],
                          capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"sscard run exited {proc.returncode}: {proc.stdout[-500:]}{proc.stderr[-500:]}")
    return elapsed


def machine_speed() -> float:
    """Seconds a plain 10,000,000-step Python loop takes here now: a yardstick for the figures
    (a quiet modern core does it in about 0.5 s; a busy or throttled machine takes longer)."""
    t0 = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - t0


def run(report=print) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        env = {**os.environ, "XDG_CACHE_HOME": str(out / "cache")}  # start with no validation cache
        cold = _once(out, env)
        warm = [_once(out, env) for _ in range(ROUNDS)]
        doc = json.loads((out / "r.json").read_text(encoding="utf-8"))
    cases = len(doc["cases"])
    verdicts = {k: doc["summary"][k] for k in ("PASS", "NOT_APPLICABLE", "FAIL", "ERROR", "INCONCLUSIVE")}
    report(f"sscard run --json R on the built-in gen1/gen2/gen3 cards: {cases} case runs {verdicts}")
    report(f"  wall time, first run (schema validation cache empty): {cold:.2f} s")
    report(f"  wall time, median of {ROUNDS} runs:                     {statistics.median(warm):.2f} s  (goal < 2 s)")
    report(f"  yardstick: a 10M-step Python loop takes {machine_speed():.2f} s on this machine now")
    return {"cold": cold, "warm": statistics.median(warm), "cases": cases}


if __name__ == "__main__":
    run()
