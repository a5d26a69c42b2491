"""The relay behind `sscard record`, with an in-process card (no pcscd): what it forwards, what it
records, and what happens when the real card goes away."""

from __future__ import annotations

import json
import os
import stat
import time

import pytest

import simulator.storage as storage

from conformance.record import CardRelay, refuse_loop, resolve_reader, write_session
from conformance.sessions import loads
from conformance.transport import EmulatedTransport, TransportError
from simulator import Card

SELECT_SSSE = bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF")
GET_RESPONSE = bytes.fromhex("00C0000018")
READ_EF05_1 = bytes.fromhex("00B2012C12")
READ_EF05_1_SHORT_LE = bytes.fromhex("00B2012C05")  # the card answers 6C12 (T=0)
GEN2_ATR = bytes.fromhex("3B6D00000081005353430244035A3C1E02")


class Pocket:
    """The reader of the "physical" card: holds a Card that can be pulled out."""

    def __init__(self):
        self.card = Card.builtin("gen2")
        self.inserted = True
        self.commands: list[bytes] = []
        self.card_times: list[float] = []
        self.opened = 0

    def open(self) -> "PocketTransport":
        if not self.inserted:
            raise TransportError("no card in the reader (pocket)")
        self.opened += 1
        return PocketTransport(self)


class PocketTransport(EmulatedTransport):
    """EmulatedTransport that fails the way PcscTransport does once its card is pulled out."""

    def __init__(self, pocket: Pocket):
        self.pocket = pocket
        super().__init__(pocket.card, "pocket reader")

    def _check(self):
        if not self.pocket.inserted:
            raise TransportError("card removed (pocket reader)")

    @property
    def atr(self) -> bytes:
        self._check()
        return super().atr

    def transmit(self, apdu: bytes) -> bytes:
        self._check()
        self.pocket.commands.append(bytes(apdu))
        started = time.perf_counter()
        try:
            return super().transmit(apdu)
        finally:  # the card's own time, which the relay's recorded duration must cover
            self.pocket.card_times.append(time.perf_counter() - started)

    def reset(self) -> bytes:
        self._check()
        return super().reset()


def reference(*apdus: bytes) -> list[bytes]:
    """What a fresh gen2 card answers to `apdus`, straight from the card (no relay)."""
    card = Card.builtin("gen2")
    card.power_on()
    return [card.transmit(a) for a in apdus]


def session_of(relay: CardRelay):
    return loads(relay.session_text(), "relay")


def test_relay_forwards_raw_answers_and_records_them_with_one_reset_per_power_up():
    pocket = Pocket()
    relay = CardRelay(pocket.open)
    assert relay.atr == GEN2_ATR and relay.reader == "pocket reader"
    # pcscd's insertion dance: power on, idle power off, power on when the application connects
    assert relay.power_on() == GEN2_ATR
    relay.power_off()
    assert relay.power_on() == GEN2_ATR
    apdus = [SELECT_SSSE, GET_RESPONSE, READ_EF05_1, READ_EF05_1_SHORT_LE]
    answers = [relay.transmit(a) for a in apdus]
    assert answers == reference(*apdus)
    assert answers[0] == bytes.fromhex("6118") and answers[3] == bytes.fromhex("6C12")  # raw: not followed
    assert pocket.commands == apdus  # nothing added on the way (no GET RESPONSE, no resend)

    assert relay.reset() == GEN2_ATR
    after_reset = relay.transmit(READ_EF05_1)
    assert after_reset == bytes.fromhex("6A82")  # the warm reset reached the card: no DF selected

    session = session_of(relay)
    assert session.atr == GEN2_ATR and session.reader == "pocket reader" and session.protocol == "T=0"
    assert session.exchanges == [None, *zip(apdus, answers), None, (READ_EF05_1, after_reset)]
    assert relay.exchanges == 5 and relay.resets == 2


def test_power_off_disconnects_and_power_on_starts_the_card_cold():
    pocket = Pocket()
    relay = CardRelay(pocket.open)
    relay.power_on()
    assert relay.transmit(SELECT_SSSE) == bytes.fromhex("6118")
    relay.power_off()
    assert not pocket.card.powered  # the power-off reached the real card
    assert relay.transmit(READ_EF05_1) == bytes.fromhex("6F00")  # no power, no answer
    relay.power_on()
    assert pocket.card.powered and pocket.opened == 3  # construction, first and second power-on
    assert relay.transmit(READ_EF05_1) == bytes.fromhex("6A82")  # cold start: SSSE no longer selected
    assert session_of(relay).exchanges == [None, (SELECT_SSSE, b"\x61\x18"), None,
                                           (READ_EF05_1, b"\x6a\x82")]


def test_entries_carry_iso_times_and_durations():
    pocket = Pocket()
    relay = CardRelay(pocket.open)
    relay.power_on()
    outer = []  # the time of each relay.transmit call, measured around it
    for apdu in (SELECT_SSSE, GET_RESPONSE):
        started = time.perf_counter()
        relay.transmit(apdu)
        outer.append(time.perf_counter() - started)
    doc = json.loads(relay.session_text())
    assert doc["format"] == "sscard-session/1" and doc["recorded_by"] == "sscard record"
    reset, *exchanges = doc["exchanges"]
    assert reset == {"reset": True, "atr": GEN2_ATR.hex().upper(), "time": reset["time"]}
    times = [reset["time"]] + [e["time"] for e in exchanges]
    assert all(t.endswith("+00:00") and "T" in t for t in times)
    assert times == sorted(times)
    # a duration is the card's answer time in seconds: it covers the card's own work and fits in
    # the relay call around it (the report rounds to 1 us); ms or a clock reading would not fit
    durations = [e["duration"] for e in exchanges]
    assert len(durations) == len(pocket.card_times) == len(outer) == 2
    for duration, inner, around in zip(durations, pocket.card_times, outer):
        assert inner - 1e-6 <= duration <= around + 1e-6, (inner, duration, around)


def test_removal_answers_6F00_ends_the_recording_and_keeps_what_came_before():
    pocket = Pocket()
    relay = CardRelay(pocket.open)
    relay.power_on()
    assert relay.transmit(SELECT_SSSE) == bytes.fromhex("6118")
    pocket.inserted = False
    assert relay.transmit(GET_RESPONSE) == bytes.fromhex("6F00")
    assert relay.ended and "card removed" in relay.ended and relay.ended_event.is_set()
    pocket.inserted = True  # even with a card back, the recording stays ended
    assert relay.transmit(GET_RESPONSE) == bytes.fromhex("6F00")
    assert relay.power_on() == GEN2_ATR and relay.transmit(READ_EF05_1) == bytes.fromhex("6F00")
    assert pocket.commands == [SELECT_SSSE]
    assert not relay.poll()
    relay.close("stopped (SIGTERM)")
    doc = json.loads(relay.session_text())
    assert "card removed" in doc["ended"]  # the removal is the reason, not the later stop
    assert session_of(relay).exchanges == [None, (SELECT_SSSE, b"\x61\x18")]


def test_poll_notices_a_removal_between_commands():
    pocket = Pocket()
    relay = CardRelay(pocket.open)
    relay.power_on()
    assert relay.poll()
    pocket.inserted = False
    assert not relay.poll() and "card removed" in relay.ended


def test_poll_asks_the_reader_while_the_card_is_powered_off():
    pocket, present = Pocket(), [True]
    relay = CardRelay(pocket.open, present=lambda: present[0])
    relay.power_off()
    assert relay.poll()
    present[0] = False
    assert not relay.poll() and relay.ended


def test_a_failed_power_on_or_reset_ends_the_recording():
    pocket = Pocket()
    relay = CardRelay(pocket.open)
    relay.power_off()
    pocket.inserted = False
    assert relay.power_on() == GEN2_ATR  # vpcd still gets an ATR: it has no timeouts
    assert "power-on failed" in relay.ended

    pocket = Pocket()
    relay = CardRelay(pocket.open)
    relay.power_on()
    pocket.inserted = False
    relay.reset()
    assert "reset failed" in relay.ended


def test_no_card_at_start_raises():
    pocket = Pocket()
    pocket.inserted = False
    with pytest.raises(TransportError, match="no card"):
        CardRelay(pocket.open)


def test_reader_names_resolve_like_pcsc_transport_and_loops_are_refused():
    names = ["Virtual PCD 00 00", "Virtual PCD 00 01", "ACS ACR39U ICC Reader 00 00"]
    assert resolve_reader("Virtual PCD 00 01", names) == "Virtual PCD 00 01"
    assert resolve_reader("acr39", names) == "ACS ACR39U ICC Reader 00 00"
    with pytest.raises(ValueError, match="several readers"):
        resolve_reader("Virtual PCD", names)
    with pytest.raises(ValueError, match="no reader"):
        resolve_reader("Omnikey", names)
    with pytest.raises(ValueError, match="own virtual reader"):
        refuse_loop("Virtual PCD 00 00", 0)
    with pytest.raises(ValueError, match="own virtual reader"):
        refuse_loop("Virtual PCD 00 01", 1)
    refuse_loop("Virtual PCD 00 01", 0)
    refuse_loop("ACS ACR39U ICC Reader 00 00", 0)


def test_write_session_is_atomic_and_private(tmp_path, monkeypatch):
    target = tmp_path / "s.json"
    write_session(target, "first\n")
    assert target.read_text() == "first\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(storage.os, "replace", broken_replace)  # the one atomic writer sessions use
    with pytest.raises(OSError, match="disk full"):
        write_session(target, "second\n")
    assert target.read_text() == "first\n"
    assert os.listdir(tmp_path) == ["s.json"]  # no temporary file left behind
