"""Transports and processors against the real emulated card; replay of recorded sessions."""

from __future__ import annotations

import threading

import pytest

from conformance.processors import (Cancelled, Chain, GetResponseProcessor, Trace, TracingProcessor,
                                    WrongLengthRetryProcessor, standard_chain)
from conformance.recording import Session
from conformance.sessions import ReplayTransport, dumps as session_dumps, loads as session_loads, session_from_trace
from conformance.transport import EmulatedTransport, PcscTransport, TransportError, atr_protocol
from simulator import Card

SELECT_SSSE = bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF")
FCI = bytes.fromhex("6F16840F7378312E73682EC9E7BBE1B1A3D5CFA50388010B")
READ_CARD_NUMBER_SHORT = bytes.fromhex("00B2072C05")  # record 7 of SFI 5 is 11 bytes (spec §4.20)


@pytest.fixture
def transport():
    with EmulatedTransport(Card.builtin("gen2")) as t:
        yield t


def test_emulated_transport_atr_and_protocol(transport):
    assert transport.atr == bytes.fromhex("3B6D00000081005353430244035A3C1E02")
    assert transport.protocol == "T=0"  # no TD1 in the t0 ATR
    assert transport.reset() == transport.atr


def test_atr_protocol_reads_td1():
    assert atr_protocol(bytes.fromhex("3BED0000010081005353430244035A3C1E0211")) == "T=1"
    assert atr_protocol(bytes.fromhex("3B6D00000081005353430244035A3C1E02")) == "T=0"


def test_get_response_follows_61xx_and_notes_it(transport):
    trace = Trace()
    chain = Chain(transport, [GetResponseProcessor(trace), TracingProcessor(trace)])
    assert chain.transmit(SELECT_SSSE) == FCI + b"\x90\x00"
    kinds = [(e.kind, e.command.hex().upper() if e.command else e.text) for e in trace.entries]
    assert kinds == [("exchange", SELECT_SSSE.hex().upper()),
                     ("note", "auto GET RESPONSE: 6118 -> 00C0000018"),
                     ("exchange", "00C0000018")]


def test_get_response_can_be_switched_off(transport):
    chain = Chain(transport, [GetResponseProcessor(enabled=False)])
    assert chain.transmit(SELECT_SSSE) == bytes.fromhex("6118")


def test_wrong_length_retry_resends_with_the_card_s_le(transport):
    trace = Trace()
    chain = Chain(transport, [WrongLengthRetryProcessor(trace), TracingProcessor(trace)])
    chain.transmit(SELECT_SSSE)  # SFI 5 lives in SSSE
    chain.transmit(bytes.fromhex("00C0000018"))
    response = chain.transmit(READ_CARD_NUMBER_SHORT)
    assert response[-2:] == b"\x90\x00" and response[:2] == b"\x07\x09" and len(response) == 13
    assert [e.command.hex().upper() for e in trace.exchanges()][-2:] == ["00B2072C05", "00B2072C0B"]
    assert any(e.text.startswith("auto resend with Le from 6C0B") for e in trace.entries)


def test_wrong_length_retry_can_be_switched_off(transport):
    chain = Chain(transport, [GetResponseProcessor(), WrongLengthRetryProcessor(enabled=False)])
    chain.transmit(SELECT_SSSE)
    assert chain.transmit(READ_CARD_NUMBER_SHORT) == bytes.fromhex("6C0B")


class _Always6C:
    """Answers 6C08 to everything: what no emulated card does to a command that is not a C-APDU."""

    def __init__(self):
        self.sent = []

    def transmit(self, apdu: bytes) -> bytes:
        self.sent.append(apdu.hex().upper())
        return b"\x6C\x08"


def test_wrong_length_retry_leaves_a_6cxx_to_a_non_apdu_as_it_is():
    # The tester's 6Cxx link is the terminal's (one piece): a command it cannot rebuild with a new
    # Le (two bytes here) gets the card's 6Cxx back, traced once and not resent.
    wire, trace = _Always6C(), Trace()
    chain = standard_chain(wire, trace)
    assert chain.transmit(b"\x00\xB2") == b"\x6C\x08"
    assert wire.sent == ["00B2"] and len(trace.exchanges()) == 1
    assert chain.transmit(bytes.fromhex("00B2012C05")) == b"\x6C\x08"  # a real APDU: resent once
    assert wire.sent[1:] == ["00B2012C05", "00B2012C08"]


def test_raw_transmit_skips_processors_but_not_tracing(transport):
    trace = Trace()
    chain = standard_chain(transport, trace)
    assert chain.transmit(SELECT_SSSE, raw=True) == bytes.fromhex("6118")
    assert len(trace.exchanges()) == 1 and not [e for e in trace.entries if e.kind == "note"]
    assert chain.transmit(bytes.fromhex("00C0000018"), raw=True) == FCI + b"\x90\x00"


def test_cancel_stops_before_the_next_apdu(transport):
    cancel = threading.Event()
    chain = standard_chain(transport, Trace(), cancel=cancel)
    chain.transmit(bytes.fromhex("0084000008"))
    cancel.set()
    with pytest.raises(Cancelled, match="0084000008"):
        chain.transmit(bytes.fromhex("0084000008"))


def test_tracing_records_transport_errors():
    class Gone:
        def transmit(self, apdu):
            raise TransportError("card removed")

    trace = Trace()
    with pytest.raises(TransportError):
        Chain(Gone(), [TracingProcessor(trace)]).transmit(b"\x00\x84\x00\x00\x08")
    assert trace.entries[0].kind == "error" and trace.entries[0].text == "card removed"


def test_replay_returns_the_recording_and_names_both_on_mismatch():
    session = Session(atr=b"\x3B\x00", exchanges=[(b"\x00\xA4\x00\x00", b"\x90\x00"), (b"\x00\x84\x00\x00\x08", b"\x6A\x82")])
    replay = ReplayTransport(session)
    assert replay.atr == b"\x3B\x00" and replay.reset() == b"\x3B\x00"  # no resets recorded: reset is free
    assert replay.transmit(b"\x00\xA4\x00\x00") == b"\x90\x00"
    with pytest.raises(TransportError) as info:
        replay.transmit(b"\x00\x84\x00\x00\x04")
    assert "recorded 0084000008" in info.value.reason and "sent 0084000004" in info.value.reason
    assert info.value.fatal


def test_replay_of_a_script_without_answers_is_refused():
    replay = ReplayTransport(Session(atr=b"\x3B\x00", exchanges=[(b"\x00\xA4\x00\x00", b"")]))
    with pytest.raises(TransportError, match="without an answer"):
        replay.transmit(b"\x00\xA4\x00\x00")


def test_replay_checks_recorded_resets_and_the_end():
    replay = ReplayTransport(Session(atr=b"\x3B\x00", exchanges=[None, (b"\x00\xA4\x00\x00", b"\x90\x00")]))
    with pytest.raises(TransportError, match="has a reset"):
        replay.transmit(b"\x00\xA4\x00\x00")
    replay = ReplayTransport(Session(atr=b"\x3B\x00", exchanges=[None, (b"\x00\xA4\x00\x00", b"\x90\x00")]))
    replay.reset()
    replay.transmit(b"\x00\xA4\x00\x00")
    with pytest.raises(TransportError, match="recording ended"):
        replay.transmit(b"\x00\xA4\x00\x00")


def test_json_session_round_trip_through_a_trace(transport, tmp_path):
    trace = Trace(atr=transport.atr, protocol=transport.protocol, reader=transport.name)
    chain = standard_chain(transport, trace)
    trace.add("reset", response=transport.reset())
    chain.transmit(SELECT_SSSE)
    path = tmp_path / "session.json"
    path.write_text(session_dumps(trace))
    replay = ReplayTransport(path)
    assert replay.session.exchanges == session_from_trace(trace).exchanges
    assert replay.reset() == transport.atr
    assert replay.transmit(SELECT_SSSE) == bytes.fromhex("6118")
    assert replay.transmit(bytes.fromhex("00C0000018")) == FCI + b"\x90\x00"
    assert replay.remaining == 0


def test_bare_json_list_sessions():
    session = session_loads('[["00A4000002 3F00", "9000"], {"command": "0084000008", "response": "6A82"}]')
    assert session.exchanges == [(bytes.fromhex("00A40000023F00"), b"\x90\x00"), (bytes.fromhex("0084000008"), b"\x6A\x82")]
    with pytest.raises(ValueError, match="bad hex"):
        session_loads('[["00A4ZZ", "9000"]]')


def test_pcsc_transport_reports_a_missing_reader_in_words():
    with pytest.raises(TransportError) as info:
        PcscTransport("no such reader 4711")
    assert info.value.fatal
    assert "4711" in info.value.reason or "PC/SC" in info.value.reason or "pyscard" in info.value.reason


@pytest.mark.parametrize("hresult, fatal, words", [
    (0x80100069, False, "card removed"),          # SCARD_W_REMOVED_CARD
    (0x8010000C - (1 << 32), False, "no card"),   # SCARD_E_NO_SMARTCARD, as pyscard's signed int
    (0x80100017, True, "reader unavailable"),     # SCARD_E_READER_UNAVAILABLE
    (0x8010001D, True, "not running"),            # SCARD_E_NO_SERVICE
])
def test_pcsc_errors_are_told_in_words(hresult, fatal, words):
    from smartcard.Exceptions import CardConnectionException

    from conformance.transport import _pcsc_error

    error = _pcsc_error(CardConnectionException("Failed to transmit", hresult=hresult), "Reader 0")
    assert error.fatal is fatal and words in error.reason and "Reader 0" in error.reason
