"""The card side of the vpcd protocol: plugs a Card into pcscd's "Virtual PCD" reader (spec §8).

vpcd (the IFD handler loaded by pcscd) listens on TCP; the card connects. Frames both ways are a
2-byte big-endian length and a payload. A 1-byte payload 00, 01, 02 or 04 from vpcd is a control
code (power off, power on, reset: no reply; get ATR: reply with the ATR, also pcscd's presence poll
every ~400 ms). Anything else, other 1-byte payloads included, is a C-APDU, answered with the R-APDU. vpcd has no timeouts, so this side always
answers, with 6F00 when something inside went wrong.
"""

from __future__ import annotations

import ipaddress
import logging
import select
import socket
import threading
import time
from typing import Callable

log = logging.getLogger("sscard.vpcd")

DEFAULT_PORT = 35963  # slot 0 ("Virtual PCD 00 00"); slot i listens on DEFAULT_PORT + i
MAX_FRAME = 0xFFFF
CTRL_POWER_OFF, CTRL_POWER_ON, CTRL_RESET, CTRL_GET_ATR = 0x00, 0x01, 0x02, 0x04
CONTROL_CODES = frozenset((CTRL_POWER_OFF, CTRL_POWER_ON, CTRL_RESET, CTRL_GET_ATR))
SW_FAULT = b"\x6f\x00"
SW_WRONG_LENGTH = b"\x67\x00"
POLL_SILENCE = 3.0  # pcscd polls the ATR every 0.4 s; this much silence after a control code is odd

Trace = Callable[[bytes, bytes, float], None]  # (C-APDU, R-APDU, seconds spent in the card)


ABSENT_GAP = 1.0  # stay away this long after leaving (2.5 of pcscd's 0.4 s presence polls)
INSERT_NOTICE = 1.5  # pcscd powers a card up within one poll of its insertion


class _NotNoticed(Exception):
    """pcscd kept polling but never powered the card on: it did not see the insertion."""


class ConnectionClosed(ConnectionError):
    """The peer closed the connection (possibly mid-frame)."""


def slot_port(slot: int) -> int:
    """TCP port of vpcd slot `slot` (reader "Virtual PCD 00 0<slot>")."""
    if not 0 <= slot < 100:
        raise ValueError(f"vpcd slot must be 0-99, got {slot}")
    return DEFAULT_PORT + slot


def is_loopback(host: str) -> bool:
    """True when every address `host` resolves to is a loopback address."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def tune_socket(sock: socket.socket) -> None:
    """Disable Nagle: vpcd and we exchange tiny frames and wait for each answer."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


_QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux only


def _quickack(sock: socket.socket) -> None:
    # Debian's vpcd sends length and payload in two writes; with delayed ACK the second write
    # waits ~40 ms for our ACK. Linux clears QUICKACK after a while, so re-arm it before each recv.
    if _QUICKACK is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        except OSError:
            pass


def recv_exact(sock: socket.socket, n: int) -> bytes:
    """Read exactly n bytes; TCP may deliver a frame in any number of pieces."""
    buf = bytearray()
    while len(buf) < n:
        _quickack(sock)
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionClosed(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def read_frame(sock: socket.socket) -> bytes:
    size = int.from_bytes(recv_exact(sock, 2), "big")
    return recv_exact(sock, size) if size else b""


def send_frame(sock: socket.socket, payload: bytes) -> None:
    if len(payload) > MAX_FRAME:
        raise ValueError(f"vpcd frame payload is at most {MAX_FRAME} bytes, got {len(payload)}")
    # One buffer, one send: length and payload never travel in separate segments.
    sock.sendall(len(payload).to_bytes(2, "big") + payload)


class VirtualReaderSlot:
    """Serves one card to one vpcd slot from a background thread; reconnects by itself.

    `inserted` is True after start() until remove(); while inserted the slot keeps (re)connecting
    to vpcd, so a restarted pcscd finds the card again. Every call into the card holds
    `card_lock`; pass a shared lock when something else drives the same card.
    """

    def __init__(
        self,
        card,
        port: int = DEFAULT_PORT,
        host: str = "127.0.0.1",
        *,
        allow_remote: bool = False,
        trace: Trace | None = None,
        card_lock: threading.RLock | None = None,
        retry_min: float = 0.05,
        retry_max: float = 0.5,
        stall_timeout: float | None = POLL_SILENCE,
        insert_notice: float | None = INSERT_NOTICE,
        absent_gap: float = ABSENT_GAP,
    ):
        if not allow_remote and not is_loopback(host):
            raise ValueError(
                f"refusing to serve a card to non-loopback host {host!r}: "
                "anyone there could drive the card (pass allow_remote=True if you mean it)"
            )
        if not 0 < port <= 0xFFFF:
            raise ValueError(f"bad TCP port {port}")
        self.card = card
        self.host, self.port = host, port
        self.trace = trace
        self.card_lock = card_lock or threading.RLock()
        self.retry_min, self.retry_max = retry_min, retry_max
        # The three pcscd-behaviour guards below; a test against a fake vpcd can turn them off.
        self.stall_timeout = stall_timeout
        self.insert_notice = insert_notice
        self.absent_gap = absent_gap
        self.connections = 0  # successful connects so far, for tests and the doctor
        self._inserted = False
        self._stopping = threading.Event()
        self._wake = threading.Condition()
        self._connected = threading.Event()
        self._ready = threading.Event()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._last_atr = b"\x3b\x00"  # replaced by the card's ATR; only used if card.atr fails
        # When this slot's card last left (monotonic): it stays away absent_gap after that. Each
        # slot's own: a new slot on the port is its starter's to time (wait until pcscd sees the
        # reader empty, as tests/integration/pcsckit.wait_slot_empty does).
        self._gone_at: float | None = None

    # -- public control -------------------------------------------------------------------

    @property
    def inserted(self) -> bool:
        return self._inserted

    @property
    def connected(self) -> bool:
        """True while a TCP connection to vpcd is open (pcscd may not have polled it yet)."""
        return self._connected.is_set()

    def wait_connected(self, timeout: float = 5.0) -> bool:
        return self._connected.wait(timeout)

    @property
    def ready(self) -> bool:
        """True once pcscd has taken the card in (powered it or sent an APDU on this connection)."""
        return self._ready.is_set()

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """Wait until pcscd has noticed the card, so SCardConnect will find it."""
        return self._ready.wait(timeout)

    def start(self) -> "VirtualReaderSlot":
        if self._thread is not None:
            raise RuntimeError("slot already started")
        self._stopping.clear()
        self._inserted = True
        self._thread = threading.Thread(
            target=self._run, name=f"vpcd-slot-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Disconnect and end the thread. The card is left to its owner (not closed)."""
        self._stopping.set()
        self._inserted = False
        self._drop_connection()
        with self._wake:
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def insert(self) -> None:
        with self._wake:
            self._inserted = True
            self._wake.notify_all()

    def remove(self) -> None:
        """Pull the card: close the socket (vpcd sees no card) and stay away until insert()."""
        with self._wake:
            self._inserted = False
        self._drop_connection()

    def __enter__(self) -> "VirtualReaderSlot":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the connection loop --------------------------------------------------------------

    def _drop_connection(self) -> None:
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in recv
            except OSError:
                pass

    def _run(self) -> None:
        delay, may_reinsert = self.retry_min, True
        while not self._stopping.is_set():
            with self._wake:
                while not self._inserted and not self._stopping.is_set():
                    self._wake.wait()
            if self._stopping.is_set():
                break
            # pcscd notices a removal only if one of its polls (every 0.4 s) finds no card; come
            # back sooner and it may keep a stale "absent" state for ever (seen on pcsc-lite 2).
            gone = self._gone_at
            if gone is not None and self._stopping.wait(gone + self.absent_gap - time.monotonic()):
                break
            try:
                sock = socket.create_connection((self.host, self.port), timeout=2.0)
            except OSError as exc:
                log.debug("vpcd %s:%d not reachable (%s); retry in %.2fs", self.host, self.port, exc, delay)
                self._stopping.wait(delay)
                delay = min(delay * 2, self.retry_max)
                continue
            delay = self.retry_min
            sock.settimeout(None)
            tune_socket(sock)
            self._sock = sock
            if not self._inserted or self._stopping.is_set():  # removed while connecting
                self._close(sock)
                continue
            self.connections += 1
            self._connected.set()
            log.info("card connected to vpcd %s:%d", self.host, self.port)
            try:
                self._serve(sock, notice_within=self.insert_notice if may_reinsert else None)
                may_reinsert = True
            except _NotNoticed:
                # Only polls, no power-on: pcscd missed the insertion. Pull the card long
                # enough for a poll to see the slot empty, then insert it again (once).
                log.info("pcscd did not notice the card on %d; inserting it again", self.port)
                may_reinsert = False
            except (OSError, ValueError) as exc:
                log.info("vpcd %s:%d connection ended: %s", self.host, self.port, exc)
                may_reinsert = True
            finally:
                self._close(sock)
            # Leaving the reader cuts the card's power, as pulling a real card does.
            self._card_call("power_off")

    def _close(self, sock: socket.socket) -> None:
        self._connected.clear()
        self._ready.clear()
        self._sock = None
        self._gone_at = time.monotonic()
        try:
            sock.close()
        except OSError:
            pass

    def _serve(self, sock: socket.socket, notice_within: float | None) -> None:
        deadline = None if notice_within is None else time.monotonic() + notice_within
        powered = False
        while True:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([sock], [], [], left)[0]:
                    raise _NotNoticed()
            payload = read_frame(sock)
            if len(payload) == 1 and payload[0] in CONTROL_CODES:  # 03, 05, A0, FF: 1-byte C-APDUs
                self._control(sock, payload[0])
                if payload[0] == CTRL_POWER_ON:
                    powered, deadline = True, None
                elif payload[0] == CTRL_GET_ATR and (powered or notice_within is None):
                    # pcscd reads the ATR after powering up, then publishes "card present".
                    self._ready.set()
                continue
            deadline = None  # an APDU: pcscd is using the card, so it saw it
            self._ready.set()
            started = time.perf_counter()
            rapdu = self._transmit(payload)
            send_frame(sock, rapdu)
            if self.trace is not None:
                try:
                    self.trace(payload, rapdu, time.perf_counter() - started)
                except Exception:  # a broken trace must not take the card away
                    log.exception("trace callback failed")

    def _control(self, sock: socket.socket, code: int) -> None:
        if code == CTRL_GET_ATR:
            send_frame(sock, self._atr())
            return
        action = {CTRL_POWER_ON: "power_on", CTRL_POWER_OFF: "power_off", CTRL_RESET: "reset"}[code]
        if self.stall_timeout and not select.select([sock], [], [], self.stall_timeout)[0]:
            # A 1-byte C-APDU (an application may send one) arrives looking exactly like a
            # control code, and vpcd then waits for an answer for ever, freezing the reader in
            # pcscd. pcscd's presence poll never stops, so silence means that happened: answer
            # as a card would, and leave the power alone. Until the next frame nobody else can
            # reach the card, so applying the action only then changes nothing pcscd can see.
            log.warning("no frame %.1fs after control code %02X: taking it for a 1-byte C-APDU, "
                        "answering 6700", self.stall_timeout, code)
            send_frame(sock, SW_WRONG_LENGTH)
            return
        log.info("%s (%d)", action.replace("_", " "), self.port)
        self._card_call(action)

    def _atr(self) -> bytes:
        try:
            with self.card_lock:
                atr = bytes(self.card.atr)
            if 1 <= len(atr) <= 33:
                self._last_atr = atr
            else:
                log.error("card ATR has %d bytes; vpcd takes 1-33", len(atr))
        except Exception:
            log.exception("card.atr failed")
        return self._last_atr

    def _transmit(self, capdu: bytes) -> bytes:
        if not capdu:
            return SW_FAULT  # nothing to execute, but vpcd still waits for an answer
        try:
            with self.card_lock:
                rapdu = bytes(self.card.transmit(capdu))
        except Exception:
            log.exception("card.transmit failed for %s", capdu.hex().upper())
            return SW_FAULT
        if len(rapdu) < 2 or len(rapdu) > MAX_FRAME:
            log.error("card gave an R-APDU of %d bytes; answering 6F00", len(rapdu))
            return SW_FAULT
        return rapdu

    def _card_call(self, name: str) -> None:
        try:
            with self.card_lock:
                result = getattr(self.card, name)()
            if name != "power_off" and isinstance(result, (bytes, bytearray)) and 1 <= len(result) <= 33:
                self._last_atr = bytes(result)
        except Exception:
            log.exception("card.%s failed", name)
