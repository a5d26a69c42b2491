"""1-byte C-APDUs through the real pcscd and vpcd get the card's answer (issue 12)."""

from __future__ import annotations

from pcsckit import READERS, Recording, connect, served, tx
from simulator import Card


def test_one_byte_apdus_are_answered_through_pcscd():
    card = Recording(Card.builtin("gen2"))
    with served(card, 0):
        conn = connect(READERS[0])
        answers = {code: tx(conn, bytes([code])) for code in (0x03, 0x05, 0xA0, 0xFF)}
        assert answers == {0x03: "6700", 0x05: "6700", 0xA0: "6700", 0xFF: "6700"}
        assert card.commands == [b"\x03", b"\x05", b"\xa0", b"\xff"]  # they reached the card
        # and the reader still works afterwards
        assert tx(conn, "00A404000F7378312E73682EC9E7BBE1B1A3D5CF") == "6118"
