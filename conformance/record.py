"""What `sscard record` (sscard/record_cmd.py) calls: relay a physical card through a virtual reader
and record the session.

The card in PC/SC reader NAME is put into a vpcd slot ("Virtual PCD 00 0<slot>") through
CardRelay, a card object for simulator.vpcd.VirtualReaderSlot. Every application that uses the
virtual reader talks to the real card, byte for byte: the relay adds nothing (no GET RESPONSE after
61xx, no resend after 6Cxx), so the application sees exactly what the card says, and the recording
holds exactly what was on the wire. Power events are forwarded too: a power-off disconnects from
the real card (pcscd powers it down), a power-on connects again (a cold start), a reset is a warm
reset. On Ctrl-C or SIGTERM, or when the real card is removed, the session is written atomically
as a "sscard-session/1" JSON file (conformance.sessions), ready for `sscard run --replay` and
`sscard vectors from-session`.

Power events only become a `reset` entry when a command follows them: pcscd powers an idle card
up and down on its own, and only the last power-up before a command says anything about the
session. So the file always starts with a reset (the application's power-up), then commands.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Callable

from terminal.pcsc import match_reader

from .processors import Trace, TraceEntry
from .reports.writing import write_text
from .sessions import dumps
from .transport import Transport, TransportError

SW_FAULT = b"\x6f\x00"
POLL_INTERVAL = 0.5  # how often the command checks that the real card is still there


def vpcd_reader_name(slot: int) -> str:
    """The PC/SC name pcscd gives vpcd slot `slot`."""
    return f"Virtual PCD 00 {slot:02d}"


def resolve_reader(wanted: str, available: list[str]) -> str:
    """The one reader `wanted` names (terminal.pcsc.match_reader: exact, else a unique
    case-insensitive part). ValueError says why there is not exactly one."""
    return match_reader(wanted, available)


def refuse_loop(reader: str, slot: int) -> None:
    """The relay cannot record its own virtual reader: it would relay the card to itself."""
    if reader == vpcd_reader_name(slot):
        raise ValueError(f"{reader!r} is the relay's own virtual reader (vpcd slot {slot}): "
                         f"the card would be relayed to itself; give the physical card's reader, "
                         f"or another --slot")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class CardRelay:
    """The card side of a vpcd slot that forwards everything to a real card and records it.

    `open_card()` connects to the real card and returns a Transport (PcscTransport in the
    command, any Transport in tests); it is called once here, so a missing card fails at once,
    and again for each power-on after a power-off. `present()`, when given, says whether the
    reader still holds a card while no connection is open. Once the real card fails or is gone,
    `ended` holds the reason, every later command is answered 6F00 and nothing more is recorded.
    """

    def __init__(self, open_card: Callable[[], Transport], present: Callable[[], bool] | None = None):
        self._open = open_card
        self._present = present
        self._lock = threading.RLock()
        self._transport: Transport | None = open_card()
        try:
            self._atr = bytes(self._transport.atr)
        except TransportError:
            self._transport.close()
            raise
        self.reader = self._transport.name
        self.trace = Trace(atr=self._atr, protocol=self._transport.protocol, reader=self.reader)
        # The power-up that the next command follows, written as a reset entry just before it.
        self._pending_reset: tuple[str, bytes] | None = (_now(), self._atr)
        self.ended: str | None = None
        self.ended_event = threading.Event()

    # -- what VirtualReaderSlot calls --------------------------------------------------------

    @property
    def atr(self) -> bytes:
        """The real card's ATR as of its last power-up: pcscd polls it every 0.4 s, so it is
        answered from memory, never by asking the card."""
        return self._atr

    def power_on(self) -> bytes:
        with self._lock:
            if self.ended is None:
                try:
                    if self._transport is not None:  # still connected: cycle the power
                        self._transport.close()
                        self._transport = None
                    self._transport = self._open()
                    self._powered_up(bytes(self._transport.atr))
                except TransportError as exc:
                    self._end(f"power-on failed: {exc.reason}")
            return self._atr

    def reset(self) -> bytes:
        with self._lock:
            if self.ended is None:
                if self._transport is None:  # a reset of an unpowered card powers it up
                    return self.power_on()
                try:
                    self._powered_up(bytes(self._transport.reset()))
                except TransportError as exc:
                    self._end(f"reset failed: {exc.reason}")
            return self._atr

    def power_off(self) -> None:
        with self._lock:
            if self._transport is not None:
                self._transport.close()  # pyscard's disconnect unpowers the card
                self._transport = None

    def transmit(self, capdu: bytes) -> bytes:
        capdu = bytes(capdu)
        with self._lock:
            if self.ended is not None:
                return SW_FAULT
            if self._transport is None:  # pcscd powers a card before any command; be safe anyway
                self.trace.add("error", command=capdu, text="command to an unpowered card: answered 6F00")
                return SW_FAULT
            when, started = _now(), time.perf_counter()
            try:
                rapdu = bytes(self._transport.transmit(capdu))
            except TransportError as exc:
                self._end(f"the real card did not answer {capdu.hex().upper()}: {exc.reason}", capdu)
                return SW_FAULT
            duration = time.perf_counter() - started
            if self._pending_reset is not None:
                reset_time, reset_atr = self._pending_reset
                self.trace.entries.append(TraceEntry("reset", reset_time, response=reset_atr))
                self._pending_reset = None
            self.trace.entries.append(TraceEntry("exchange", when, command=capdu, response=rapdu,
                                                 duration=duration))
            return rapdu

    # -- what the command calls --------------------------------------------------------------

    def poll(self) -> bool:
        """Check the real card is still in its reader; end the recording if not. True = going on."""
        with self._lock:
            if self.ended is not None:
                return False
            try:
                if self._transport is not None:
                    self._transport.atr  # PC/SC status of our handle: fails once the card left
                elif self._present is not None and not self._present():
                    raise TransportError("card removed")
            except TransportError as exc:
                self._end(f"real card gone: {exc.reason}")
            return self.ended is None

    def close(self, reason: str = "stopped") -> None:
        """Disconnect from the real card and end the recording (a removal reason is kept)."""
        with self._lock:
            self.power_off()
            if self.ended is None:
                self._end(reason, kind="note")

    @property
    def exchanges(self) -> int:
        return sum(1 for e in self.trace.entries if e.kind == "exchange")

    @property
    def resets(self) -> int:
        return sum(1 for e in self.trace.entries if e.kind == "reset")

    def session_text(self) -> str:
        """The recording so far as a "sscard-session/1" JSON document."""
        with self._lock:
            extra = {"recorded_by": "sscard record"}
            if self.ended is not None:
                extra["ended"] = self.ended
            return dumps(self.trace, extra=extra)

    # -- inside ---------------------------------------------------------------------------

    def _powered_up(self, atr: bytes) -> None:
        self._atr = atr
        self._pending_reset = (_now(), atr)

    def _end(self, reason: str, command: bytes | None = None, kind: str = "error") -> None:
        self.ended = reason
        self.trace.add(kind, command=command, text=reason)
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        self.ended_event.set()


def write_session(path, text: str) -> None:
    """Write a session atomically, created 0600: a session holds whatever the application sent,
    PINs included. ReportError (exit 4) when it cannot be written."""
    write_text(path, text)


def reader_has_card(reader: str) -> bool:
    """Whether pcscd sees a card in `reader`, asked without connecting to it."""
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        return True  # pcscd unreachable says nothing about the card; the next command will tell
    try:
        hresult, states = scard.SCardGetStatusChange(context, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
        if hresult != scard.SCARD_S_SUCCESS:
            return True
        return bool(states and states[0][1] & scard.SCARD_STATE_PRESENT)
    finally:
        scard.SCardReleaseContext(context)
