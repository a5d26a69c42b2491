"""APDU round trip through pcscd: pyscard -> pcscd -> vpcd -> VirtualReaderSlot -> card.

Measures READ RECORD on the emulated gen2 sample card and the same APDU on the do-nothing
EchoCard, in one run and on one reader ("Virtual PCD 00 00"), served from a thread of this
process. The two cards take turns in blocks (the slot's card is swapped between blocks), so
machine noise hits both alike. The ratio says what the card engine adds to the transport;
the goal is <= 1.2. Needs a running pcscd (scripts/pcscd-up).

    python -m benchmarks.pcsc_roundtrip [N]
"""

from __future__ import annotations

import statistics
import sys
import threading
import time

N = 2000  # round trips per card
BLOCK = 100  # round trips before the cards swap
READER = "Virtual PCD 00 00"
SELECT_SSSE = bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF")
READ_RECORD = [0x00, 0xB2, 0x01, 0x2C, 0x12]
GOAL = 1.2


class _Switch:
    """The card in the slot: forwards to whichever card is current (swapped under the lock)."""

    def __init__(self, card):
        self.current = card

    @property
    def atr(self):
        return self.current.atr

    def power_on(self):
        return self.current.power_on()

    def reset(self):
        return self.current.reset()

    def power_off(self):
        return self.current.power_off()

    def transmit(self, capdu):
        return self.current.transmit(capdu)


def _connect(timeout: float = 15.0):
    from smartcard.System import readers

    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            for r in readers():
                if str(r) == READER:
                    conn = r.createConnection()
                    conn.connect()
                    return conn
        except Exception as exc:  # card not seen yet
            last = exc
        time.sleep(0.1)
    raise RuntimeError(f"cannot connect to {READER}: {last}")


def measure(n: int = N) -> dict[str, list[float]]:
    from simulator import Card
    from benchmarks.echo import EchoCard
    from simulator.vpcd import VirtualReaderSlot
    from sscard.doctor import pcscd_pid

    if pcscd_pid() is None:
        raise RuntimeError("pcscd is not running: start it with scripts/pcscd-up")
    gen2, echo = Card.builtin("gen2"), EchoCard()
    switch = _Switch(gen2)
    lock = threading.RLock()
    samples: dict[str, list[float]] = {"gen2": [], "echo": []}
    with VirtualReaderSlot(switch, card_lock=lock) as slot:
        if not slot.wait_ready(15):
            raise RuntimeError(f"pcscd did not take the card in on {READER} (is another card there?)")
        conn = _connect()
        data, sw1, sw2 = conn.transmit(list(SELECT_SSSE))
        conn.transmit([0x00, 0xC0, 0x00, sw2])  # collect the FCI: the buffer is then empty
        data, sw1, sw2 = conn.transmit(READ_RECORD)
        if (sw1, sw2) != (0x90, 0x00) or len(data) != 18:
            raise RuntimeError(f"gen2 READ RECORD answered {bytes(data).hex()} {sw1:02X}{sw2:02X}")
        transmit, clock = conn.transmit, time.perf_counter_ns
        for _ in range(200):  # warm up both paths
            transmit(READ_RECORD)
        done = 0
        while done < n:
            block = min(BLOCK, n - done)
            for name, card in (("gen2", gen2), ("echo", echo)):
                with lock:
                    switch.current = card
                out = samples[name]
                for _ in range(block):
                    t0 = clock()
                    transmit(READ_RECORD)
                    out.append((clock() - t0) / 1000)
            done += block
        with lock:
            switch.current = gen2
        conn.disconnect()
    return samples


def run(report=print, n: int = N) -> dict[str, float]:
    samples = measure(n)
    med = {k: statistics.median(v) for k, v in samples.items()}
    p90 = {k: statistics.quantiles(v, n=10)[-1] for k, v in samples.items()}
    ratio = med["gen2"] / med["echo"]
    report(f"PC/SC round trip through pcscd (pyscard, {READER}, READ RECORD, N={n} each):")
    report(f"  emulated gen2 card   median {med['gen2']:7.1f} µs   p90 {p90['gen2']:7.1f} µs")
    report(f"  do-nothing EchoCard  median {med['echo']:7.1f} µs   p90 {p90['echo']:7.1f} µs")
    verdict = "ok" if ratio <= GOAL else "ABOVE GOAL"
    report(f"  ratio gen2/echo      {ratio:.3f}  (goal <= {GOAL}: {verdict})")
    return {"gen2_median_us": med["gen2"], "echo_median_us": med["echo"], "ratio": ratio}


if __name__ == "__main__":
    run(print, int(sys.argv[1]) if len(sys.argv) > 1 else N)
