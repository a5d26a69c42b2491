"""Computed values for vectors: `${ext_auth("04", challenge)}`, `${mac("08", "841E000004", challenge)}`.

Each function takes the case context first (the card under test and the current DF, so a key
reference resolves as the card resolves it, PD-12) and then the vector's arguments: key
references and hex as text, captured values as bytes. Arguments that are hex may be either.
Add a function here and it is usable in every vector file (the loader checks names and arity).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from simulator import crypto

from .card_under_test import CardUnderTest
from .template import to_bytes


@dataclass
class Context:
    card: CardUnderTest
    current_df: str = "MF"


def _key(ctx: Context, ref, version=1):
    return ctx.card.key(str(ref), ctx.current_df, int(version))


def _b(value, what="value") -> bytes:
    return to_bytes(value, what)


def ext_auth(ctx: Context, key, challenge, d=None, version=1) -> bytes:
    """EXTERNAL AUTHENTICATE data: C ‖ D (session schemes, D defaults to the challenge R8) or
    SM4(MK, R16) for the PKI master key (sm4-direct). 16 bytes: use Lc 10."""
    value, scheme = _key(ctx, key, version)
    challenge = _b(challenge, "challenge")
    if scheme == "sm4-direct":
        return crypto.external_cryptogram(scheme, value, challenge)
    d8 = crypto.r8(challenge) if d is None else _b(d, "d")
    return crypto.external_cryptogram(scheme, value, challenge, d8) + d8


def int_auth(ctx: Context, key, r1, r2) -> bytes:
    """The 8 bytes INTERNAL AUTHENTICATE must answer for R1, R2 (§4.12)."""
    value, scheme = _key(ctx, key)
    return crypto.internal_authenticate(scheme, value, _b(r1, "r1"), _b(r2, "r2"))


def mac(ctx: Context, key, data, challenge=None) -> bytes:
    """4-byte MAC of a CLA 84 command over `data` (header ‖ Lc ‖ data without MAC), ICV = challenge."""
    value, _ = _key(ctx, key)
    return crypto.mac(ctx.card.algorithm, value, _b(data, "data"), None if challenge is None else _b(challenge))


def pin_bcd(ctx: Context, pin) -> bytes:
    """PIN digits as BCD: "123456" -> 123456, "12345" -> 12345F."""
    return crypto.pin_bcd(str(pin))


def pki_verify(ctx: Context, who, challenge) -> bytes:
    """PKI VERIFY cryptogram for the user or admin PIN of the card under test (§5.4.9)."""
    pin = crypto.pin_bcd(ctx.card.pin(str(who)))
    return crypto.pki_verify_cryptogram(pin, _b(challenge, "challenge"))


def pki_change_pin(ctx: Context, who, new_pin, challenge) -> bytes:
    """BODY ‖ MAC of `84 5E 01 P2 14` changing the user (P2 81) or admin (P2 00) PIN (§4.19.8)."""
    old = crypto.pin_bcd(ctx.card.pin(str(who)))
    p2 = 0x81 if str(who).lower() == "user" else 0x00
    body, tag = crypto.pki_change_pin(old, crypto.pin_bcd(str(new_pin)), p2, _b(challenge, "challenge"))
    return body + tag


def pki_change_mk(ctx: Context, new_mk, challenge, p2="00") -> bytes:
    """BODY ‖ MAC of `84 D4 01 P2 24` with the current master key as the old one (§4.19.9)."""
    old, _ = ctx.card.key("ADF1/00")
    body, tag = crypto.pki_change_mk(old, _b(new_mk, "new_mk"), int(str(p2), 16), _b(challenge, "challenge"))
    return body + tag


def pin_unblock(ctx: Context, challenge, new_pin=None) -> bytes:
    """PIN UNBLOCK data (§4.16): MAC only, or ENC(new PIN) ‖ MAC, with the PUK (SSSE key 06)."""
    puk, _ = ctx.card.key("SSSE/06")
    enc = b"" if new_pin is None else crypto.pin_unblock_enc(ctx.card.algorithm, puk, crypto.pin_bcd(str(new_pin)))
    header = bytes.fromhex("84240000") + bytes([len(enc) + 4])
    return enc + crypto.mac(ctx.card.algorithm, puk, header + enc, _b(challenge, "challenge"))


def reload_pin(ctx: Context, new_pin) -> bytes:
    """RELOAD PIN data (§4.15): new PIN ‖ MAC over it with the RPK (SSSE key 07), zero ICV."""
    rpk, _ = ctx.card.key("SSSE/07")
    pin = crypto.pin_bcd(str(new_pin))
    return pin + crypto.mac(ctx.card.algorithm, rpk, pin, None)


def cardid_mac(ctx: Context, data12) -> bytes:
    """The 4-byte authentication code of the card identification code (§5.4.12), IRK = SSSE 01."""
    irk, _ = ctx.card.key("SSSE/01")
    return crypto.cardid_mac(ctx.card.algorithm, irk, _b(data12, "data12"))


def sm3(ctx: Context, data) -> bytes:
    return crypto.sm3(_b(data))


def ascii(ctx: Context, text) -> bytes:  # noqa: A001 - the vector-facing name
    """Text as ASCII bytes: `${ascii("A01234562")}`."""
    return str(text).encode("ascii")


def gbk(ctx: Context, text) -> bytes:
    """Text as GBK bytes (names on the card): `${gbk("张三")}`."""
    return str(text).encode("gbk")


def pad(ctx: Context, value, length, fill="00") -> bytes:
    """`value` right-padded with `fill` to `length` bytes (records are fixed length)."""
    raw = _b(value)
    return raw + _b(fill) * (int(length) - len(raw))


def join(ctx: Context, *parts) -> bytes:
    """Concatenation, for a computed part inside another call: `${lc(join(pin_bcd(pin), "FF", new))}`."""
    return b"".join(_b(p) for p in parts)


def lc(ctx: Context, data) -> bytes:
    """Lc ‖ data: `00DC0704${lc(record)}`."""
    raw = _b(data)
    return bytes([len(raw)]) + raw


FUNCTIONS = {f.__name__: f for f in (ext_auth, int_auth, mac, pin_bcd, pki_verify, pki_change_pin,
                                     pki_change_mk, pin_unblock, reload_pin, cardid_mac, sm3, ascii,
                                     gbk, pad, join, lc)}


def bind(ctx: Context | None) -> dict:
    """The functions with the context filled in, as templates call them."""
    return {name: functools.partial(fn, ctx) for name, fn in FUNCTIONS.items()}


def builtin_variables(card: CardUnderTest | None) -> dict:
    """Variables every vector can use without capturing them."""
    if card is None:
        return dict.fromkeys(BUILTIN_VARIABLES, "")
    values = {"generation": card.generation}
    for name, which in (("pin", "SSSE"), ("user_pin", "user"), ("admin_pin", "admin")):
        try:
            values[name] = card.pin(which)
        except LookupError:
            pass
    return values


BUILTIN_VARIABLES = ("pin", "user_pin", "admin_pin", "generation", "atr")
