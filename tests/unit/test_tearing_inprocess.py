"""Tearing, many kills: a forked terminal drives the emulated card in its own process and is
killed with SIGKILL at a random moment, often inside a save. After each kill the image loads,
every record holds its old or its new value, and no PIN or key try was gained.

The real server through pcscd is torn in tests/integration/test_tearing.py (fewer kills: each
one restarts `sscard serve`). SSCARD_TEAR_FORK_RUNS sets the number here (`make soak` runs more).
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import time

from tearkit import Torn, burst, check_image, sample_card_file
from simulator import Card

RUNS = int(os.environ.get("SSCARD_TEAR_FORK_RUNS", "300"))


def _terminal(path, model, seed: int, out: int) -> None:
    """The child: a terminal with the card in-process, reporting what it knows after each step."""
    try:
        card = Card.from_image(path)
        card.power_on()

        def send(apdu: bytes):
            r = card.transmit(apdu)
            return r[:-2], int.from_bytes(r[-2:], "big")

        burst(send, model, random.Random(seed), lambda: os.write(out, (json.dumps(model.state()) + "\n").encode()))
    except BaseException as exc:  # anything but the kill is a finding: tell the parent
        os.write(out, f"ERROR {type(exc).__name__}: {exc}\n".encode())
    os._exit(1)


def _last_state(lines: bytes) -> dict | None:
    state = None
    for line in lines.split(b"\n"):
        if line.startswith(b"ERROR"):
            raise AssertionError(f"the terminal failed before the kill: {line.decode()}")
        if line.endswith(b"}"):  # a line cut by the kill is not complete JSON: ignore it
            state = json.loads(line)
    return state


def test_sigkill_of_the_card_process_never_tears_or_gains(tmp_path):
    path = tmp_path / "card.yaml"
    model = sample_card_file(path)
    rng = random.Random(20261202)
    kills_mid_command = 0
    for run in range(RUNS):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns
            os.close(read_end)
            _terminal(path, model, rng.randrange(1 << 30), write_end)
        os.close(write_end)
        got = b""
        # wait until the terminal is under way (its first report), then kill at a random moment
        assert select.select([read_end], [], [], 30)[0], f"run {run}: the forked terminal never started"
        got += os.read(read_end, 65536)
        time.sleep(rng.uniform(0.0, 0.03))  # the kill moment itself is the random input here
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        while chunk := os.read(read_end, 65536):
            got += chunk
        os.close(read_end)
        state = _last_state(got)
        if state is not None:
            model.load(state)
        kills_mid_command += model.in_flight is not None
        check_image(path, model, run)
    assert kills_mid_command >= RUNS // 4, f"only {kills_mid_command} of {RUNS} kills hit a command in flight"
    print(f"tearing in-process: {RUNS} kills, {kills_mid_command} in the middle of a command, no torn image")

