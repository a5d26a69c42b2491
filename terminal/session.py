"""A session with one card application (yubikit style): the ISO commands every application shares.

`Session(slot)` talks through a Channel (GET RESPONSE, 6Cxx, trace); every method returns the
response data and raises ApduError for any status word but 9000. `exchange()` is the one place
that does not raise, for callers that show status words (read-outs, explorers).

Cryptograms and MACs come from a `Keys` object: `terminal.keys.KeySet` holds the card keys
themselves (a test bench, a personalisation station), `terminal.psam.PsamKeys` asks a PSAM.
"""

from __future__ import annotations

from typing import Protocol

from simulator import schemes

from .errors import check
from .transport import Channel, TraceHook, channel


class Keys(Protocol):
    """Where a session's cryptograms come from; `df` is "SSSE", "DF01"…, "PKI" or "ADF1"."""

    algorithm: str  # "3des" | "sm4"

    def challenge_length(self, ref: int, df: str) -> int: ...
    def external(self, ref: int, challenge: bytes, df: str) -> bytes: ...  # EXTERNAL AUTHENTICATE data
    def internal(self, ref: int, r1: bytes, r2: bytes, df: str) -> bytes: ...  # the expected answer
    def mac(self, ref: int, data: bytes, challenge: bytes | None, df: str) -> bytes: ...  # 4 bytes
    def encipher(self, ref: int, plain: bytes, df: str) -> bytes: ...  # ECB with the card key


def apdu(cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None) -> bytes:
    """A short C-APDU (case 1-4); le 0 means 256 (Le byte 00)."""
    if len(data) > 255:
        raise ValueError(f"data field of {len(data)} bytes does not fit a short APDU")
    out = bytes((cla, ins, p1 & 0xFF, p2 & 0xFF)) + (bytes([len(data)]) + bytes(data) if data else b"")
    return out + (bytes([le & 0xFF]) if le is not None else b"")


def _fid(fid: int | bytes | str) -> bytes:
    if isinstance(fid, str):
        return bytes.fromhex(fid)
    return fid.to_bytes(2, "big") if isinstance(fid, int) else bytes(fid)


class Session:
    """The ISO commands of card §4 over one slot; `df` names the current DF for key references."""

    def __init__(self, slot, trace: TraceHook | None = None):
        self.channel: Channel = channel(slot, trace)
        self.df = "MF"

    # --- the wire -----------------------------------------------------------------------------

    def reset(self) -> bytes:
        self.df = "MF"
        return self.channel.reset()

    @property
    def atr(self) -> bytes:
        return self.channel.atr

    def exchange(self, command: bytes) -> tuple[bytes, int]:
        """(data, SW) of one command after GET RESPONSE / 6Cxx; never raises for a status word."""
        response = self.channel.transmit(command)
        return response[:-2], int.from_bytes(response[-2:], "big")

    def send(self, command: bytes, what: str = "") -> bytes:
        """The response data; ApduError for anything but 9000."""
        data, sw = self.exchange(command)
        check(sw, command, data, what)
        return data

    # --- SELECT, records, binaries ---------------------------------------------------------------

    def select_name(self, name: bytes, df: str | None = None, fci: bool = True) -> bytes:
        """SELECT by DF name (P2 00: the FCI, as terminals ask for it)."""
        data = self.send(apdu(0x00, 0xA4, 0x04, 0x00 if fci else 0x0C, name), "SELECT by name")
        self.df = df or name.hex().upper()
        return data

    def select_fid(self, fid: int | bytes | str, df: str | None = None, p1: int = 0x00) -> bytes:
        """SELECT by FID (P2 00): the MF, a DF (then `df` names it) or an EF; P1 00 any of them,
        01 a child DF, 02 a child EF (card §4.5)."""
        data = self.send(apdu(0x00, 0xA4, p1, 0x00, _fid(fid)), "SELECT by FID")
        if df is not None:
            self.df = df
        return data

    def read_record(self, record: int | None = None, *, tag: int | None = None, sfi: int = 0,
                    le: int = 0) -> bytes:
        """READ RECORD by number or by identifier (tag), in the current EF or by SFI (card §4.6)."""
        if (record is None) == (tag is None):
            raise ValueError("read_record takes a record number or a tag, not both")
        p1, mode = (record, 0x04) if tag is None else (tag, 0x00)
        return self.send(apdu(0x00, 0xB2, p1, (sfi << 3) | mode, le=le), "READ RECORD")

    def update_record(self, data: bytes, record: int | None = None, *, tag: int | None = None,
                      sfi: int = 0) -> None:
        """UPDATE RECORD by number or identifier (card §4.8); `data` is the whole record."""
        if (record is None) == (tag is None):
            raise ValueError("update_record takes a record number or a tag, not both")
        p1, mode = (record, 0x04) if tag is None else (tag, 0x00)
        self.send(apdu(0x00, 0xDC, p1, (sfi << 3) | mode, data), "UPDATE RECORD")

    def read_binary(self, offset: int = 0, length: int = 0, sfi: int | None = None) -> bytes:
        """READ BINARY of up to 256 bytes (length 0 = 256) at offset, in the current EF or by SFI."""
        p1, p2 = (0x80 | sfi, offset) if sfi is not None else (offset >> 8, offset & 0xFF)
        return self.send(apdu(0x00, 0xB0, p1, p2, le=length), "READ BINARY")

    def read_binary_all(self, size: int | None = None) -> bytes:
        """The current EF from offset 0 in 256-byte pieces, up to `size` or the end of the file."""
        content = b""
        while size is None or len(content) < size:
            want = 0 if size is None else min(256, size - len(content))
            command = apdu(0x00, 0xB0, len(content) >> 8, len(content) & 0xFF, le=want)
            data, sw = self.exchange(command)
            if sw == 0x6B00 and content:  # offset reached the end of the file
                break
            check(sw, command, data, "READ BINARY")
            content += data
            if not data or (size is None and len(data) < 256):
                break
        return content

    def update_binary(self, offset: int, data: bytes, piece: int = 255) -> None:
        """UPDATE BINARY of the current EF in pieces (255 bytes: the photo habit, card §4.9)."""
        for start in range(0, len(data), piece):
            at = offset + start
            self.send(apdu(0x00, 0xD6, at >> 8, at & 0xFF, data[start:start + piece]), "UPDATE BINARY")

    # --- security ------------------------------------------------------------------------------

    def get_challenge(self, length: int = 8) -> bytes:
        return self.send(apdu(0x00, 0x84, 0x00, 0x00, le=length), "GET CHALLENGE")

    def external_authenticate(self, ref: int, keys: Keys, df: str | None = None) -> None:
        """GET CHALLENGE, then EXTERNAL AUTHENTICATE with the data `keys` computes (card §4.11)."""
        df = df or self.df
        challenge = self.get_challenge(keys.challenge_length(ref, df))
        self.send(apdu(0x00, 0x82, 0x00, ref, keys.external(ref, challenge, df)), f"EXTERNAL AUTHENTICATE {ref:02X}")

    def internal_authenticate(self, ref: int, r1: bytes, r2: bytes, version: int | None = None) -> bytes:
        """INTERNAL AUTHENTICATE (card §4.12): the card's 8-byte answer to R1 ‖ R2."""
        body = bytes(r1) + bytes(r2) + (bytes([version]) if version is not None else b"")
        return self.send(apdu(0x00, 0x88, 0x00, ref, body), "INTERNAL AUTHENTICATE")

    def verify(self, pin: str) -> None:
        """VERIFY the cardholder PIN (card §4.13); ApduError 63Cx / 6983 when wrong or blocked."""
        self.send(apdu(0x00, 0x20, 0x00, 0x00, schemes.pin_bcd(pin)), "VERIFY")
