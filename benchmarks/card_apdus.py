"""In-process µs per APDU for the card engine (median of repeated batches)."""

from __future__ import annotations

import statistics
import time

from simulator import Card

BATCH = 2000
ROUNDS = 15


def _median_us(fn, batch: int = BATCH, rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        for _ in range(batch):
            fn()
        times.append((time.perf_counter_ns() - t0) / batch / 1000)
    return statistics.median(times)


def measure() -> dict[str, float]:
    card = Card.builtin("gen2")
    card.power_on()
    t = card.transmit
    select_ssse = bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF")
    read_record = bytes.fromhex("00B2012C12")
    challenge = bytes.fromhex("0084000008")
    verify = bytes.fromhex("0020000003123456")
    assert t(select_ssse)[-2:] == b"\x61\x18" and t(read_record)[-2:] == b"\x90\x00"
    assert t(verify) == b"\x90\x00"
    return {
        "SELECT by name": _median_us(lambda: t(select_ssse)),
        "READ RECORD": _median_us(lambda: t(read_record)),
        "GET CHALLENGE": _median_us(lambda: t(challenge)),
        "VERIFY": _median_us(lambda: t(verify)),
    }


def run(report=print) -> dict[str, float]:
    figures = measure()
    report("card engine, in-process (median µs per APDU, gen2 sample card, in memory):")
    for name, us in figures.items():
        report(f"  {name:<16} {us:7.2f} µs")
    return figures


if __name__ == "__main__":
    run()
