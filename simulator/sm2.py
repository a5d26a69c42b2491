"""SM2 (GB/T 32918, recommended 256-bit curve): the one adapter over gmssl-pyx.

The card and personalisation call only this module. Formats at this boundary are the card's own
(spec §5.4.1): public keys are 64 bytes X ‖ Y (no 04), signatures are raw r ‖ s (64 bytes) and
ciphertexts are C1 ‖ C3 ‖ C2 with C1 = x ‖ y. gmssl-pyx wants DER signatures and DER SM2Cipher
ciphertexts (GM/T 0009), so we convert here.

Everything gmssl-pyx can do goes through it (key generation, sign, verify, encrypt, decrypt, SM3,
KDF). It has no point arithmetic and no way to force the ephemeral k, and it caps plaintexts at
255 bytes; for those gaps only, this module has a few lines of plain integer curve arithmetic.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable

import gmssl_pyx
from asn1crypto import algos, core

__all__ = [
    "P", "A", "B", "N", "GX", "GY", "DEFAULT_ID", "Sm2Error",
    "generate_keypair", "public_from_private", "on_curve", "sign", "verify", "z_value",
    "encrypt", "decrypt", "der_signature", "raw_signature", "sm3",
]

# GB/T 32918.5 recommended curve: y^2 = x^3 + ax + b over F_p, cofactor 1.
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

DEFAULT_ID = b"1234567812345678"  # GM/T 0009 default signer ID
_LIB_MAX_PLAINTEXT = 255  # gmssl-pyx sm2_encrypt / sm2_decrypt bound
_MIN_CIPHERTEXT = 64 + 32 + 1  # C1 + C3 + at least one byte of C2 (spec §4.19.5: 97)


class Sm2Error(ValueError):
    """Bad key, point, signature encoding or ciphertext (the card answers 6A80)."""


def sm3(data: bytes) -> bytes:
    return gmssl_pyx.sm3_hash(data)


# --- curve arithmetic (affine; None is the point at infinity) -------------------------------
# Only for what gmssl-pyx does not expose: d·G for a given d, k·P with a forced k, on-curve test.

def _add(p1, p2):
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2 and (y1 + y2) % P == 0:
        return None  # P + (-P)
    if p1 == p2:
        lam = (3 * x1 * x1 + A) * pow(2 * y1, -1, P) % P  # tangent slope
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, P) % P  # chord slope
    x3 = (lam * lam - x1 - x2) % P
    return x3, (lam * (x1 - x3) - y1) % P


def _mul(k: int, point):
    """k·point by double-and-add (not constant time: test tooling, not a real card)."""
    result = None
    for bit in bin(k)[2:]:
        result = _add(result, result)
        if bit == "1":
            result = _add(result, point)
    return result


def _point(pub64: bytes) -> tuple[int, int]:
    if not on_curve(pub64):
        raise Sm2Error("point is not on the SM2 curve (or not 64 bytes X ‖ Y)")
    return int.from_bytes(pub64[:32], "big"), int.from_bytes(pub64[32:], "big")


def _bytes64(pt) -> bytes:
    return pt[0].to_bytes(32, "big") + pt[1].to_bytes(32, "big")


def _check_d(d: int) -> None:
    if not isinstance(d, int) or not 1 <= d <= N - 2:
        raise Sm2Error("private key d must be in [1, n-2]")


def on_curve(pub64: bytes) -> bool:
    if not isinstance(pub64, (bytes, bytearray)) or len(pub64) != 64:
        return False
    x, y = int.from_bytes(pub64[:32], "big"), int.from_bytes(pub64[32:], "big")
    return x < P and y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def public_from_private(d: int) -> bytes:
    _check_d(d)
    return _public(d)


@functools.lru_cache(maxsize=1024)
def _public(d: int) -> bytes:
    # d·G in plain Python costs tens of ms; a card signs with the same few keys again and again
    return _bytes64(_mul(d, (GX, GY)))


# --- keys ------------------------------------------------------------------------------------

def generate_keypair(random: Callable[[int], bytes] | None = None) -> tuple[int, bytes]:
    """(d, X ‖ Y). With `random`, d is drawn from it by rejection sampling, so tests can force it."""
    for _ in range(64):
        if random is None:
            pub, priv = gmssl_pyx.sm2_key_generate()
            d = int.from_bytes(priv, "big")
            if 1 <= d <= N - 2:
                return d, bytes(pub)
        else:
            d = int.from_bytes(random(32), "big")
            if 1 <= d <= N - 2:  # reject instead of reducing: no bias, and forced values stay as given
                return d, public_from_private(d)
    raise Sm2Error("random source gave no usable private key in 64 draws")


# --- signatures ------------------------------------------------------------------------------

def z_value(pub64: bytes, signer_id: bytes = DEFAULT_ID) -> bytes:
    """Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA), ENTL = bit length of ID (16 bits)."""
    _point(pub64)
    if len(signer_id) >= 1 << 13:
        raise Sm2Error("signer ID longer than 8191 bytes")
    curve = b"".join(v.to_bytes(32, "big") for v in (A, B, GX, GY))
    return sm3((len(signer_id) * 8).to_bytes(2, "big") + signer_id + curve + bytes(pub64))


def der_signature(sig64: bytes) -> bytes:
    """Raw r ‖ s -> DER ECDSA-Sig-Value SEQUENCE {r INTEGER, s INTEGER} (X.509, gmssl-pyx)."""
    if len(sig64) != 64:
        raise Sm2Error("raw SM2 signature must be 64 bytes")
    r, s = int.from_bytes(sig64[:32], "big"), int.from_bytes(sig64[32:], "big")
    return algos.DSASignature({"r": r, "s": s}).dump()


def raw_signature(der: bytes) -> bytes:
    """DER SEQUENCE {r, s} -> raw r ‖ s, each left-padded to 32 bytes."""
    try:
        parsed = algos.DSASignature.load(bytes(der), strict=True)
        r, s = parsed["r"].native, parsed["s"].native
    except (ValueError, TypeError, KeyError) as exc:
        raise Sm2Error(f"bad DER signature: {exc}") from None
    if not (0 <= r < 1 << 256 and 0 <= s < 1 << 256):
        raise Sm2Error("signature component out of range")
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def sign(d: int, pub64: bytes, message: bytes, signer_id: bytes = DEFAULT_ID) -> bytes:
    """SM2 signature over SM3(Z ‖ M); the library draws k. Returns raw r ‖ s."""
    _check_d(d)
    _point(pub64)
    # A wrong public key would silently change Z and give signatures nobody can verify.
    if public_from_private(d) != bytes(pub64):
        raise Sm2Error("public key does not belong to d")
    try:
        der = gmssl_pyx.sm2_sign(d.to_bytes(32, "big"), bytes(pub64), bytes(message), signer_id)
    except gmssl_pyx.GmsslInnerError as exc:
        raise Sm2Error(f"gmssl-pyx refused to sign: {exc}") from None
    return raw_signature(der)


def verify(pub64: bytes, message: bytes, sig64: bytes, signer_id: bytes = DEFAULT_ID) -> bool:
    if not on_curve(pub64) or len(sig64) != 64:
        return False
    r, s = int.from_bytes(sig64[:32], "big"), int.from_bytes(sig64[32:], "big")
    if not (1 <= r < N and 1 <= s < N):  # GB/T 32918.2 verification step B1/B2
        return False
    try:
        return bool(gmssl_pyx.sm2_verify(bytes(pub64), bytes(message), der_signature(sig64), signer_id))
    except gmssl_pyx.GmsslInnerError:
        return False


# --- encryption (C1 ‖ C3 ‖ C2) ------------------------------------------------------------------

class _Sm2Cipher(core.Sequence):
    """GM/T 0009 SM2Cipher, the DER form gmssl-pyx reads and writes."""
    _fields = [
        ("x", core.Integer),
        ("y", core.Integer),
        ("hash", core.OctetString),
        ("ciphertext", core.OctetString),
    ]


def _kdf(z: bytes, length: int) -> bytes:
    return gmssl_pyx.sm3_kdf(z, length)


def _encrypt_with_k(pub: tuple[int, int], plaintext: bytes, k: int) -> bytes:
    """GB/T 32918.4 steps A2–A8 with a given k (the library cannot take k)."""
    c1 = _bytes64(_mul(k, (GX, GY)))
    shared = _bytes64(_mul(k, pub))  # x2 ‖ y2; h = 1 so no cofactor step
    t = _kdf(shared, len(plaintext))
    if not any(t):
        raise Sm2Error("KDF output is all zero for this k; choose another k")
    c2 = bytes(m ^ b for m, b in zip(plaintext, t))
    c3 = sm3(shared[:32] + plaintext + shared[32:])
    return c1 + c3 + c2


def encrypt(pub64: bytes, plaintext: bytes, k: int | None = None) -> bytes:
    """SM2-encrypt for pub64 -> C1 ‖ C3 ‖ C2. Pass k only for reproducible test vectors."""
    pub = _point(pub64)
    plaintext = bytes(plaintext)
    if not plaintext:
        raise Sm2Error("SM2 cannot encrypt an empty message")
    if k is not None:
        if not 1 <= k <= N - 1:
            raise Sm2Error("k must be in [1, n-1]")
        return _encrypt_with_k(pub, plaintext, k)
    if len(plaintext) > _LIB_MAX_PLAINTEXT:
        while True:  # beyond the library's bound: same maths, k from the OS CSPRNG
            try:
                return _encrypt_with_k(pub, plaintext, 1 + secrets.randbelow(N - 1))
            except Sm2Error:
                continue
    try:
        der = gmssl_pyx.sm2_encrypt(bytes(pub64), plaintext)
    except gmssl_pyx.GmsslInnerError as exc:
        raise Sm2Error(f"gmssl-pyx refused to encrypt: {exc}") from None
    c = _Sm2Cipher.load(der)
    return (c["x"].native.to_bytes(32, "big") + c["y"].native.to_bytes(32, "big")
            + c["hash"].native + c["ciphertext"].native)


def decrypt(d: int, ciphertext: bytes) -> bytes:
    """C1 ‖ C3 ‖ C2 -> plaintext. Sm2Error on a short input, C1 off the curve or a C3 mismatch."""
    _check_d(d)
    ciphertext = bytes(ciphertext)
    if len(ciphertext) < _MIN_CIPHERTEXT:
        raise Sm2Error(f"SM2 ciphertext shorter than {_MIN_CIPHERTEXT} bytes")
    c1, c3, c2 = ciphertext[:64], ciphertext[64:96], ciphertext[96:]
    point = _point(c1)  # checked here so the error does not depend on the library's checks
    if len(c2) > _LIB_MAX_PLAINTEXT:
        shared = _bytes64(_mul(d, point))  # GB/T 32918.4 steps B3–B6, beyond the library's bound
        t = _kdf(shared, len(c2))
        plain = bytes(c ^ b for c, b in zip(c2, t))
        if not any(t) or sm3(shared[:32] + plain + shared[32:]) != c3:
            raise Sm2Error("SM2 decryption failed (C3 mismatch)")
        return plain
    der = _Sm2Cipher({"x": point[0], "y": point[1], "hash": c3, "ciphertext": c2}).dump()
    try:
        return bytes(gmssl_pyx.sm2_decrypt(d.to_bytes(32, "big"), der))
    except gmssl_pyx.GmsslInnerError:  # C3 mismatch is the only failure left after our checks
        raise Sm2Error("SM2 decryption failed (C3 mismatch)") from None
