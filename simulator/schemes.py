"""The card's schemes over the primitives of `crypto` (spec §5.4): session keys and cryptograms of
the authentications, PIN blocks, the PKI PIN and key changes, the card-ID MAC, key diversification.

Authentication schemes are "des-session", "sm4-session" and "sm4-direct" (§5.1).
"""

from __future__ import annotations

from . import atr as atrlib
from .crypto import (block_size, complement, des_encrypt, ecb, exact, fold8, mac, pad80, r8, r16, sm3,
                     sm4_decrypt, sm4_encrypt, sm4_mac, tdes_encrypt, unpad80)

SCHEMES = ("des-session", "sm4-session", "sm4-direct")
_r8 = r8  # for functions whose parameter is itself named r8


# --- authentication (§5.4.2–§5.4.5) ----------------------------------------------------------

def des_session_key(key16: bytes, r8: bytes) -> bytes:
    return tdes_encrypt(key16, _r8(r8))


def des_session_cryptogram(key16: bytes, challenge: bytes, d8: bytes) -> bytes:
    return des_encrypt(des_session_key(key16, challenge), exact(d8, 8, "D"))


def sm4_session_key(key16: bytes, r8: bytes) -> bytes:
    return sm4_encrypt(key16, _r8(r8) + bytes(8))


def sm4_session_x(key16: bytes, challenge: bytes, d8: bytes) -> bytes:
    # PD-16: R enters only SK; D (any 8 bytes) is the input of X.
    return sm4_encrypt(sm4_session_key(key16, challenge), exact(d8, 8, "D") + bytes(8))


def sm4_session_cryptogram(key16: bytes, challenge: bytes, d8: bytes) -> bytes:
    return fold8(sm4_session_x(key16, challenge, d8))


def sm4_direct_cryptogram(key16: bytes, challenge: bytes) -> bytes:
    return sm4_encrypt(key16, r16(challenge))


def external_cryptogram(scheme: str, key16: bytes, challenge: bytes,
                        d8: bytes | None = None) -> bytes:
    """What EXTERNAL AUTHENTICATE must carry: C (8 bytes) for the session schemes, the
    16-byte CT for sm4-direct (which has no D: d8 is ignored)."""
    if scheme == "sm4-direct":
        return sm4_direct_cryptogram(key16, challenge)
    d = r8(challenge) if d8 is None else d8
    if scheme == "des-session":
        return des_session_cryptogram(key16, challenge, d)
    if scheme == "sm4-session":
        return sm4_session_cryptogram(key16, challenge, d)
    raise ValueError(f"unknown scheme {scheme!r} (expected one of {SCHEMES})")


def internal_authenticate(scheme: str, key16: bytes, r1: bytes, r2: bytes) -> bytes:
    """INTERNAL AUTHENTICATE answer (§4.12): the session construction with R1 as the
    challenge and R2 as D (sm4-session: PD-17)."""
    exact(r1, 8, "R1")
    if scheme == "des-session":
        return des_session_cryptogram(key16, r1, r2)
    if scheme == "sm4-session":
        return sm4_session_cryptogram(key16, r1, r2)
    raise ValueError(f"no internal authentication with scheme {scheme!r}")


# --- PINs -----------------------------------------------------------------------------------

def pin_bcd(pin: str) -> bytes:
    """"123456" -> 12 34 56; an odd number of digits ends with an F nibble."""
    if not pin or any(c not in "0123456789" for c in pin):
        raise ValueError(f"PIN must be a non-empty string of digits 0-9, got {pin!r}")
    return bytes.fromhex(pin + "F" * (len(pin) % 2))


def bcd_pin(data: bytes) -> str | None:
    """Inverse of pin_bcd; None when not PIN BCD (nibble A-E, or F other than last)."""
    digits = bytes(data).hex().upper()
    if digits.endswith("F"):
        digits = digits[:-1]
    if not digits or any(c not in "0123456789" for c in digits):
        return None
    return digits


def pin_block(pin_bcd_bytes: bytes, block: int) -> bytes:
    """pad80(L ‖ PIN, block): the plaintext PIN block of PIN UNBLOCK and PKI CHANGE PIN."""
    return pad80(bytes([len(pin_bcd_bytes)]) + bytes(pin_bcd_bytes), block)


def open_pin_block(plain: bytes, block: int, min_len: int = 2, max_len: int = 6) -> bytes:
    """Card side of pin_block: the PIN BCD bytes, or ValueError (the card's 6A80)."""
    body = unpad80(plain, block)
    if not body or body[0] != len(body) - 1 or not min_len <= body[0] <= max_len:
        raise ValueError("PIN block length byte does not match")
    if bcd_pin(body[1:]) is None:
        raise ValueError("PIN block is not BCD")
    return body[1:]


def pki_pin_key(pin_bcd_bytes: bytes) -> bytes:
    return sm3(pin_bcd_bytes)[:16]


def pki_verify_cryptogram(pin_bcd_bytes: bytes, challenge: bytes) -> bytes:
    return sm4_encrypt(pki_pin_key(pin_bcd_bytes), r16(challenge))


def _p2(p2: int | bytes) -> bytes:
    value = p2 if isinstance(p2, int) else int.from_bytes(exact(p2, 1, "P2"), "big")
    return bytes([value])


def pki_change_pin(old_bcd: bytes, new_bcd: bytes, p2: int | bytes,
                   challenge: bytes) -> tuple[bytes, bytes]:
    """(BODY, MAC) of 84 5E 01 P2 14 (§4.19.8): keyed by the current PIN's hash."""
    key = pki_pin_key(old_bcd)
    body = sm4_encrypt(key, exact(pin_block(new_bcd, 16), 16, "PIN block (new PIN too long)"))
    return body, sm4_mac(key, b"\x84\x5e\x01" + _p2(p2) + b"\x14" + body, r16(challenge))


def pki_change_mk(old_mk: bytes, new_mk: bytes, p2: int | bytes, challenge: bytes,
                  attrs: bytes = b"\0\0\0") -> tuple[bytes, bytes]:
    """(BODY, MAC) of 84 D4 01 P2 24 (§4.19.9): PLAIN = 13 ‖ attrs ‖ new key ‖ 80 00…"""
    plain = pad80(b"\x13" + exact(attrs, 3, "key attributes") + exact(new_mk, 16, "new key"), 16)
    body = sm4_encrypt(old_mk, plain)
    return body, sm4_mac(old_mk, b"\x84\xd4\x01" + _p2(p2) + b"\x24" + body, r16(challenge))


def open_pki_change_mk(old_mk: bytes, body32: bytes) -> tuple[bytes, bytes]:
    """Card side of pki_change_mk: (attrs, new key), or ValueError (the card's 6A80)."""
    plain = unpad80(sm4_decrypt(old_mk, exact(body32, 32, "BODY")), 16)
    if len(plain) != 20 or plain[0] != 0x13:
        raise ValueError("change-master-key block is malformed")
    return plain[1:4], plain[4:]


def pin_unblock_enc(algorithm: str, puk: bytes, new_pin_bcd: bytes) -> bytes:
    """ENC of PIN UNBLOCK (§4.16, PD-20): ECB over pad80(L ‖ PIN) with the PUK."""
    return ecb(algorithm, puk, pin_block(new_pin_bcd, block_size(algorithm)))


def pin_unblock_dec(algorithm: str, puk: bytes, enc: bytes) -> bytes:
    """Card side of pin_unblock_enc: the new PIN BCD (2-6 bytes), or ValueError (6A80)."""
    size = block_size(algorithm)
    return open_pin_block(ecb(algorithm, puk, enc, decrypt=True), size)


def cardid_mac(algorithm: str, irk: bytes, data12: bytes) -> bytes:
    """Card-identification-code MAC over bytes 0-11 (§5.4.12), zero ICV/IV."""
    return mac(algorithm, irk, exact(data12, 12, "card ID bytes 0-11"))


# --- key diversification (§5.4.14, §5.5) ----------------------------------------------------

def diversify(algorithm: str, key16: bytes, factor8: bytes) -> bytes:
    """div3DES(K, f) = 3DES(K, f) ‖ 3DES(K, ¬f); divSM4(K, f) = SM4(K, f ‖ ¬f)."""
    f = exact(factor8, 8, "diversification factor")
    block_size(algorithm)
    return ecb(algorithm, key16, f + complement(f))


def diversify_chain(algorithm: str, root16: bytes, city_div8: bytes, card_div8: bytes) -> bytes:
    """K_card = div(div(K_root, cityDiv), cardDiv)."""
    return diversify(algorithm, diversify(algorithm, root16, city_div8), card_div8)


def city_div(region: str) -> bytes:
    """ASCII of the 6-digit region code ‖ "sx"."""
    if len(region) != 6 or any(c not in "0123456789" for c in region):
        raise ValueError(f"region code must be 6 digits, got {region!r}")
    return region.encode("ascii") + b"sx"


def card_div(atr: bytes) -> bytes:
    """cardDiv (§5.4.14): the last 8 bytes of a T=0 ATR; for an ATR that ends with TCK
    (t1 mode) the last 8 historical bytes (PD-31), so both modes give the same keys."""
    parsed = atrlib.parse(atr)
    hist, tck = parsed.historical, parsed.tck is not None
    if not tck:
        if len(atr) < 8:
            raise ValueError("ATR shorter than 8 bytes")
        return bytes(atr[-8:])
    if len(hist) < 8:
        raise ValueError("ATR with TCK has fewer than 8 historical bytes")
    return hist[-8:]
