"""The in-process pyscard reader answers exactly as the pcscd path does, APDU for APDU."""

from __future__ import annotations

import pytest
from smartcard.Exceptions import CardConnectionException
from smartcard.scard import SCARD_LEAVE_CARD, SCARD_RESET_CARD, SCARD_UNPOWER_CARD

from pcsckit import READERS, connect, served
from simulator import Card
from simulator.pcsc_reader import EmulatedReader

APDUS = [
    "00A404000F7378312E73682EC9E7BBE1B1A3D5CF",  # SELECT SSSE -> 6118
    "00C0000018",  # GET RESPONSE -> FCI
    "00C0000018",  # again: buffer gone -> 6985
    "00B2012C12",
    "00B2072C05",  # 6Cxx
    "00B2072C0B",
    "00A4020002EF06",
    "00B2083000",
    "00B2090000",
    "0084000008",  # GET CHALLENGE: random, compared by length and SW only
    "0020000003654321",  # wrong PIN -> 63C2
    "0020000003123456",
    "00200000",
    "00D6000000" "00FE" + "00" * 254,  # extended length -> 6700
    "00A4",  # too short
    "FFA40000",  # bad CLA
    "00EE0000",  # unknown INS
    "RESET",
    "00200000",
    "UNPOWER",
    "00B2012C12",
]


def run_script(conn) -> list:
    out = []
    for step in APDUS:
        if step == "RESET":
            conn.reconnect(disposition=SCARD_RESET_CARD)
            out.append(("reset", bytes(conn.getATR()).hex()))
            continue
        if step == "UNPOWER":
            conn.reconnect(disposition=SCARD_UNPOWER_CARD)
            out.append(("unpower", bytes(conn.getATR()).hex()))
            continue
        data, sw1, sw2 = conn.transmit(list(bytes.fromhex(step)))
        if step.startswith("0084"):
            out.append((step, len(data), sw1, sw2))
        else:
            out.append((step, bytes(data).hex(), sw1, sw2))
    with pytest.raises(CardConnectionException):
        conn.transmit([])
    out.append(("atr", bytes(conn.getATR()).hex(), conn.getProtocol()))
    return out


def test_same_answers_through_pcscd_and_in_process():
    via_pcscd_card, in_process_card = Card.builtin("gen2"), Card.builtin("gen2")
    with served(via_pcscd_card):
        conn = connect(READERS[0], disposition=SCARD_LEAVE_CARD)
        via_pcscd = run_script(conn)
        conn.disconnect()
    conn = EmulatedReader(in_process_card).createConnection()
    conn.connect(disposition=SCARD_LEAVE_CARD)
    in_process = run_script(conn)
    conn.disconnect()
    assert in_process == via_pcscd
    assert ("00B2012C12", "0110440300d1560000055a3c1e02c64d65fe", 0x90, 0x00) in in_process
    assert any(step[0] == "0020000003654321" and step[2:] == (0x63, 0xC2) for step in in_process)
