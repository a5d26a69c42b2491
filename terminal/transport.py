"""The transport under every session, in the yubikit manner: a Slot (bytes in, bytes out) behind a
chain of small processors, each a few lines: GET RESPONSE after 61xx, a resend after 6Cxx, a trace
hook. An in-process `simulator.Card` or `simulator.psam.Psam` is a Slot as it is (its `reset()`
powers it on and returns the ATR); a PC/SC reader is one through `terminal.pcsc.PcscSlot`.
"""

from __future__ import annotations

from typing import Callable, Protocol, Sequence

from simulator.apdu import APDUError, CommandAPDU

Send = Callable[[bytes], bytes]
TraceHook = Callable[[bytes, bytes], None]  # (C-APDU, R-APDU) of every exchange on the wire
Note = Callable[[str], None]  # a processor saying what it did on its own (auto GET RESPONSE, resend)


class Slot(Protocol):
    def reset(self) -> bytes: ...                     # power on or warm reset; the ATR
    def transmit(self, apdu: bytes) -> bytes: ...     # data ‖ SW1 SW2


class Processor(Protocol):
    def process(self, apdu: bytes, send: Send) -> bytes: ...


def with_le(apdu: bytes, le: int) -> bytes:
    """The same command with Le = le (case 1 -> 2, 2 -> 2, 3 -> 4, 4 -> 4); short APDUs only."""
    command = CommandAPDU.parse(bytes(apdu))
    command.le = (le & 0xFF) or 256
    return command.to_bytes()


class GetResponse:
    """61xx: fetch the waiting bytes with `00 C0 00 00 xx` until the card says something else.
    `note(text)`, if given, hears of each GET RESPONSE sent (the tester's trace shows them)."""

    def __init__(self, max_rounds: int = 32, note: Note | None = None):
        self.max_rounds, self.note = max_rounds, note

    def process(self, apdu: bytes, send: Send) -> bytes:
        response = send(apdu)
        collected = b""
        for _ in range(self.max_rounds):
            if len(response) < 2 or response[-2] != 0x61:
                break
            collected += response[:-2]
            request = bytes((0x00, 0xC0, 0x00, 0x00, response[-1]))
            if self.note is not None:
                self.note(f"auto GET RESPONSE: {response[-2:].hex().upper()} -> {request.hex().upper()}")
            response = send(request)
        return collected + response


class RetryWrongLength:
    """6Cxx: resend the same command once with Le = xx (card §4.2; what field terminals do). A
    command that does not parse as a C-APDU gets the card's 6Cxx back as it is."""

    def __init__(self, note: Note | None = None):
        self.note = note

    def process(self, apdu: bytes, send: Send) -> bytes:
        response = send(apdu)
        if len(response) != 2 or response[0] != 0x6C:
            return response
        try:
            retry = with_le(apdu, response[1])
        except APDUError:
            return response
        if self.note is not None:
            self.note(f"auto resend with Le from {response.hex().upper()}: {retry.hex().upper()}")
        return send(retry)


class Tracing:
    """Calls `hook(apdu, response)` for every exchange that reaches this link (put it last: the wire)."""

    def __init__(self, hook: TraceHook):
        self.hook = hook

    def process(self, apdu: bytes, send: Send) -> bytes:
        response = send(apdu)
        self.hook(apdu, response)
        return response


def default_processors(trace: TraceHook | None = None) -> list:
    """GET RESPONSE outermost, then the 6Cxx retry, then the trace at the wire."""
    return [GetResponse(), RetryWrongLength()] + ([Tracing(trace)] if trace is not None else [])


class Channel:
    """A Slot behind its processors (outermost first). `transmit` returns data ‖ SW1 SW2."""

    def __init__(self, slot: Slot, processors: Sequence | None = None, trace: TraceHook | None = None,
                 on_reset: Callable[[bytes], None] | None = None):
        self.slot = slot
        self.processors = list(default_processors(trace) if processors is None else processors)
        self.on_reset = on_reset
        self.atr = b""

    def reset(self) -> bytes:
        self.atr = bytes(self.slot.reset())
        if self.on_reset is not None:
            self.on_reset(self.atr)
        return self.atr

    def transmit(self, apdu: bytes) -> bytes:
        return compose(self.processors, self._wire)(bytes(apdu))

    def _wire(self, apdu: bytes) -> bytes:
        response = bytes(self.slot.transmit(apdu))
        if len(response) < 2:  # no card answers without SW1 SW2: read it as "no precise diagnosis"
            return b"\x6F\x00"
        return response


def compose(processors: Sequence, wire: Send) -> Send:
    """`wire` behind `processors` (outermost first): the one send function a command goes through."""
    send = wire
    for processor in reversed(list(processors)):
        send = _link(processor, send)
    return send


def _link(processor, send: Send) -> Send:
    return lambda apdu: processor.process(apdu, send)


def channel(slot_or_channel, trace: TraceHook | None = None) -> Channel:
    """A Channel over `slot_or_channel` (returned as it is when it already is one)."""
    if isinstance(slot_or_channel, Channel):
        return slot_or_channel
    return Channel(slot_or_channel, trace=trace)


class TracedSlot:
    """A slot that reports every exchange at the wire (61xx and all) and every reset (ATR, no command)."""

    def __init__(self, slot: Slot, hook: Callable[[bytes | None, bytes], None]):
        self.slot, self.hook = slot, hook

    def reset(self) -> bytes:
        atr = bytes(self.slot.reset())
        self.hook(None, atr)
        return atr

    def transmit(self, apdu: bytes) -> bytes:
        response = bytes(self.slot.transmit(apdu))
        self.hook(bytes(apdu), response)
        return response

    def close(self) -> None:
        getattr(self.slot, "close", lambda: None)()
