"""Helpers for the integration tests: serve a card on a vpcd slot, connect through pcscd."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulator.vpcd import DEFAULT_PORT, VirtualReaderSlot

ROOT = Path(__file__).resolve().parents[2]
PCSCD_UP = ROOT / "scripts" / "pcscd-up"
READERS = ("Virtual PCD 00 00", "Virtual PCD 00 01")
SELECT_SSSE = bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF")


def pcscd_problem() -> str | None:
    """Why the PC/SC stack is not usable, or None."""
    from sscard.doctor import VPCD_PORTS, listening_ports, pcscd_pid

    try:
        import smartcard  # noqa: F401
    except ImportError as exc:
        return f"pyscard is not importable ({exc}): run scripts/setup --test"
    if pcscd_pid() is None:
        return f"pcscd is not running: start it with {PCSCD_UP} (make test does this)"
    missing = [p for p in VPCD_PORTS if p not in listening_ports()]
    if missing:
        return f"vpcd is not listening on {missing}: apt-get install vsmartcard-vpcd, then restart pcscd"
    return None


def card_present(reader: str) -> bytes | None:
    from sscard.doctor import card_states

    return card_states([reader]).get(reader)


def wait_slot_empty(reader: str, timeout: float = 6.0) -> None:
    """Another card in our reader (a previous test's, or another process's) must be gone first."""
    deadline = time.monotonic() + timeout
    while card_present(reader):
        if time.monotonic() > deadline:
            pytest.fail(f"{reader} holds a card served by someone else; stop that server first", pytrace=False)
        time.sleep(0.1)


@contextlib.contextmanager
def served(card, slot: int = 0, **kw):
    """Serve `card` on vpcd slot `slot` until the block ends; returns the VirtualReaderSlot."""
    wait_slot_empty(READERS[slot])
    vslot = VirtualReaderSlot(card, DEFAULT_PORT + slot, **kw).start()
    try:
        assert vslot.wait_ready(10), f"pcscd never took the card in on {READERS[slot]}"
        yield vslot
    finally:
        vslot.stop()


def connect(reader_name: str = READERS[0], timeout: float = 10.0, **kw):
    """A pyscard connection through pcscd, retried while pcscd catches up with the insertion."""
    from smartcard.Exceptions import CardConnectionException, NoCardException
    from smartcard.System import readers

    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            match = [r for r in readers() if str(r) == reader_name]
            if match:
                conn = match[0].createConnection()
                conn.connect(**kw)
                return conn
        except (NoCardException, CardConnectionException) as exc:
            last = exc
        time.sleep(0.1)
    pytest.fail(f"cannot connect to {reader_name}: {last}", pytrace=False)


def tx(conn, apdu: bytes | str) -> str:
    """Send one APDU (hex or bytes) and return the whole R-APDU as upper-case hex."""
    if isinstance(apdu, str):
        apdu = bytes.fromhex(apdu.replace(" ", ""))
    data, sw1, sw2 = conn.transmit(list(apdu))
    return bytes(data).hex().upper() + f"{sw1:02X}{sw2:02X}"


class Recording:
    """Wraps a card and records its power events (the real Card keeps no history)."""

    def __init__(self, card):
        self.card, self.events, self.commands = card, [], []

    @property
    def atr(self):
        return self.card.atr

    @property
    def powered(self):
        return self.card.powered

    def power_on(self):
        self.events.append("power_on")
        return self.card.power_on()

    def reset(self):
        self.events.append("reset")
        return self.card.reset()

    def power_off(self):
        self.events.append("power_off")
        return self.card.power_off()

    def transmit(self, capdu):
        self.commands.append(bytes(capdu))
        return self.card.transmit(capdu)

    def close(self):
        return self.card.close()


def restart_pcscd() -> None:
    """Bring pcscd back (idempotent); used in finally blocks after killing it."""
    subprocess.run([str(PCSCD_UP)], check=True, timeout=60, capture_output=True)


def sscard(*args, **kw) -> subprocess.Popen:
    """`python -m sscard ARGS` as a real subprocess, output unbuffered and merged."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "sscard", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def stop(proc: subprocess.Popen, timeout: float = 15.0) -> str:
    """SIGTERM to `proc`, then its output once it has exited cleanly (exit 0); killed if it hangs."""
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        kill(proc)
    assert proc.returncode == 0, out
    return out


def stop_all(procs, timeout: float = 15.0) -> None:
    """SIGTERM to every server at once (they stop side by side), then reap each; killed if it hangs."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.communicate(timeout=timeout)
        finally:
            kill(proc)


def kill(proc: subprocess.Popen) -> None:
    """Kill `proc` if it still runs (the `finally` of every test that started one) and reap it."""
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


def wait_card(reader: str, timeout: float = 20.0) -> bytes:
    """The ATR of the card that appears in `reader` (fails after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        atr = card_present(reader)
        if atr:
            return atr
        time.sleep(0.1)
    raise AssertionError(f"no card appeared in {reader}")

