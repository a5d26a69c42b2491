"""The card's algorithms (spec §5.4): SM3, SM4, DES/3DES, MACs, cryptograms, diversification.

Every cipher comes from the `cryptography` package; this module only chains blocks, pads,
folds and builds the card's data layouts. SM2 lives in its own adapter (not here).
Algorithm names are the card's: "3des" (g1/g2 keys) and "sm4" (g3 keys); authentication
schemes are "des-session", "sm4-session" and "sm4-direct" (§5.1).
"""

from __future__ import annotations

import hmac
from functools import lru_cache

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ALGORITHMS = ("3des", "sm4")
SCHEMES = ("des-session", "sm4-session", "sm4-direct")


# --- primitives -----------------------------------------------------------------------------

def sm3(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def _need(value: bytes, length: int, what: str) -> bytes:
    if len(value) != length:
        raise ValueError(f"{what} must be {length} bytes, got {len(value)}")
    return bytes(value)


def _blocks(data: bytes, size: int, what: str = "data") -> bytes:
    if len(data) % size:
        raise ValueError(f"{what} length {len(data)} is not a multiple of {size}")
    return bytes(data)


def _cipher_algorithm(kind: str, key: bytes):
    if kind == "sm4":
        return algorithms.SM4(_need(key, 16, "SM4 key"))
    # TripleDES gets 24-byte keys only (8/16-byte keys are deprecated and warn):
    # K‖K‖K is single DES, K1‖K2‖K1 two-key EDE.
    key = _need(key, 8 if kind == "des" else 16, f"{kind.upper()} key")
    return TripleDES(key * 3 if len(key) == 8 else key + key[:8])


@lru_cache(maxsize=512)
def _ecb(kind: str, key: bytes) -> Cipher:
    # The card runs these on every authentication with a handful of keys: build each once.
    return Cipher(_cipher_algorithm(kind, key), modes.ECB())


def _ecb_run(kind: str, key: bytes, data: bytes, decrypt: bool = False) -> bytes:
    cipher = _ecb(kind, bytes(key))
    ctx = cipher.decryptor() if decrypt else cipher.encryptor()
    return ctx.update(_blocks(data, 16 if kind == "sm4" else 8)) + ctx.finalize()


def _cbc_last_block(kind: str, key: bytes, iv: bytes, data: bytes) -> bytes:
    """Last CBC output block (the MAC chain value); the IV itself when data is empty."""
    if not data:
        return bytes(iv)
    ctx = Cipher(_cipher_algorithm(kind, bytes(key)), modes.CBC(bytes(iv))).encryptor()
    return (ctx.update(_blocks(data, len(iv))) + ctx.finalize())[-len(iv):]


def sm4_encrypt(key16: bytes, data: bytes) -> bytes:
    return _ecb_run("sm4", key16, data)


def sm4_decrypt(key16: bytes, data: bytes) -> bytes:
    return _ecb_run("sm4", key16, data, decrypt=True)


def des_encrypt(key8: bytes, data: bytes) -> bytes:
    return _ecb_run("des", key8, data)


def des_decrypt(key8: bytes, data: bytes) -> bytes:
    return _ecb_run("des", key8, data, decrypt=True)


def tdes_encrypt(key16: bytes, data: bytes) -> bytes:
    return _ecb_run("3des", key16, data)


def tdes_decrypt(key16: bytes, data: bytes) -> bytes:
    return _ecb_run("3des", key16, data, decrypt=True)


def _block_size(algorithm: str) -> int:
    """8 for "3des", 16 for "sm4": the two key algorithms of the card (§5.1)."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r} (expected one of {ALGORITHMS})")
    return 8 if algorithm == "3des" else 16


def constant_time_equal(a: bytes, b: bytes) -> bool:
    """Compare cryptograms and MACs without leaking where they differ."""
    return hmac.compare_digest(bytes(a), bytes(b))


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _not(f: bytes) -> bytes:
    return bytes(x ^ 0xFF for x in f)


# --- padding, folding, challenge adaptation ----------------------------------------------------

def pad80(data: bytes, block: int) -> bytes:
    """ISO/IEC 9797-1 padding method 2: always adds 80, then 00s up to a multiple of block."""
    padded = bytes(data) + b"\x80"
    return padded + bytes(-len(padded) % block)


def unpad80(data: bytes, block: int | None = None) -> bytes:
    """Inverse of pad80; ValueError when the padding is bad (with block: also a bad length)."""
    if block is not None and (not data or len(data) % block):
        raise ValueError(f"padded length {len(data)} is not a positive multiple of {block}")
    body = bytes(data).rstrip(b"\x00")
    if not body or body[-1] != 0x80:
        raise ValueError("bad 80 padding")
    if block is not None and len(data) - len(body) + 1 > block:
        raise ValueError("80 padding longer than one block")
    return body[:-1]


def fold8(x16: bytes) -> bytes:
    x = _need(x16, 16, "fold8 input")
    return _xor(x[:8], x[8:])


def fold4(y16: bytes) -> bytes:
    y = _need(y16, 16, "fold4 input")
    return _xor(_xor(y[0:4], y[4:8]), _xor(y[8:12], y[12:16]))


def _challenge(challenge: bytes) -> bytes:
    if len(challenge) not in (4, 8, 16):
        raise ValueError(f"challenge must be 4, 8 or 16 bytes, got {len(challenge)}")
    return bytes(challenge)


def r8(challenge: bytes) -> bytes:
    """R8 (§5.3, PD-11): an 8-byte challenge; 4 bytes ‖ 00×4; the first 8 of 16."""
    return (_challenge(challenge) + bytes(4))[:8]


def r16(challenge: bytes) -> bytes:
    """R16 (§5.3, PD-11): a 16-byte challenge; 8 bytes ‖ 00×8; 4 bytes ‖ 00×12."""
    c = _challenge(challenge)
    return c + bytes(16 - len(c))


_r8 = r8  # for functions whose parameter is itself named r8


# --- MACs (§5.4.6) ---------------------------------------------------------------------------

def retail_mac8(key16: bytes, data: bytes, icv: bytes = bytes(8)) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3: DES-CBC with K1, the last block with 3DES(K)."""
    key = _need(key16, 16, "retail MAC key")
    blocks = pad80(data, 8)
    chain = _cbc_last_block("des", key[:8], _need(icv, 8, "ICV"), blocks[:-8])
    return tdes_encrypt(key, _xor(chain, blocks[-8:]))


def retail_mac(key16: bytes, data: bytes, icv: bytes = bytes(8)) -> bytes:
    return retail_mac8(key16, data, icv)[:4]


def sm4_mac_block(key16: bytes, data: bytes, iv: bytes) -> bytes:
    """Y: the last SM4-CBC block over pad80(data, 16)."""
    return _cbc_last_block("sm4", key16, _need(iv, 16, "IV"), pad80(data, 16))


def sm4_mac(key16: bytes, data: bytes, iv: bytes = bytes(16)) -> bytes:
    return fold4(sm4_mac_block(key16, data, iv))


def mac(algorithm: str, key16: bytes, data: bytes, challenge: bytes | None = None) -> bytes:
    """The 4-byte MAC of CLA 84 commands: ICV/IV = the challenge (R8 / R16), zero without one."""
    if algorithm == "3des":
        return retail_mac(key16, data, r8(challenge) if challenge is not None else bytes(8))
    if algorithm == "sm4":
        return sm4_mac(key16, data, r16(challenge) if challenge is not None else bytes(16))
    raise ValueError(f"unknown algorithm {algorithm!r} (expected one of {ALGORITHMS})")


# --- authentication (§5.4.2–§5.4.5) ----------------------------------------------------------

def des_session_key(key16: bytes, r8: bytes) -> bytes:
    return tdes_encrypt(key16, _r8(r8))


def des_session_cryptogram(key16: bytes, challenge: bytes, d8: bytes) -> bytes:
    return des_encrypt(des_session_key(key16, challenge), _need(d8, 8, "D"))


def sm4_session_key(key16: bytes, r8: bytes) -> bytes:
    return sm4_encrypt(key16, _r8(r8) + bytes(8))


def sm4_session_x(key16: bytes, challenge: bytes, d8: bytes) -> bytes:
    # PD-16: R enters only SK; D (any 8 bytes) is the input of X.
    return sm4_encrypt(sm4_session_key(key16, challenge), _need(d8, 8, "D") + bytes(8))


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
    _need(r1, 8, "R1")
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
    value = p2 if isinstance(p2, int) else int.from_bytes(_need(p2, 1, "P2"), "big")
    return bytes([value])


def pki_change_pin(old_bcd: bytes, new_bcd: bytes, p2: int | bytes,
                   challenge: bytes) -> tuple[bytes, bytes]:
    """(BODY, MAC) of 84 5E 01 P2 14 (§4.19.8): keyed by the current PIN's hash."""
    key = pki_pin_key(old_bcd)
    body = sm4_encrypt(key, _need(pin_block(new_bcd, 16), 16, "PIN block (new PIN too long)"))
    return body, sm4_mac(key, b"\x84\x5e\x01" + _p2(p2) + b"\x14" + body, r16(challenge))


def pki_change_mk(old_mk: bytes, new_mk: bytes, p2: int | bytes, challenge: bytes,
                  attrs: bytes = b"\0\0\0") -> tuple[bytes, bytes]:
    """(BODY, MAC) of 84 D4 01 P2 24 (§4.19.9): PLAIN = 13 ‖ attrs ‖ new key ‖ 80 00…"""
    plain = pad80(b"\x13" + _need(attrs, 3, "key attributes") + _need(new_mk, 16, "new key"), 16)
    body = sm4_encrypt(old_mk, plain)
    return body, sm4_mac(old_mk, b"\x84\xd4\x01" + _p2(p2) + b"\x24" + body, r16(challenge))


def open_pki_change_mk(old_mk: bytes, body32: bytes) -> tuple[bytes, bytes]:
    """Card side of pki_change_mk: (attrs, new key), or ValueError (the card's 6A80)."""
    plain = unpad80(sm4_decrypt(old_mk, _need(body32, 32, "BODY")), 16)
    if len(plain) != 20 or plain[0] != 0x13:
        raise ValueError("change-master-key block is malformed")
    return plain[1:4], plain[4:]


def pin_unblock_enc(algorithm: str, puk: bytes, new_pin_bcd: bytes) -> bytes:
    """ENC of PIN UNBLOCK (§4.16, PD-20): ECB over pad80(L ‖ PIN) with the PUK."""
    return _ecb_run(algorithm, puk, pin_block(new_pin_bcd, _block_size(algorithm)))


def pin_unblock_dec(algorithm: str, puk: bytes, enc: bytes) -> bytes:
    """Card side of pin_unblock_enc: the new PIN BCD (2-6 bytes), or ValueError (6A80)."""
    size = _block_size(algorithm)
    return open_pin_block(_ecb_run(algorithm, puk, enc, decrypt=True), size)


def cardid_mac(algorithm: str, irk: bytes, data12: bytes) -> bytes:
    """Card-identification-code MAC over bytes 0-11 (§5.4.12), zero ICV/IV."""
    return mac(algorithm, irk, _need(data12, 12, "card ID bytes 0-11"))


# --- key diversification (§5.4.14, §5.5) ----------------------------------------------------

def diversify(algorithm: str, key16: bytes, factor8: bytes) -> bytes:
    """div3DES(K, f) = 3DES(K, f) ‖ 3DES(K, ¬f); divSM4(K, f) = SM4(K, f ‖ ¬f)."""
    f = _need(factor8, 8, "diversification factor")
    _block_size(algorithm)
    return _ecb_run(algorithm, key16, f + _not(f))


def diversify_chain(algorithm: str, root16: bytes, city_div8: bytes, card_div8: bytes) -> bytes:
    """K_card = div(div(K_root, cityDiv), cardDiv)."""
    return diversify(algorithm, diversify(algorithm, root16, city_div8), card_div8)


def city_div(region: str) -> bytes:
    """ASCII of the 6-digit region code ‖ "sx"."""
    if len(region) != 6 or any(c not in "0123456789" for c in region):
        raise ValueError(f"region code must be 6 digits, got {region!r}")
    return region.encode("ascii") + b"sx"


def atr_parse(atr: bytes) -> tuple[bytes, bool]:
    """(historical bytes, TCK present) from T0 and the TDi chain (ISO/IEC 7816-3)."""
    atr = bytes(atr)
    if len(atr) < 2:
        raise ValueError("ATR shorter than TS T0")
    pos, y, k = 2, atr[1] >> 4, atr[1] & 0x0F
    tck = False
    while True:
        pos += bin(y & 0x7).count("1")            # TAi, TBi, TCi
        if not y & 0x8:
            break
        if pos >= len(atr):
            raise ValueError("ATR truncated in its interface bytes")
        td = atr[pos]
        pos += 1
        tck = tck or (td & 0x0F) != 0             # any protocol other than T=0 brings TCK
        y = td >> 4
    end = pos + k
    if end + tck != len(atr):
        raise ValueError(f"ATR length {len(atr)} does not match its T0/TDi (expected {end + tck})")
    return atr[pos:end], tck


def card_div(atr: bytes) -> bytes:
    """cardDiv (§5.4.14): the last 8 bytes of a T=0 ATR; for an ATR that ends with TCK
    (t1 mode) the last 8 historical bytes (PD-31), so both modes give the same keys."""
    hist, tck = atr_parse(atr)
    if not tck:
        if len(atr) < 8:
            raise ValueError("ATR shorter than 8 bytes")
        return bytes(atr[-8:])
    if len(hist) < 8:
        raise ValueError("ATR with TCK has fewer than 8 historical bytes")
    return hist[-8:]


def sample_root_key(label: str) -> bytes:
    """Synthetic root key of the sample cards: SM3(ASCII label)[0:16]."""
    return sm3(label.encode("ascii"))[:16]
