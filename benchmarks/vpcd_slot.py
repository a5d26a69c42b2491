"""The vpcd slot's timings against a loopback stand-in for vpcd: how fast stop() returns while the
slot retries, how long the silence guard waits before answering 6700, how long the card stays away
after leaving. Unit tests prove these behaviours by events; the durations are figures here."""

from __future__ import annotations

import logging
import socket
import time

from simulator import Card, vpcd
from simulator.vpcd import VirtualReaderSlot

ROUNDS = 3


def _listener() -> socket.socket:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)
    return server


def _accept(server: socket.socket) -> socket.socket:
    conn, _ = server.accept()
    conn.settimeout(10)
    return conn


def stop_while_retrying() -> float:
    probe = _listener()
    free = probe.getsockname()[1]
    probe.close()  # nobody listens there: the slot keeps retrying
    slot = VirtualReaderSlot(Card.builtin("gen2"), free).start()
    time.sleep(0.3)  # let it fail a few connects
    started = time.perf_counter()
    slot.stop()
    return time.perf_counter() - started


def silence_guard(stall: float = 0.3) -> float:
    server = _listener()
    slot = VirtualReaderSlot(Card.builtin("gen2"), server.getsockname()[1], stall_timeout=stall,
                             insert_notice=None, absent_gap=0).start()
    try:
        conn = _accept(server)
        started = time.perf_counter()
        vpcd.send_frame(conn, b"\x00")  # a lone control code, no poll after it
        answer = vpcd.read_frame(conn)
        assert answer == b"\x67\x00", answer.hex()
        return time.perf_counter() - started
    finally:
        slot.stop()
        server.close()


def absent_gap(gap: float = 0.6) -> float:
    server = _listener()
    slot = VirtualReaderSlot(Card.builtin("gen2"), server.getsockname()[1], insert_notice=None,
                             absent_gap=gap).start()
    try:
        _accept(server).close()
        left = time.perf_counter()
        _accept(server).close()
        return time.perf_counter() - left
    finally:
        slot.stop()
        server.close()


def run(report=print) -> dict[str, float]:
    logging.getLogger("sscard.vpcd").setLevel(logging.ERROR)  # the guard's warning is expected here
    figures = {
        "stop() while retrying": min(stop_while_retrying() for _ in range(ROUNDS)),
        "6700 after a lone 00 (guard 0.3 s)": min(silence_guard() for _ in range(ROUNDS)),
        "back after leaving (gap 0.6 s)": min(absent_gap() for _ in range(ROUNDS)),
    }
    report("vpcd slot against a loopback vpcd (best of %d, seconds):" % ROUNDS)
    for name, seconds in figures.items():
        report(f"  {name:<36} {seconds:6.3f} s")
    return figures


if __name__ == "__main__":
    run()
