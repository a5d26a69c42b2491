"""Two cards in two readers stay apart; a card survives pcscd being killed and restarted."""

from __future__ import annotations

import contextlib
import os
import signal
import time

from pcsckit import READERS, SELECT_SSSE, connect, restart_pcscd, served, tx
from simulator import Card
from simulator.image import save_image
from sscard.doctor import pcscd_pid


def image(tmp_path, name, profile="gen2"):
    path = tmp_path / f"{name}.yaml"
    save_image(path, Card.builtin(profile).export_image())
    return path


def forget(conn) -> None:
    """Drop a pyscard connection whose pcscd died, so its __del__ does not complain later."""
    pcsc = conn.component
    pcsc.hcard = None
    with contextlib.suppress(Exception):
        pcsc.release()
    pcsc.hcontext = None


def test_two_slots_are_isolated(tmp_path):
    a_path, b_path = image(tmp_path, "a"), image(tmp_path, "b")
    b_before = b_path.read_bytes()
    a, b = Card.from_image(a_path), Card.from_image(b_path)
    with served(a, 0), served(b, 1):
        ca, cb = connect(READERS[0]), connect(READERS[1])
        for c in (ca, cb):
            assert tx(c, SELECT_SSSE) == "6118"
        assert tx(ca, "805E010007123456FF246810") == "9000"  # CHANGE PIN on card A only
        assert tx(ca, "0020000003246810") == "9000"
        assert tx(cb, "0020000003246810") == "63C2"  # B still has the old PIN
        assert tx(cb, "0020000003123456") == "9000"
        assert tx(ca, "00200000") == "9000" and tx(cb, "00200000") == "9000"
        tx(ca, "00A4000002EF06")  # A's current file moves; B's does not
        assert tx(cb, "00B2012C12") == "0110440300D1560000055A3C1E02C64D65FE9000"
        ca.disconnect()
        cb.disconnect()
    # The write reached A's image on disk, and B's image is byte for byte what it was.
    reloaded = Card.from_image(a_path)
    reloaded.power_on()
    reloaded.transmit(SELECT_SSSE)
    assert reloaded.transmit(bytes.fromhex("0020000003246810")) == b"\x90\x00"
    assert b_path.read_bytes() == b_before


def test_card_comes_back_after_pcscd_is_killed():
    card = Card.builtin("gen2")
    try:
        with served(card) as slot:
            conn = connect(READERS[0])
            assert tx(conn, SELECT_SSSE) == "6118"
            pid = pcscd_pid()
            assert pid, "pcscd pid not found"
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while pcscd_pid() == pid and time.monotonic() < deadline:
                time.sleep(0.05)
            assert pcscd_pid() != pid
            forget(conn)
            restart_pcscd()
            # No action on the card side: the slot reconnects by itself.
            assert slot.wait_ready(15), "card did not come back after the pcscd restart"
            assert slot.connections >= 2
            conn = connect(READERS[0])
            assert bytes(conn.getATR()) == card.atr
            assert tx(conn, SELECT_SSSE) == "6118"  # a fresh session: power was cut
            assert tx(conn, "00C0000018").endswith("9000")
            assert tx(conn, "00B2012C12") == "0110440300D1560000055A3C1E02C64D65FE9000"
            conn.disconnect()
    finally:
        restart_pcscd()  # later tests need pcscd whatever happened above
