"""The SSSE application (card §2.3, §4.13–§4.17): items by identifier, PINs, MAC-protected commands."""

from __future__ import annotations

from simulator import schemes
from simulator.codecs import record_item

from .session import Keys, Session, apdu

SSSE_NAME = bytes.fromhex("7378312E73682EC9E7BBE1B1A3D5CF")  # "sx1.sh.社会保障"
SSSE_KEYS = {"IRK": 0x01, "UK": 0x04, "PUK": 0x06, "RPK": 0x07, "AMK": 0x08, "RK": 0x0A, "UK-EF0D": 0x0D}


def aflag(fci: bytes) -> int | None:
    """AFLAG of an FCI's `9F0C 03 86 01 <AFLAG>` object (terminal §4.4.1), None when absent."""
    at = fci.find(b"\x9F\x0C\x03\x86\x01")
    return fci[at + 5] if at >= 0 and at + 5 < len(fci) else None


def tlv_value(record: bytes, tag: int) -> bytes:
    """The value of a `tag len value` record; ValueError when the record is not that item."""
    item = record_item(record)
    if item is None or item[0] != tag:
        raise ValueError(f"record {record.hex().upper()} is not item {tag:02X}")
    return item[1]


class SsseSession(Session):
    """SSSE and its DF01–DF07 on one card."""

    def select(self) -> bytes:
        """SELECT SSSE by name; the FCI."""
        return self.select_name(SSSE_NAME, "SSSE")

    def select_df(self, df: str) -> None:
        """SELECT DF01…DF07 by FID from SSSE (`00A4000002DF0n`)."""
        self.select_fid(df, df=df)

    def read_item(self, tag: int, sfi: int) -> bytes:
        """The value of the TLV item `tag` of EF `sfi`, read by identifier (`00B2 <tag> <SFI<<3> 00`)."""
        return tlv_value(self.read_record(tag=tag, sfi=sfi), tag)

    def write_item(self, tag: int, sfi: int, value: bytes) -> None:
        """UPDATE RECORD by identifier (`00DC <tag> <SFI<<3> Lc <tag> <len> <value>`, card §4.8)."""
        self.update_record(bytes((tag, len(value))) + bytes(value), tag=tag, sfi=sfi)

    # --- PINs (card §4.13–§4.16) -----------------------------------------------------------------

    def change_pin(self, old: str, new: str) -> None:
        body = schemes.pin_bcd(old) + b"\xFF" + schemes.pin_bcd(new)
        self.send(apdu(0x80, 0x5E, 0x01, 0x00, body), "CHANGE PIN")

    def reload_pin(self, new: str, keys: Keys) -> None:
        """RELOAD PIN: the new PIN ‖ MAC with RPK (07) over the PIN bytes, zero ICV (card §4.15)."""
        pin = schemes.pin_bcd(new)
        self.send(apdu(0x80, 0x5E, 0x00, 0x00, pin + keys.mac(SSSE_KEYS["RPK"], pin, None, "SSSE")), "RELOAD PIN")

    def unblock_pin(self, keys: Keys, new: str | None = None) -> None:
        """PIN UNBLOCK with PUK (06): MAC only, or ENC(new PIN) ‖ MAC (card §4.16)."""
        block = 8 if keys.algorithm == "3des" else 16
        enc = b"" if new is None else keys.encipher(SSSE_KEYS["PUK"], schemes.pin_block(schemes.pin_bcd(new), block), "SSSE")
        self.secure_command(0x24, 0x00, 0x00, SSSE_KEYS["PUK"], keys, enc, "PIN UNBLOCK")

    def application_block(self, keys: Keys, permanent: bool = False) -> None:
        self.secure_command(0x1E, 0x00, 0x01 if permanent else 0x00, SSSE_KEYS["AMK"], keys, b"", "APPLICATION BLOCK")

    def application_unblock(self, keys: Keys) -> None:
        self.secure_command(0x18, 0x00, 0x00, SSSE_KEYS["AMK"], keys, b"", "APPLICATION UNBLOCK")

    def card_block(self, keys: Keys) -> None:
        self.secure_command(0x16, 0x00, 0x00, SSSE_KEYS["AMK"], keys, b"", "CARD BLOCK")

    def secure_command(self, ins: int, p1: int, p2: int, ref: int, keys: Keys, body: bytes, what: str) -> None:
        """A CLA 84 command: GET CHALLENGE (4 bytes DES, 8 SM4), then body ‖ MAC over header ‖ Lc ‖ body."""
        challenge = self.get_challenge(4 if keys.algorithm == "3des" else 8)
        header = bytes((0x84, ins, p1, p2, len(body) + 4))
        self.send(header + body + keys.mac(ref, header + body, challenge, "SSSE"), what)
