"""pyscard -> pcscd -> vpcd -> VirtualReaderSlot -> Card: the path every PC/SC program takes."""

from __future__ import annotations

import statistics
import time

from smartcard.scard import SCARD_LEAVE_CARD, SCARD_RESET_CARD, SCARD_UNPOWER_CARD

from pcsckit import READERS, SELECT_SSSE, Recording, connect, served, tx
from simulator import Card


def test_atr_select_get_response_read_record():
    card = Card.builtin("gen2")
    with served(card):
        conn = connect(READERS[0])
        assert bytes(conn.getATR()) == card.atr
        assert bytes(conn.getATR()).hex().upper() == "3B6D00000081005353430244035A3C1E02"  # spec §6
        # t0 card: SELECT by name answers 61xx; pcscd does not fetch, the test does (spec §4.20)
        assert tx(conn, SELECT_SSSE) == "6118"
        assert tx(conn, "00C0000018") == "6F16840F7378312E73682EC9E7BBE1B1A3D5CFA50388010B9000"
        assert tx(conn, "00B2012C12") == "0110440300D1560000055A3C1E02C64D65FE9000"
        assert tx(conn, "00B2072C05") == "6C0B"
        assert tx(conn, "00B2072C0B") == "07094130313233343536329000"
        conn.disconnect()


def test_long_extended_frame_arrives_intact():
    card = Recording(Card.builtin("gen2"))
    seen = []
    with served(card, trace=lambda c, r, t: seen.append((c, r))):
        conn = connect(READERS[0])
        tx(conn, SELECT_SSSE)
        capdu = bytes.fromhex("00D6000000" "00FE") + bytes((i * 7) & 0xFF for i in range(254))
        assert len(capdu) == 261
        assert tx(conn, capdu) == "6700"  # the card refuses extended length (spec §4.1)
        conn.disconnect()
    assert (capdu, b"\x67\x00") in seen  # every byte reached the card, in order
    assert card.commands[-1] == capdu


def test_reset_by_reconnect_clears_the_verified_pin():
    with served(Card.builtin("gen2")):
        conn = connect(READERS[0])
        tx(conn, SELECT_SSSE)
        assert tx(conn, "0020000003123456") == "9000"
        assert tx(conn, "00200000") == "9000"  # status query: verified in SSSE
        conn.reconnect(disposition=SCARD_LEAVE_CARD)
        assert tx(conn, "00200000") == "9000"  # no reset: still verified
        conn.reconnect(disposition=SCARD_RESET_CARD)
        assert tx(conn, "00200000") != "9000"  # reset: back in the MF, nothing verified
        tx(conn, SELECT_SSSE)
        assert tx(conn, "00200000") == "63C3"
        conn.disconnect()


def test_unpower_on_disconnect_cuts_the_power_and_leave_does_not():
    card = Recording(Card.builtin("gen2"))
    with served(card):
        conn = connect(READERS[0], disposition=SCARD_LEAVE_CARD)
        tx(conn, SELECT_SSSE)
        assert tx(conn, "0020000003123456") == "9000"
        conn.disconnect()  # LEAVE: the card keeps its state for the next connection
        conn = connect(READERS[0], disposition=SCARD_UNPOWER_CARD)
        assert tx(conn, "00200000") == "9000"
        ons = card.events.count("power_on")
        conn.disconnect()  # UNPOWER
        conn = connect(READERS[0])
        assert card.events.count("power_on") == ons + 1  # pcscd had to power it up again
        assert "power_off" in card.events[-2:]
        assert tx(conn, "00200000") != "9000"  # volatile state gone with the power
        conn.disconnect()


def test_two_apdus_in_a_row_keep_the_stream_in_step():
    with served(Card.builtin("gen3")):
        conn = connect(READERS[0])
        for _ in range(50):
            assert tx(conn, SELECT_SSSE) == "6118"
            assert tx(conn, "00C0000018").endswith("9000")
        assert tx(conn, "00C0000018") == "6985"  # buffer used up (PD-04)
        conn.disconnect()


def test_no_delayed_ack_stall():
    # Without TCP_QUICKACK re-armed before each recv, each APDU waits ~40 ms for a delayed ACK
    # (vpcd writes length and payload separately). With it, a round trip is well under 1 ms.
    with served(Card.builtin("gen2")):
        conn = connect(READERS[0])
        times = []
        for _ in range(200):
            t0 = time.perf_counter()
            conn.transmit([0x00, 0xB2, 0x01, 0x2C, 0x00])
            times.append(time.perf_counter() - t0)
        conn.disconnect()
    assert statistics.median(times) < 0.005, f"median round trip {statistics.median(times) * 1000:.1f} ms"
