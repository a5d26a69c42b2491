"""The vpcd client against a fake vpcd on loopback: what a real pcscd cannot be made to do."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from simulator import vpcd
from benchmarks.echo import ECHO_ATR, EchoCard
from simulator.vpcd import VirtualReaderSlot

ATR_POLL = b"\x04"


class FakeVpcd:
    """The reader side: listens, accepts the card, sends frames like vpcd (optionally in pieces)."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(5)
        self.port = self.server.getsockname()[1]
        self.conn: socket.socket | None = None

    def accept(self, timeout: float = 5.0) -> socket.socket:
        self.server.settimeout(timeout)
        self.conn, _ = self.server.accept()
        self.conn.settimeout(5)
        self.conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.conn

    def send(self, payload: bytes, piece: int | None = None) -> None:
        frame = len(payload).to_bytes(2, "big") + payload
        if piece is None:
            self.conn.sendall(frame)
            return
        for i in range(0, len(frame), piece):  # vpcd-like split writes, slowed down
            self.conn.sendall(frame[i : i + piece])
            time.sleep(0.002)

    def recv(self) -> bytes:
        return vpcd.read_frame(self.conn)

    def ask(self, payload: bytes, piece: int | None = None) -> bytes:
        self.send(payload, piece)
        return self.recv()

    def silent_for(self, seconds: float) -> bool:
        """True when the card sends nothing for `seconds`."""
        self.conn.settimeout(seconds)
        try:
            self.conn.recv(1, socket.MSG_PEEK)
            return False
        except TimeoutError:
            return True
        finally:
            self.conn.settimeout(5)

    def polls_until_closed(self, seconds: float) -> bool:
        """Poll like pcscd (every 50 ms here); True if the card hangs up within `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                assert self.ask(ATR_POLL) == ECHO_ATR
            except (ConnectionError, OSError):
                return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        if self.conn:
            self.conn.close()
        self.server.close()


@pytest.fixture
def fake():
    f = FakeVpcd()
    yield f
    f.close()


def make_slot(card, fake, **kw):
    # Guards that assume a real pcscd's polling are off unless a test turns them on.
    opts = dict(stall_timeout=None, insert_notice=None, absent_gap=0.0, retry_min=0.02)
    opts.update(kw)
    return VirtualReaderSlot(card, fake.port, **opts)


def test_atr_poll_answered_powered_or_not_and_power_codes_reach_the_card(fake):
    card = EchoCard()
    with make_slot(card, fake):
        fake.accept()
        assert fake.ask(ATR_POLL) == ECHO_ATR  # powered off: still answered (presence poll)
        fake.send(b"\x01")
        assert fake.ask(ATR_POLL) == ECHO_ATR  # no reply to 01: the next frame is the ATR
        fake.send(b"\x02")
        fake.send(b"\x00")
        assert fake.ask(ATR_POLL) == ECHO_ATR
        assert list(card.events) == ["power_on", "reset", "power_off"]
        assert not card.powered


def test_apdu_round_trip_and_trace_skips_polls(fake):
    card, seen = EchoCard(), []
    with make_slot(card, fake, trace=lambda c, r, t: seen.append((c, r, t))):
        fake.accept()
        fake.ask(ATR_POLL)
        assert fake.ask(bytes.fromhex("00DC010403AABBCC")) == bytes.fromhex("AABBCC9000")
        fake.ask(ATR_POLL)
    assert [(c.hex(), r.hex()) for c, r, _ in seen] == [("00dc010403aabbcc", "aabbcc9000")]
    assert seen[0][2] >= 0


def test_frames_arriving_one_byte_at_a_time(fake):
    card = EchoCard()
    capdu = bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF")
    with make_slot(card, fake):
        fake.accept()
        assert fake.ask(ATR_POLL, piece=1) == ECHO_ATR
        assert fake.ask(capdu, piece=1) == capdu[5:] + b"\x90\x00"
        fake.send(b"\x01", piece=1)
        assert fake.ask(ATR_POLL, piece=1) == ECHO_ATR
    assert list(card.commands) == [capdu]
    assert list(card.events)[0] == "power_on"


def test_zero_length_frame_answered_6f00_without_calling_the_card(fake):
    card = EchoCard()
    with make_slot(card, fake):
        fake.accept()
        assert fake.ask(b"") == b"\x6f\x00"
        assert fake.ask(b"\x00\xb0\x00\x00\x00") == b"\x90\x00"  # the stream is still in step
    assert list(card.commands) == [b"\x00\xb0\x00\x00\x00"]


@pytest.mark.parametrize("code", [0x03, 0x05, 0xA0, 0xFF])
def test_one_byte_frame_other_than_a_control_code_is_a_c_apdu_and_answered(fake, code):
    # vpcd's control codes are 00, 01, 02, 04; any other 1-byte frame is a 1-byte C-APDU, and
    # vpcd waits for its answer (issue 12: these went unanswered and froze the reader).
    card = EchoCard()
    with make_slot(card, fake):
        fake.accept()
        assert fake.ask(bytes([code])) == b"\x90\x00"  # EchoCard's answer to anything short
        assert fake.ask(ATR_POLL) == ECHO_ATR  # the stream is still in step
        assert list(card.commands) == [bytes([code])] and list(card.events) == []


def test_one_byte_c_apdu_gets_the_emulated_cards_6700(fake):
    from simulator import Card

    with make_slot(Card.builtin("gen2"), fake):
        fake.accept()
        assert [fake.ask(bytes([code])) for code in (0x03, 0x05, 0xA0, 0xFF)] == [b"\x67\x00"] * 4


def test_silence_after_a_control_code_means_a_one_byte_apdu(fake, caplog):
    # vpcd forwards a 1-byte C-APDU as a bare frame and waits for ever; pcscd's polls never stop,
    # so with the guard on, silence is answered 6700 and the power is left alone.
    card = EchoCard()
    with make_slot(card, fake, stall_timeout=0.3):
        fake.accept()
        fake.send(b"\x01")
        fake.send(ATR_POLL)  # a real power-on: the poll follows, no 6700
        assert fake.recv() == ECHO_ATR
        assert not _stall_warnings(caplog)  # the poll came in time: the guard stayed quiet
        fake.send(b"\x00")  # looks like power off, but nothing follows
        assert fake.recv() == b"\x67\x00"
        # the 6700 came from the silence guard (not from taking 00 for an APDU at once)
        warnings = _stall_warnings(caplog)
        assert len(warnings) == 1 and "control code 00" in warnings[0].getMessage()
        assert card.powered and list(card.events) == ["power_on"]


def _stall_warnings(caplog) -> list:
    return [r for r in caplog.records if r.name == "sscard.vpcd" and "1-byte C-APDU" in r.getMessage()]


def test_largest_frames_both_ways(fake):
    class BigCard(EchoCard):
        def transmit(self, capdu):
            super().transmit(capdu)
            return bytes(range(256)) * 255 + b"\x12" * 253 + b"\x90\x00"  # 65,535 bytes

    card = BigCard()
    capdu = bytes([0x80, 0xDA, 0x00, 0x00]) + bytes(i % 251 for i in range(65531))
    assert len(capdu) == 65535
    with make_slot(card, fake):
        fake.accept()
        answer = fake.ask(capdu)
    assert list(card.commands) == [capdu]
    assert len(answer) == 65535 and answer[-2:] == b"\x90\x00" and answer[:256] == bytes(range(256))


def test_card_faults_become_6f00(fake):
    class Broken(EchoCard):
        def __init__(self, answer):
            super().__init__()
            self.answer = answer

        def transmit(self, capdu):
            if isinstance(self.answer, Exception):
                raise self.answer
            return self.answer

    for answer in (RuntimeError("bug"), b"", b"\x90", b"\x00" * 65536):
        f = FakeVpcd()
        try:
            with make_slot(Broken(answer), f):
                f.accept()
                assert f.ask(b"\x00\xb0\x00\x00\x00") == b"\x6f\x00", answer[:4]
                assert f.ask(ATR_POLL) == ECHO_ATR  # and the card is still there
        finally:
            f.close()


def test_dropped_connection_reconnects_and_cuts_power(fake):
    card = EchoCard()
    slot = make_slot(card, fake).start()
    try:
        fake.accept()
        fake.send(b"\x01")
        assert fake.ask(ATR_POLL) == ECHO_ATR and card.powered
        fake.conn.close()  # pcscd died
        fake.accept(timeout=3)  # the card comes back by itself
        assert fake.ask(ATR_POLL) == ECHO_ATR
        assert slot.connections == 2
        assert list(card.events)[-1] == "power_off" and not card.powered
    finally:
        slot.stop()


def test_remove_stays_out_until_insert(fake):
    card = EchoCard()
    slot = make_slot(card, fake).start()
    try:
        fake.accept()
        assert fake.ask(ATR_POLL) == ECHO_ATR
        slot.remove()
        assert not slot.inserted
        assert fake.conn.recv(1) == b""  # closed from the card's side
        fake.server.settimeout(0.5)
        with pytest.raises(TimeoutError):
            fake.server.accept()  # stays away
        slot.insert()
        fake.accept(timeout=3)
        assert fake.ask(ATR_POLL) == ECHO_ATR and slot.inserted
    finally:
        slot.stop()


def test_absent_gap_keeps_the_slot_empty_long_enough_for_a_poll(fake):
    # A gap far longer than the look below: without it the card would be back at once (the
    # retry delay is 50 ms), so a connection inside the look means the gap was not kept.
    slot = make_slot(EchoCard(), fake, absent_gap=3.0).start()
    try:
        fake.accept()
        fake.ask(ATR_POLL)
        fake.conn.close()
        with pytest.raises(TimeoutError):
            fake.accept(timeout=0.5)  # a poll here finds the slot empty
        assert slot.connections == 1
        fake.accept(timeout=10)  # and after the gap the card comes back by itself
        assert fake.ask(ATR_POLL) == ECHO_ATR and slot.connections == 2
    finally:
        slot.stop()


def test_the_absent_gap_is_the_slots_own_and_kept_across_stop_and_start(fake):
    # The gap once lived in a module dict keyed by port, outliving its slot: a fresh slot on the
    # same port waited out a stopped one's gap (30 s here, far beyond the 10 s accept below).
    first = make_slot(EchoCard(), fake, absent_gap=30.0).start()
    fake.accept()
    first.stop()
    second = make_slot(EchoCard(), fake, absent_gap=30.0).start()
    try:
        fake.accept(timeout=10)
        assert fake.ask(ATR_POLL) == ECHO_ATR and second.connections == 1
    finally:
        second.stop()
    first.start()  # the same slot again: its own card left just now, so it stays away
    try:
        with pytest.raises(TimeoutError):
            fake.accept(timeout=0.5)
    finally:
        first.stop()


def test_insertion_not_noticed_is_redone_once(fake):
    # Polls only, never a power-on: the card leaves and comes back once, then stays.
    slot = make_slot(EchoCard(), fake, insert_notice=0.3, absent_gap=0.1).start()
    try:
        fake.accept()
        assert fake.polls_until_closed(1.5)
        fake.accept(timeout=2)
        assert not fake.polls_until_closed(1.0)
        assert slot.connections == 2
    finally:
        slot.stop()


def test_power_on_counts_as_noticed(fake):
    slot = make_slot(EchoCard(), fake, insert_notice=0.3).start()
    try:
        fake.accept()
        fake.send(b"\x01")
        assert not fake.polls_until_closed(1.0)
        assert slot.connections == 1
    finally:
        slot.stop()


def test_ready_after_power_on_and_atr(fake):
    slot = make_slot(EchoCard(), fake, insert_notice=2.0).start()
    try:
        fake.accept()
        fake.ask(ATR_POLL)
        assert not slot.wait_ready(0.1)
        fake.send(b"\x01")
        fake.ask(ATR_POLL)
        assert slot.wait_ready(1.0)
    finally:
        slot.stop()


def test_socket_options_and_quickack_before_every_recv(monkeypatch):
    calls = []

    class Sock:
        data = bytearray(b"\x00\x03abc")

        def setsockopt(self, level, opt, value):
            calls.append(("opt", opt))

        def recv(self, n):
            calls.append(("recv", n))
            return bytes([self.data.pop(0)]) if self.data else b""

    assert vpcd.read_frame(Sock()) == b"abc"
    if getattr(socket, "TCP_QUICKACK", None) is not None:
        recvs = [i for i, c in enumerate(calls) if c[0] == "recv"]
        assert len(recvs) == 5
        assert all(calls[i - 1] == ("opt", socket.TCP_QUICKACK) for i in recvs)
    with pytest.raises(vpcd.ConnectionClosed):
        vpcd.read_frame(Sock())


def test_nodelay_on_the_live_socket(fake):
    slot = make_slot(EchoCard(), fake).start()
    try:
        fake.accept()
        assert slot.wait_connected(2)
        assert slot._sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        slot.stop()


def test_non_loopback_host_refused_unless_allowed():
    with pytest.raises(ValueError, match="non-loopback"):
        VirtualReaderSlot(EchoCard(), host="192.0.2.7")
    VirtualReaderSlot(EchoCard(), host="192.0.2.7", allow_remote=True)  # not started
    VirtualReaderSlot(EchoCard(), host="localhost")
    VirtualReaderSlot(EchoCard(), host="::1")


def test_stop_ends_the_thread_even_with_no_vpcd(caplog):
    caplog.set_level(logging.DEBUG, logger="sscard.vpcd")
    port = socket.create_server(("127.0.0.1", 0))
    free = port.getsockname()[1]
    port.close()  # nobody listens: the slot keeps retrying
    slot = VirtualReaderSlot(EchoCard(), free).start()
    deadline = time.monotonic() + 10  # wait (not assert) until the slot is in its retry loop
    while not any("not reachable" in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, "the slot never tried to connect"
        time.sleep(0.01)
    thread = slot._thread
    slot.stop()  # how fast it returns is a figure of `make bench`, not asserted here
    assert not thread.is_alive() and slot._thread is None
    assert slot.connections == 0
