"""Data-item formats of spec §3.1: an (GBK text, padded), cn (BCD, F-padded), b (binary)."""

from __future__ import annotations

import re

from .quote import clip

_FMT = re.compile(r"^(an|cn|b)(\d+)$")


class ItemError(ValueError):
    pass


def parse_format(fmt: str) -> tuple[str, int]:
    m = _FMT.match(fmt)
    if not m:
        raise ItemError(f"unknown data format {fmt!r} (an<n>, cn<n>, b<n>)")
    return m.group(1), int(m.group(2))


def encode(fmt: str, value, pad: int = 0x00) -> bytes:
    """The value bytes of an item (without tag and length), padded to the format's length."""
    kind, n = parse_format(fmt)
    if kind == "b":
        try:
            raw = bytes.fromhex(str(value)) if not isinstance(value, bytes) else value
        except ValueError:
            raise ItemError(f"b{n} item must be hex (pairs of 0-9 A-F), got {clip(value)}") from None
        if len(raw) != n:
            raise ItemError(f"b{n} item needs {n} bytes of hex, got {len(raw)}")
        return raw
    if kind == "an":
        try:
            raw = str(value).encode("gbk")
        except UnicodeEncodeError as exc:
            raise ItemError(f"an{n} item has {clip(exc.object[exc.start:exc.end])}, which GBK cannot write") from None
        if len(raw) > n:
            raise ItemError(f"an{n} item is {len(raw)} bytes in GBK, longer than {n}: {clip(value)}")
        return raw + bytes([pad]) * (n - len(raw))
    digits = str(value)
    if not digits.isdigit() or not digits.isascii():
        raise ItemError(f"cn{n} item takes digits only, got {clip(value)}")
    if len(digits) > 2 * n:
        raise ItemError(f"cn{n} item holds at most {2 * n} digits, got {len(digits)}")
    return bytes.fromhex(digits + "F" * (2 * n - len(digits)))


def decode(fmt: str, raw: bytes):
    """Item value from its bytes: text for an (both pads stripped), digits for cn, hex for b."""
    kind, _ = parse_format(fmt)
    if kind == "b":
        return raw.hex().upper()
    if kind == "an":
        return raw.rstrip(b"\x00\x20").decode("gbk", errors="replace")
    return raw.hex().upper().rstrip("F")


def blank(fmt: str) -> bytes:
    """Pre-format of a blank record value (PD-34): 00 for an and b, FF for cn."""
    kind, n = parse_format(fmt)
    return (b"\xff" if kind == "cn" else b"\x00") * n


def length(fmt: str) -> int:
    return parse_format(fmt)[1]
