"""The card's cipher primitives (spec §5.4): SM3, SM4, DES/3DES, pad80, folds, the MACs.

Every cipher comes from the `cryptography` package; this module only chains blocks, pads and
folds. What the card builds from them (session keys, cryptograms, PIN blocks, diversification)
is in `schemes`; SM2 has its own adapter. Algorithm names are the card's: "3des" (g1/g2 keys)
and "sm4" (g3 keys).
"""

from __future__ import annotations

import hmac
from functools import lru_cache

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ALGORITHMS = ("3des", "sm4")


# --- primitives -----------------------------------------------------------------------------

def sm3(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def exact(value: bytes, length: int, what: str) -> bytes:
    """value as bytes, or ValueError naming `what` when it is not `length` bytes long."""
    if len(value) != length:
        raise ValueError(f"{what} must be {length} bytes, got {len(value)}")
    return bytes(value)


def _blocks(data: bytes, size: int, what: str = "data") -> bytes:
    if len(data) % size:
        raise ValueError(f"{what} length {len(data)} is not a multiple of {size}")
    return bytes(data)


def _cipher_algorithm(kind: str, key: bytes):
    if kind == "sm4":
        return algorithms.SM4(exact(key, 16, "SM4 key"))
    # TripleDES gets 24-byte keys only (8/16-byte keys are deprecated and warn):
    # K‖K‖K is single DES, K1‖K2‖K1 two-key EDE.
    key = exact(key, 8 if kind == "des" else 16, f"{kind.upper()} key")
    return TripleDES(key * 3 if len(key) == 8 else key + key[:8])


@lru_cache(maxsize=512)
def _ecb(kind: str, key: bytes) -> Cipher:
    # The card runs these on every authentication with a handful of keys: build each once.
    return Cipher(_cipher_algorithm(kind, key), modes.ECB())


def ecb(kind: str, key: bytes, data: bytes, decrypt: bool = False) -> bytes:
    """ECB over whole blocks with "des", "3des" or "sm4"."""
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
    return ecb("sm4", key16, data)


def sm4_decrypt(key16: bytes, data: bytes) -> bytes:
    return ecb("sm4", key16, data, decrypt=True)


def des_encrypt(key8: bytes, data: bytes) -> bytes:
    return ecb("des", key8, data)


def des_decrypt(key8: bytes, data: bytes) -> bytes:
    return ecb("des", key8, data, decrypt=True)


def tdes_encrypt(key16: bytes, data: bytes) -> bytes:
    return ecb("3des", key16, data)


def tdes_decrypt(key16: bytes, data: bytes) -> bytes:
    return ecb("3des", key16, data, decrypt=True)


def block_size(algorithm: str) -> int:
    """8 for "3des", 16 for "sm4": the two key algorithms of the card (§5.1)."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r} (expected one of {ALGORITHMS})")
    return 8 if algorithm == "3des" else 16


def constant_time_equal(a: bytes, b: bytes) -> bool:
    """Compare cryptograms and MACs without leaking where they differ."""
    return hmac.compare_digest(bytes(a), bytes(b))


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def complement(f: bytes) -> bytes:
    """¬f: every bit inverted (the second half of a diversification input)."""
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
    x = exact(x16, 16, "fold8 input")
    return _xor(x[:8], x[8:])


def fold4(y16: bytes) -> bytes:
    y = exact(y16, 16, "fold4 input")
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


# --- MACs (§5.4.6) ---------------------------------------------------------------------------

def retail_mac8(key16: bytes, data: bytes, icv: bytes = bytes(8)) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3: DES-CBC with K1, the last block with 3DES(K)."""
    key = exact(key16, 16, "retail MAC key")
    blocks = pad80(data, 8)
    chain = _cbc_last_block("des", key[:8], exact(icv, 8, "ICV"), blocks[:-8])
    return tdes_encrypt(key, _xor(chain, blocks[-8:]))


def retail_mac(key16: bytes, data: bytes, icv: bytes = bytes(8)) -> bytes:
    return retail_mac8(key16, data, icv)[:4]


def sm4_mac_block(key16: bytes, data: bytes, iv: bytes) -> bytes:
    """Y: the last SM4-CBC block over pad80(data, 16)."""
    return _cbc_last_block("sm4", key16, exact(iv, 16, "IV"), pad80(data, 16))


def sm4_mac(key16: bytes, data: bytes, iv: bytes = bytes(16)) -> bytes:
    return fold4(sm4_mac_block(key16, data, iv))


def mac(algorithm: str, key16: bytes, data: bytes, challenge: bytes | None = None) -> bytes:
    """The 4-byte MAC of CLA 84 commands: ICV/IV = the challenge (R8 / R16), zero without one."""
    if algorithm == "3des":
        return retail_mac(key16, data, r8(challenge) if challenge is not None else bytes(8))
    if algorithm == "sm4":
        return sm4_mac(key16, data, r16(challenge) if challenge is not None else bytes(16))
    raise ValueError(f"unknown algorithm {algorithm!r} (expected one of {ALGORITHMS})")
