"""One Transport interface for every card the tester talks to: the emulated card in-process, a
card in a PC/SC reader (pyscard, imported only when used), or a recorded session replayed
(`sessions.ReplayTransport`, beside the session readers, so this module imports none of them).

A Transport moves bytes and nothing else: no GET RESPONSE, no retries (those are processors).
Any failure to reach the card raises TransportError with the reason in words.
"""

from __future__ import annotations

from simulator.atr import protocols as atr_protocols
from terminal.errors import ReaderError
from terminal.pcsc import PcscSlot

# PC/SC result codes that mean "the card is gone" or "the reader is gone" (winscard.h).
_CARD_GONE = {0x80100069: "card removed", 0x8010000C: "no card in the reader", 0x80100068: "card was reset by another application",
              0x80100066: "card is not responding", 0x80100067: "card is unpowered"}
_READER_GONE = {0x80100017: "reader unavailable", 0x8010002E: "no readers available", 0x80100009: "unknown reader",
                0x8010001D: "PC/SC service not running", 0x8010001E: "PC/SC service stopped"}


class TransportError(Exception):
    """The card could not be reached. `fatal` = the transport cannot be used again (reader gone)."""

    def __init__(self, reason: str, fatal: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.fatal = fatal


class Transport:
    """transmit(C-APDU) -> R-APDU (data ‖ SW1 SW2); reset() -> ATR; `atr`, `name`, close()."""

    name = "transport"
    protocol = "T=1"
    # Whether a transmit can block for ever (a reader or card that stops answering): only then
    # does a case need a watchdog thread to enforce its timeout.
    can_hang = True

    @property
    def atr(self) -> bytes:  # pragma: no cover - interface
        raise NotImplementedError

    def transmit(self, apdu: bytes) -> bytes:  # pragma: no cover - interface
        raise NotImplementedError

    def reset(self) -> bytes:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class EmulatedTransport(Transport):
    """The simulator's Card in this process (its transmit never raises)."""

    can_hang = False  # an in-process card answers every APDU at once: no watchdog needed

    def __init__(self, card, name: str = "emulated"):
        self.card = card
        self.name = name
        self._atr = card.power_on()
        self.protocol = atr_protocol(self._atr)

    @property
    def atr(self) -> bytes:
        return bytes(self._atr)

    def transmit(self, apdu: bytes) -> bytes:
        return bytes(self.card.transmit(bytes(apdu)))

    def reset(self) -> bytes:
        self._atr = self.card.reset()
        return bytes(self._atr)

    def restore(self) -> bytes:
        """A fresh card from the same image: undoes what a destructive case did (CARD BLOCK, a
        permanent APPLICATION BLOCK, a blocked key), which no command can undo. Returns the ATR."""
        old = self.card
        self.card = type(old)(old.image, old.random, getattr(old, "path", None))
        self.card.persist()  # a card backed by a file: the file goes back to the image as loaded
        self._atr = self.card.power_on()
        return bytes(self._atr)

    def close(self) -> None:
        self.card.power_off()


class PcscTransport(Transport):
    """A card in a PC/SC reader: terminal.pcsc.PcscSlot (the reader found by exact name or a
    unique substring, connect, warm reset, transmit), its failures read as TransportErrors."""

    def __init__(self, reader_name: str):
        try:
            self.slot = PcscSlot(reader_name)
        except ReaderError as exc:  # no pyscard, no pcscd, no such reader: nothing to retry
            raise TransportError(exc.detail, fatal=True) from None
        self.name = self.slot.name
        self._call(self.slot.power_on)
        self.protocol = self._call(self.slot.protocol)

    @property
    def atr(self) -> bytes:
        return self._call(self.slot.atr)

    def transmit(self, apdu: bytes) -> bytes:
        return self._call(self.slot.send, apdu)

    def reset(self) -> bytes:
        try:
            return self._call(self.slot.power_on)
        except TransportError as first:
            if first.fatal:
                raise
            # The handle died with a removed card; a card put back needs a fresh connection.
            self.close()
            try:
                return self._call(self.slot.power_on)
            except TransportError:
                raise first from None

    def close(self) -> None:
        self.slot.close()

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except Exception as exc:
            raise _pcsc_error(exc, self.name) from exc


def _pcsc_error(exc: Exception, reader: str) -> TransportError:
    code = getattr(exc, "hresult", None)
    code = None if code is None else code & 0xFFFFFFFF
    if code in _READER_GONE:
        return TransportError(f"{_READER_GONE[code]}: {reader}", fatal=True)
    if code in _CARD_GONE:
        return TransportError(f"{_CARD_GONE[code]} ({reader})")
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    if "no smart card" in lowered or "removed" in lowered or "nocard" in type(exc).__name__.lower():
        return TransportError(f"card removed ({reader}): {text}")
    if "no valid response" in lowered:  # the reader got nothing back: the card went away mid-command
        return TransportError(f"card did not answer, removed? ({reader}): {text}")
    if "reader" in lowered and ("unavailable" in lowered or "unknown" in lowered):
        return TransportError(f"reader gone ({reader}): {text}", fatal=True)
    return TransportError(f"PC/SC error ({reader}): {text}")


def atr_protocol(atr: bytes) -> str:
    """The first protocol an ATR offers: T=0 unless TD1 is present and names another."""
    return f"T={atr_protocols(atr)[0]}"
