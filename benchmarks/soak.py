"""Soak: 100,000 APDUs through pcscd to a served card, with two pcscd restarts in the middle.

No lost card (it comes back by itself after each restart) and the serving process's memory stays
flat. Run by `make soak` (pcscd must be running; `make soak` starts it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READER = "Virtual PCD 00 00"
APDUS = int(os.environ.get("SSCARD_SOAK_APDUS", "100000"))
CYCLE = [bytes.fromhex(h) for h in ("00A404000F7378312E73682EC9E7BBE1B1A3D5CF", "00C0000018", "00B2012C00",
                                    "00B2072C00", "00A4020002EF06", "00B2083000", "0084000008", "00B2090000")]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _connect(deadline_s: float = 30.0):
    from smartcard.System import readers
    deadline = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < deadline:
        conn = None
        try:
            match = [r for r in readers() if str(r) == READER]
            if match:
                conn = match[0].createConnection()
                conn.connect()
                return conn
        except Exception as exc:  # pcscd restarting, card not back yet
            last = exc
            if conn is not None:
                _drop(conn)
        time.sleep(0.1)
    raise RuntimeError(f"card lost: not back in {READER} after {deadline_s} s ({last})")


def _drop(conn) -> None:
    """Forget a connection whose pcscd has gone (its context cannot be released any more)."""
    try:
        conn.disconnect()
    except Exception:
        pass
    inner = getattr(conn, "component", conn)  # pyscard wraps the PC/SC connection in a decorator
    inner.hcard = None  # else pyscard tries again, noisily, when the object is collected
    inner.hcontext = None


def _restart_pcscd() -> float:
    t0 = time.monotonic()
    subprocess.run([str(ROOT / "scripts" / "pcscd-down")], check=True, capture_output=True)
    subprocess.run([str(ROOT / "scripts" / "pcscd-up")], check=True, capture_output=True)
    return time.monotonic() - t0


def run(report=print) -> dict:
    server = subprocess.Popen([sys.executable, "-m", "sscard", "serve", "--builtin", "gen2"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        conn = _connect()
        restarts_at = {APDUS // 3, 2 * APDUS // 3}
        samples, comebacks, errors, start = [], [], 0, 0
        t0 = time.monotonic()
        for i in range(APDUS):
            if i in restarts_at:
                took = _restart_pcscd()
                t_back = time.monotonic()
                _drop(conn)
                conn = _connect()
                comebacks.append((took, time.monotonic() - t_back))
                start = i  # the card was reset: the terminal starts its sequence again
            if i % 10000 == 0:
                samples.append(rss_kb(server.pid))
            data, sw1, sw2 = conn.transmit(list(CYCLE[(i - start) % len(CYCLE)]))
            if sw1 not in (0x90, 0x61):
                errors += 1
        elapsed = time.monotonic() - t0
        samples.append(rss_kb(server.pid))
    finally:
        server.terminate()
        server.wait(10)
    steady = samples[1:]  # after the first 10,000 APDUs the server has warmed up
    growth = max(steady) - min(steady)
    report(f"soak: {APDUS} APDUs through pcscd in {elapsed:.1f} s ({elapsed / APDUS * 1e6:.0f} µs each), "
           f"{len(comebacks)} pcscd restarts, unexpected SWs: {errors}")
    for n, (took, back) in enumerate(comebacks, 1):
        report(f"  restart {n}: pcscd down+up {took:.2f} s, card back {back:.2f} s later (no lost card)")
    report(f"  server RSS every 10,000 APDUs (KiB): {samples}; spread after warm-up {growth} KiB")
    assert errors == 0, "unexpected status words during the soak"
    assert growth < 4096, f"server memory grew by {growth} KiB"
    return {"apdus": APDUS, "seconds": elapsed, "rss_kb": samples, "growth_kb": growth}


if __name__ == "__main__":
    run()
