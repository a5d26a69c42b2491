"""The in-process pyscard reader: pyscard's API over a Card, no pcscd."""

from __future__ import annotations

import pytest

pytest.importorskip("smartcard", reason="pyscard is installed by scripts/setup --test")

from smartcard.CardConnection import CardConnection  # noqa: E402
from smartcard.Exceptions import CardConnectionException, NoCardException  # noqa: E402
from smartcard.reader.ReaderFactory import ReaderFactory  # noqa: E402
from smartcard.scard import SCARD_LEAVE_CARD, SCARD_RESET_CARD, SCARD_UNPOWER_CARD  # noqa: E402
from smartcard.System import readers  # noqa: E402

from simulator import Card  # noqa: E402
from benchmarks.echo import ECHO_ATR, EchoCard  # noqa: E402
from simulator.pcsc_reader import (  # noqa: E402
    READER_NAME,
    EmulatedReader,
    atr_protocol,
    installed,
)

SELECT_SSSE = bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF")


def hexs(data, sw1, sw2):
    return bytes(data).hex().upper() + f"{sw1:02X}{sw2:02X}"


def test_connect_atr_transmit_with_the_echo_card():
    card = EchoCard()
    conn = EmulatedReader(card).createConnection()
    conn.connect()
    assert bytes(conn.getATR()) == ECHO_ATR
    assert conn.getProtocol() == CardConnection.T0_protocol
    assert conn.transmit([0x00, 0xDC, 0x01, 0x04, 0x02, 0xAB, 0xCD]) == ([0xAB, 0xCD], 0x90, 0x00)
    assert list(card.events) == ["power_on"]


def test_gen2_sample_exchange_of_spec_4_20():
    conn = EmulatedReader(Card.builtin("gen2")).createConnection()
    conn.connect()
    assert hexs(*conn.transmit(list(SELECT_SSSE))) == "6118"
    assert hexs(*conn.transmit([0x00, 0xC0, 0x00, 0x00, 0x18])).endswith("A50388010B9000")
    assert hexs(*conn.transmit(list(bytes.fromhex("00B2012C12")))) == (
        "0110440300D1560000055A3C1E02C64D65FE9000"
    )


def test_dispositions_follow_pcscd():
    card = EchoCard()
    reader = EmulatedReader(card)
    conn = reader.createConnection()
    conn.connect()
    conn.reconnect()  # default RESET
    conn.reconnect(disposition=SCARD_UNPOWER_CARD)  # off, then on again
    conn.reconnect(disposition=SCARD_LEAVE_CARD)  # nothing
    assert list(card.events) == ["power_on", "reset", "power_off", "power_on"]
    conn.disconnect()  # the last disposition given (LEAVE) applies, as with pcscd
    assert card.powered
    conn.connect(disposition=SCARD_RESET_CARD)  # already powered: no power-on
    conn.disconnect()
    assert list(card.events)[-1] == "reset"
    conn.connect()  # default disposition UNPOWER
    conn.disconnect()
    assert list(card.events)[-1] == "power_off" and not card.powered
    conn.connect()
    assert list(card.events)[-1] == "power_on"


def test_reset_clears_the_verified_pin():
    conn = EmulatedReader(Card.builtin("gen2")).createConnection()
    conn.connect()
    conn.transmit(list(SELECT_SSSE))
    assert hexs(*conn.transmit(list(bytes.fromhex("0020000003123456")))) == "9000"
    assert hexs(*conn.transmit([0x00, 0x20, 0x00, 0x00])) == "9000"  # status query: verified
    conn.reconnect(disposition=SCARD_LEAVE_CARD)
    assert hexs(*conn.transmit([0x00, 0x20, 0x00, 0x00])) == "9000"  # LEAVE keeps it
    conn.reconnect(disposition=SCARD_RESET_CARD)
    assert hexs(*conn.transmit([0x00, 0x20, 0x00, 0x00])) != "9000"  # back in the MF
    conn.transmit(list(SELECT_SSSE))
    assert hexs(*conn.transmit([0x00, 0x20, 0x00, 0x00])).startswith("63C")


def test_errors_match_the_pcsc_connection():
    card = EchoCard()
    reader = EmulatedReader(card)
    conn = reader.createConnection()
    with pytest.raises(CardConnectionException, match="not connected"):
        conn.transmit([0x00, 0xB0, 0x00, 0x00, 0x00])
    with pytest.raises(CardConnectionException, match="not connected"):
        conn.getATR()
    with pytest.raises(CardConnectionException, match="not connected"):
        conn.reconnect()
    conn.connect()
    with pytest.raises(CardConnectionException, match="Invalid parameter"):
        conn.transmit([])
    reader.remove()
    with pytest.raises(CardConnectionException):
        conn.transmit([0x00, 0xB0, 0x00, 0x00, 0x00])
    with pytest.raises(NoCardException):
        reader.createConnection().connect()
    reader.insert()
    reader.createConnection().connect()


def test_card_faults_answer_6f00():
    class Broken(EchoCard):
        def transmit(self, capdu):
            raise RuntimeError("bug")

    conn = EmulatedReader(Broken()).createConnection()
    conn.connect()
    assert conn.transmit([0x00, 0xB0, 0x00, 0x00, 0x00]) == ([], 0x6F, 0x00)


def test_listed_by_smartcard_system_readers_even_without_pcscd(monkeypatch):
    from smartcard.Exceptions import CardServiceNotFoundException

    def no_pcscd(groups=None):
        raise CardServiceNotFoundException()

    monkeypatch.setattr(ReaderFactory, "factorymethods", [no_pcscd])
    with installed(Card.builtin("gen2")) as reader:
        names = [str(r) for r in readers()]
        assert names == [READER_NAME]
        conn = readers()[0].createConnection()
        conn.connect()
        assert bytes(conn.getATR()) == bytes(reader.card.atr)
    assert ReaderFactory.factorymethods == [no_pcscd]  # restored
    with pytest.raises(CardServiceNotFoundException):
        readers()


def test_atr_protocol():
    assert atr_protocol(bytes.fromhex("3B6D00000081005353430244035A3C1E02")) == CardConnection.T0_protocol
    assert atr_protocol(bytes.fromhex("3BED0000010081005353430244035A3C1E0211")) == CardConnection.T1_protocol
    assert atr_protocol(bytes.fromhex("3B00")) == CardConnection.T0_protocol
