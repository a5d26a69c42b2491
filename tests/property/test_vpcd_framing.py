"""Properties of the vpcd framing (simulator/vpcd.py, spec §8): a frame is a 2-byte big-endian length
and the payload; the reader gets every frame whole however TCP cuts the stream, and a stream cut
short is a ConnectionClosed. Real loopback sockets; the cuts are made by capping each recv."""

from __future__ import annotations

import socket
import threading

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from simulator import Card, vpcd
from simulator.vpcd import VirtualReaderSlot

SETTINGS = settings(max_examples=60, deadline=None)
PAYLOADS = st.lists(st.one_of(st.binary(max_size=300), st.binary(max_size=64).map(lambda b: b * 40)),
                    min_size=1, max_size=6)


class Cut:
    """A real socket whose recv hands out at most the next planned number of bytes: the stream
    arrives in exactly the pieces the plan says (TCP may cut anywhere)."""

    def __init__(self, sock: socket.socket, plan: list[int]):
        self.sock, self.plan, self.sizes = sock, list(plan), []

    def recv(self, n: int) -> bytes:
        cap = self.plan.pop(0) if self.plan else n
        chunk = self.sock.recv(min(n, cap))
        self.sizes.append(len(chunk))
        return chunk

    def setsockopt(self, *args) -> None:  # the quick-ACK re-arm before each recv
        self.sock.setsockopt(*args)


def _stream(payloads: list[bytes]) -> bytes:
    return b"".join(len(p).to_bytes(2, "big") + p for p in payloads)


def _send_in_background(sock: socket.socket, data: bytes) -> threading.Thread:
    thread = threading.Thread(target=sock.sendall, args=(data,), daemon=True)
    thread.start()
    return thread


@SETTINGS
@given(payloads=PAYLOADS, plan=st.lists(st.integers(1, 7), max_size=400))
def test_frames_arrive_whole_whatever_the_recv_boundaries(payloads, plan):
    a, b = socket.socketpair()
    with a, b:
        b.settimeout(10)
        sender = _send_in_background(a, _stream(payloads))
        reader = Cut(b, plan)
        assert [vpcd.read_frame(reader) for _ in payloads] == payloads
        sender.join(10)
        assert sum(reader.sizes) == len(_stream(payloads))  # read exactly the frames, nothing more
        assert all(size <= cap for size, cap in zip(reader.sizes, plan))  # ...cut at least as planned


@SETTINGS
@given(payloads=PAYLOADS)
def test_send_frame_writes_the_length_then_the_payload(payloads):
    a, b = socket.socketpair()
    with a, b:
        b.settimeout(10)
        reader = threading.Thread(target=lambda: received.append(_read_all(b, len(_stream(payloads)))))
        received: list[bytes] = []
        reader.start()
        for payload in payloads:
            vpcd.send_frame(a, payload)
        reader.join(10)
        assert received == [_stream(payloads)]


def _read_all(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        buf += sock.recv(n - len(buf))
    return buf


@SETTINGS
@given(payload=st.binary(max_size=200), keep=st.integers(0, 201))
def test_a_stream_cut_short_is_connection_closed_naming_the_counts(payload, keep):
    frame = _stream([payload])
    keep = min(keep, len(frame) - 1)  # any strict prefix of the frame
    a, b = socket.socketpair()
    with b:
        b.settimeout(10)
        with a:
            a.sendall(frame[:keep])
        with pytest.raises(vpcd.ConnectionClosed, match=r"connection closed after \d+ of \d+ bytes"):
            vpcd.read_frame(b)


def test_a_payload_larger_than_a_frame_is_refused_before_anything_is_sent():
    a, b = socket.socketpair()
    with a, b:
        with pytest.raises(ValueError, match="at most 65535 bytes"):
            vpcd.send_frame(a, bytes(vpcd.MAX_FRAME + 1))
        b.setblocking(False)
        with pytest.raises(BlockingIOError):
            b.recv(1)  # nothing went out


# --- a real slot against a loopback stand-in for vpcd sending frames in random pieces ----------

SELECT_SSSE = bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF")
COMMANDS = [SELECT_SSSE, bytes.fromhex("00B2012C12"), bytes.fromhex("00B2012C00"), bytes.fromhex("00C0000018"),
            bytes.fromhex("0084000008"), bytes.fromhex("00A40000023F00"), bytes.fromhex("00B0000010"),
            bytes.fromhex("80CA000000"), bytes.fromhex("00A4000002DF01")]


@pytest.fixture(scope="module")
def served():
    """(socket of the stand-in vpcd, the card behind the slot, a twin card fed the same APDUs)."""
    def fixed(n: int) -> bytes:
        return bytes(range(n))

    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)
    card, twin = Card.builtin("gen2", random=fixed), Card.builtin("gen2", random=fixed)
    slot = VirtualReaderSlot(card, server.getsockname()[1], stall_timeout=None, insert_notice=None,
                             absent_gap=0).start()
    conn, _ = server.accept()
    conn.settimeout(10)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    vpcd.send_frame(conn, bytes([vpcd.CTRL_POWER_ON]))
    twin.power_on()
    vpcd.send_frame(conn, bytes([vpcd.CTRL_GET_ATR]))
    assert vpcd.read_frame(conn) == twin.atr
    yield conn, twin
    slot.stop()
    conn.close()
    server.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(apdus=st.lists(st.one_of(st.sampled_from(COMMANDS), st.binary(min_size=2, max_size=40)), min_size=1,
                      max_size=5),
       cuts=st.lists(st.integers(1, 5), min_size=1, max_size=8))
def test_the_slot_answers_each_frame_as_the_card_does_however_it_is_cut(served, apdus, cuts):
    conn, twin = served
    stream = _stream(apdus)
    pieces, at = [], 0
    while at < len(stream):  # the stand-in writes the frames in the drawn piece sizes, cycling
        size = cuts[len(pieces) % len(cuts)]
        pieces.append(stream[at:at + size])
        at += size
    for piece in pieces:
        conn.sendall(piece)
    answers = [vpcd.read_frame(conn) for _ in apdus]
    assert answers == [twin.transmit(a) for a in apdus]
