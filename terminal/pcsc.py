"""A PC/SC reader as a Slot (pyscard, imported only when used): connect with any protocol the
reader offers, reset by reconnecting with SCARD_RESET_CARD. Failures are ReaderError (-2 no card,
-11 reader connection) or, for the PSAM slot, whatever the caller maps them to."""

from __future__ import annotations

from .errors import ReaderError

PSAM_ATR_PREFIX = bytes.fromhex("3B6C00000081005353435053414D")  # §2.1, PD-T01 (t0)
PSAM_ATR_T1 = bytes.fromhex("3BEC0000010081005353435053414D000121")


def _pyscard_readers() -> list:
    try:
        from smartcard.System import readers
    except ImportError:
        raise ReaderError(-5, "pyscard is not installed (pip install 'sscard[pcsc]')") from None
    try:
        return list(readers())
    except Exception as exc:  # pyscard raises bare Exceptions without pcscd
        raise ReaderError(-11, f"cannot list PC/SC readers: {exc}") from None


def reader_names() -> list[str]:
    return [str(r) for r in _pyscard_readers()]


def match_reader(wanted: str, names: list[str]) -> str:
    """The one reader `wanted` names: an exact name, else a unique case-insensitive part of one.
    ValueError says why there is not exactly one (the rule every reader option follows)."""
    if wanted in names:
        return wanted
    matches = [n for n in names if wanted.lower() in n.lower()]
    if len(matches) != 1:
        what = "no reader" if not matches else "several readers"
        raise ValueError(f"{what} matching {wanted!r} (readers: {', '.join(names) or 'none'})")
    return matches[0]


def pick_reader(name: str):
    """The one pyscard reader `name` names (`match_reader`); ReaderError -11 otherwise."""
    available = _pyscard_readers()
    try:
        chosen = match_reader(name, [str(r) for r in available])
    except ValueError as exc:
        raise ReaderError(-11, str(exc)) from None
    return next(r for r in available if str(r) == chosen)


def looks_like_psam(atr: bytes) -> bool:
    return bytes(atr).startswith(PSAM_ATR_PREFIX) or bytes(atr) == PSAM_ATR_T1


class PcscSlot:
    """The card in the reader `name` (exact, or a unique part of it).

    `power_on`, `send` and `protocol` talk to pyscard and let its errors through (the tester's
    PcscTransport reads them its own way); `reset` and `transmit` turn them into ReaderError."""

    def __init__(self, name: str):
        self.reader = pick_reader(name)
        self.name = str(self.reader)
        self._connection = None

    def power_on(self) -> bytes:
        """Connect (T=0 or T=1, whichever card and reader agree on), or warm reset if connected."""
        if self._connection is None:
            self._connection = self.reader.createConnection()
            self._connection.connect()
        else:
            from smartcard.scard import SCARD_RESET_CARD

            self._connection.reconnect(disposition=SCARD_RESET_CARD)
        return self.atr()

    def atr(self) -> bytes:
        return bytes(self._connection.getATR())

    def send(self, apdu: bytes) -> bytes:
        data, sw1, sw2 = self._connection.transmit(list(apdu))
        return bytes(data) + bytes((sw1, sw2))

    def protocol(self) -> str:
        from smartcard.CardConnection import CardConnection

        protocol = self._connection.getProtocol()
        return {CardConnection.T0_protocol: "T=0", CardConnection.T1_protocol: "T=1"}.get(protocol, "T=1")

    def reset(self) -> bytes:
        try:
            return self.power_on()
        except Exception as exc:
            self.close()
            raise ReaderError(-2, f"{self.name}: {exc}") from None

    def transmit(self, apdu: bytes) -> bytes:
        if self._connection is None:
            raise ReaderError(-3, f"{self.name}: the card is not powered")
        try:
            return self.send(apdu)
        except Exception as exc:
            raise ReaderError(-4, f"{self.name}: {exc}") from None

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.disconnect()
            except Exception:  # a removed card: nothing left to close
                pass
            self._connection = None


def find_psam_reader(exclude: str = "") -> str | None:
    """The first reader (other than `exclude`) holding a card with the PSAM ATR of §2.1."""
    from smartcard.System import readers

    for reader in readers():
        if str(reader) == exclude:
            continue
        try:
            connection = reader.createConnection()
            connection.connect()
            atr = bytes(connection.getATR())
            connection.disconnect()
        except Exception:  # an empty reader: not the PSAM
            continue
        if looks_like_psam(atr):
            return str(reader)
    return None
