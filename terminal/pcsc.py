"""A PC/SC reader as a Slot (pyscard, imported only when used): connect with any protocol the
reader offers, reset by reconnecting with SCARD_RESET_CARD. Failures are ReaderError (-2 no card,
-11 reader connection) or, for the PSAM slot, whatever the caller maps them to."""

from __future__ import annotations

from .errors import ReaderError

PSAM_ATR_PREFIX = bytes.fromhex("3B6C00000081005353435053414D")  # §2.1, PD-T01 (t0)
PSAM_ATR_T1 = bytes.fromhex("3BEC0000010081005353435053414D000121")


def reader_names() -> list[str]:
    try:
        from smartcard.System import readers
    except ImportError:
        raise ReaderError(-5, "pyscard is not installed (pip install 'sscard[pcsc]')") from None
    try:
        return [str(r) for r in readers()]
    except Exception as exc:  # pyscard raises bare Exceptions without pcscd
        raise ReaderError(-11, f"cannot list PC/SC readers: {exc}") from None


def looks_like_psam(atr: bytes) -> bool:
    return bytes(atr).startswith(PSAM_ATR_PREFIX) or bytes(atr) == PSAM_ATR_T1


class PcscSlot:
    """The card in the reader `name` (exact, or a unique part of it)."""

    def __init__(self, name: str):
        names = reader_names()
        matches = [n for n in names if n == name] or [n for n in names if name.lower() in n.lower()]
        if len(matches) != 1:
            what = "no reader" if not matches else "several readers"
            raise ReaderError(-11, f"{what} matching {name!r} (readers: {', '.join(names) or 'none'})")
        self.name = matches[0]
        self._connection = None

    def reset(self) -> bytes:
        from smartcard.scard import SCARD_RESET_CARD
        from smartcard.System import readers

        try:
            if self._connection is None:
                reader = next(r for r in readers() if str(r) == self.name)
                self._connection = reader.createConnection()
                self._connection.connect()  # T=0 or T=1, whichever the card and reader agree on
            else:
                self._connection.reconnect(disposition=SCARD_RESET_CARD)
            return bytes(self._connection.getATR())
        except Exception as exc:
            self.close()
            raise ReaderError(-2, f"{self.name}: {exc}") from None

    def transmit(self, apdu: bytes) -> bytes:
        if self._connection is None:
            raise ReaderError(-3, f"{self.name}: the card is not powered")
        try:
            data, sw1, sw2 = self._connection.transmit(list(apdu))
        except Exception as exc:
            raise ReaderError(-4, f"{self.name}: {exc}") from None
        return bytes(data) + bytes((sw1, sw2))

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
