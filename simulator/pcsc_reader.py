"""An in-process pyscard reader: pyscard programs talk to a Card with no pcscd at all.

    reader = EmulatedReader(Card.builtin("gen2"))
    conn = reader.createConnection(); conn.connect()
    data, sw1, sw2 = conn.transmit([0x00, 0xB2, 0x01, 0x2C, 0x00])

`register(reader)` (or `with installed(card) as reader:`) also makes it appear in
`smartcard.System.readers()` under the name "sscard virtual reader". A PSAM (simulator.psam)
is a card like the others: `installed(card, psam=Psam.builtin())` adds a second reader,
"sscard virtual PSAM reader" (`reader.psam_reader`), as a terminal's second slot.

The power rules copy what pcscd does with a vpcd card (observed on pcsc-lite 2.x), so a program
sees the same thing on both paths: connect powers an unpowered card; disconnect applies its
disposition (default UNPOWER); reconnect applies its own (default RESET; UNPOWER is off then on);
the protocol is the one the ATR offers first (T=0 for the default SSC ATR).
"""

from __future__ import annotations

import contextlib
import threading

from smartcard.CardConnection import CardConnection
from smartcard.CardConnectionDecorator import CardConnectionDecorator
from smartcard.Exceptions import (
    CardConnectionException,
    CardServiceNotFoundException,
    CardServiceStoppedException,
    NoCardException,
    SmartcardException,
)
from smartcard.reader.Reader import Reader
from smartcard.reader.ReaderFactory import ReaderFactory
from smartcard.scard import (
    SCARD_E_INVALID_PARAMETER,
    SCARD_E_NO_SMARTCARD,
    SCARD_EJECT_CARD,
    SCARD_LEAVE_CARD,
    SCARD_RESET_CARD,
    SCARD_UNPOWER_CARD,
    SCARD_W_REMOVED_CARD,
)

from .atr import protocols as atr_protocols

READER_NAME = "sscard virtual reader"
PSAM_READER_NAME = "sscard virtual PSAM reader"
SW_FAULT = b"\x6f\x00"  # same answer the vpcd path gives when the card fails inside
MAX_APDU = 0xFFFF  # the vpcd frame limit; keeps both paths alike


def atr_protocol(atr: bytes) -> int:
    """The pyscard protocol constant of the first protocol the ATR offers (T=0 if none named)."""
    first = next((t for t in atr_protocols(atr) if t in (0, 1)), 0)
    return CardConnection.T1_protocol if first == 1 else CardConnection.T0_protocol


class EmulatedReader(Reader):
    """A pyscard Reader holding one Card; every card call holds `card_lock`."""

    def __init__(self, card, name: str = READER_NAME, card_lock: threading.RLock | None = None):
        super().__init__(name)
        self.card = card
        self.card_lock = card_lock or threading.RLock()
        self.powered = False
        self._inserted = True
        self.psam_reader: EmulatedReader | None = None  # the second slot, set by installed(psam=)

    @property
    def inserted(self) -> bool:
        return self._inserted

    def insert(self) -> None:
        self._inserted = True

    def remove(self) -> None:
        with self.card_lock:
            if self.powered:
                self.card.power_off()
            self.powered = False
            self._inserted = False

    def createConnection(self):
        # pyscard's own readers hand out a decorator around the connection; do the same.
        return CardConnectionDecorator(EmulatedCardConnection(self))

    # -- power, shared by every connection (like pcscd's per-reader state) ------------------

    def _power_on_if_needed(self) -> None:
        if not self.powered:
            self.card.power_on()
            self.powered = True

    def _dispose(self, disposition: int, then_power: bool) -> None:
        if disposition == SCARD_RESET_CARD:
            self.card.reset()
            self.powered = True
        elif disposition in (SCARD_UNPOWER_CARD, SCARD_EJECT_CARD):
            if self.powered:
                self.card.power_off()
                self.powered = False
            if then_power:
                self._power_on_if_needed()
        elif then_power:
            self._power_on_if_needed()


class EmulatedCardConnection(CardConnection):
    """The CardConnection of an EmulatedReader; same answers and errors as PCSCCardConnection."""

    def __init__(self, reader: EmulatedReader):
        super().__init__(reader.name)
        self._emulated = reader
        self.connected = False
        self.disposition: int | None = None

    def connect(self, protocol=None, mode=None, disposition=None):
        CardConnection.connect(self, protocol)  # notifies observers
        r = self._emulated
        with r.card_lock:
            if not r.inserted:
                raise NoCardException("Unable to connect", hresult=SCARD_E_NO_SMARTCARD)
            r._power_on_if_needed()
            chosen = atr_protocol(bytes(r.card.atr))
        if protocol is not None and not protocol & chosen:
            raise CardConnectionException(
                "Unable to connect with protocol: the card offers only "
                + ("T1" if chosen == CardConnection.T1_protocol else "T0")
            )
        self.disposition = SCARD_UNPOWER_CARD if disposition is None else disposition
        self.setProtocol(chosen)
        self.connected = True

    def reconnect(self, protocol=None, mode=None, disposition=None):
        CardConnection.reconnect(self, protocol)
        if not self.connected:
            raise CardConnectionException("Card not connected")
        self.disposition = SCARD_RESET_CARD if disposition is None else disposition
        r = self._emulated
        with r.card_lock:
            if not r.inserted:
                self.connected = False
                raise NoCardException("Unable to reconnect", hresult=SCARD_W_REMOVED_CARD)
            r._dispose(self.disposition, then_power=True)

    def disconnect(self):
        if not self.connected:
            return
        try:
            CardConnection.disconnect(self)
        except TypeError:  # observers gone during interpreter shutdown
            pass
        self.connected = False
        r = self._emulated
        with r.card_lock:
            if r.inserted:
                r._dispose(self.disposition or SCARD_LEAVE_CARD, then_power=False)

    def release(self):
        self.disconnect()
        CardConnection.release(self)

    def getATR(self):
        CardConnection.getATR(self)
        self._check()
        with self._emulated.card_lock:
            return list(bytes(self._emulated.card.atr))

    def doTransmit(self, command, protocol=None):
        self._check()
        if not command:
            raise CardConnectionException(
                "Failed to transmit: Invalid parameter given.", hresult=SCARD_E_INVALID_PARAMETER
            )
        if len(command) > MAX_APDU:
            raise CardConnectionException(
                f"Failed to transmit: {len(command)}-byte APDU too long",
                hresult=SCARD_E_INVALID_PARAMETER,
            )
        capdu = bytes(command)
        r = self._emulated
        try:
            with r.card_lock:
                rapdu = bytes(r.card.transmit(capdu))
        except Exception:  # the vpcd path answers 6F00 in this case; so do we
            rapdu = SW_FAULT
        if len(rapdu) < 2:
            rapdu = SW_FAULT
        return list(rapdu[:-2]), rapdu[-2], rapdu[-1]

    def doControl(self, controlCode, command=None):
        raise SmartcardException("Failed to control: not supported by the emulated reader")

    def doGetAttrib(self, attribId):
        raise SmartcardException("Failed to getAttrib: not supported by the emulated reader")

    def _check(self) -> None:
        if not self.connected:
            raise CardConnectionException("Card not connected")
        if not self._emulated.inserted:
            raise CardConnectionException(
                "Card removed", hresult=SCARD_W_REMOVED_CARD
            )


# -- making the reader visible to smartcard.System.readers() ----------------------------------

_registered: list[EmulatedReader] = []
_saved_factories: list | None = None


def _list_registered(groups=None):
    return list(_registered)


def _tolerant(factory):
    """A reader lister that reports no readers instead of failing when pcscd is absent."""

    def lister(groups=None):
        try:
            return factory(groups)
        except (CardServiceNotFoundException, CardServiceStoppedException, SmartcardException):
            return []

    return lister


def register(reader: EmulatedReader) -> EmulatedReader:
    """Add the reader to smartcard.System.readers() (after any PC/SC readers)."""
    global _saved_factories
    if any(r.name == reader.name for r in _registered):
        raise ValueError(f"a reader named {reader.name!r} is already registered")
    if _saved_factories is None:
        _saved_factories = list(ReaderFactory.factorymethods)
        ReaderFactory.factorymethods[:] = [_tolerant(f) for f in _saved_factories] + [
            _list_registered
        ]
    _registered.append(reader)
    return reader


def unregister(reader: EmulatedReader) -> None:
    global _saved_factories
    if reader in _registered:
        _registered.remove(reader)
    if not _registered and _saved_factories is not None:
        ReaderFactory.factorymethods[:] = _saved_factories
        _saved_factories = None


@contextlib.contextmanager
def installed(card, name: str = READER_NAME, *, psam=None, psam_name: str = PSAM_READER_NAME):
    """`with installed(card) as reader:` the card sits in a reader pyscard lists by name; with
    `psam=` a PSAM sits in a second reader, `reader.psam_reader`."""
    reader = register(EmulatedReader(card, name))
    try:
        if psam is not None:
            reader.psam_reader = register(EmulatedReader(psam, psam_name))
        yield reader
    finally:
        if reader.psam_reader is not None:
            unregister(reader.psam_reader)
        unregister(reader)


__all__ = [
    "READER_NAME",
    "PSAM_READER_NAME",
    "EmulatedReader",
    "EmulatedCardConnection",
    "atr_protocol",
    "register",
    "unregister",
    "installed",
]
