"""Tearing: `sscard serve` killed with SIGKILL at random moments during authenticated writes and
PIN / key tries through pcscd. After each kill the image loads, every record holds its old or
its new value, and no PIN or key try was gained by the kill.

SSCARD_TEAR_RUNS sets the number of kills (`make test`: 20; `make soak`: 1,000). The many kills of
`make test` are in tests/unit/test_tearing_inprocess.py (a forked card process, no restart cost).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading

import pytest

from pcsckit import READERS, ROOT, connect, wait_slot_empty
from tearkit import Torn, burst, check_image, sample_card_file

RUNS = int(os.environ.get("SSCARD_TEAR_RUNS", "20"))
READER = READERS[0]


def _send(conn, apdu: bytes) -> tuple[bytes, int]:
    try:
        data, sw1, sw2 = conn.transmit(list(apdu))
    except Exception as exc:  # the server was killed: pyscard reports the card gone
        raise Torn(str(exc)) from None
    return bytes(data), (sw1 << 8) | sw2


# pyscard's connection destructor raises (ignored, but warned) when the card was killed under it
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_sigkill_during_writes_and_tries_never_tears_or_gains(tmp_path):
    path = tmp_path / "card.yaml"
    model = sample_card_file(path)
    rng = random.Random(20261127)
    kills_mid_command = 0
    for run in range(RUNS):
        wait_slot_empty(READER)
        server = subprocess.Popen([sys.executable, "-m", "sscard", "serve", "--image", str(path), "--slot", "0"],
                                  cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            conn = connect(READER, timeout=15)
            timer = threading.Timer(rng.uniform(0.0, 0.08), server.send_signal, (signal.SIGKILL,))
            timer.start()
            try:
                burst(lambda apdu: _send(conn, apdu), model, rng)
            except Torn:
                kills_mid_command += model.in_flight is not None
            finally:
                timer.join()
                try:
                    conn.disconnect()
                except Exception:
                    pass
        finally:
            server.kill()
            server.wait(10)
        check_image(path, model, run)
    # the kills must really land inside commands, or the test proves nothing
    assert kills_mid_command >= RUNS // 4, f"only {kills_mid_command} of {RUNS} kills hit a command in flight"
    print(f"tearing: {RUNS} kills, {kills_mid_command} in the middle of a command, no torn image, no try gained")
