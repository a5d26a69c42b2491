"""Card keys held by the terminal itself (a test bench, a personalisation station, a conformance
run): the `Keys` of terminal.session computed locally with the crypto primitives of card §5.4.
The other source is the PSAM (terminal.psam.PsamKeys)."""

from __future__ import annotations

from typing import Callable

from simulator import crypto, schemes

Lookup = Callable[[int, str], tuple[bytes, str]]  # (ref, df) -> (key, scheme)


def scheme_of(generation: int, df: str, ref: int) -> str:
    """Card §5.1: the PKI master keys are sm4-direct, other gen3 keys sm4-session, g1/g2 des-session."""
    if df in ("PKI", "ADF1") and ref == 0x00:
        return "sm4-direct"
    return "sm4-session" if generation == 3 else "des-session"


def _encipher(algorithm: str, key: bytes, plain: bytes) -> bytes:
    return crypto.sm4_encrypt(key, plain) if algorithm == "sm4" else crypto.tdes_encrypt(key, plain)


class KeySet:
    """Keys by (ref, DF) through `lookup`; `version` appends the key-version byte (Lc 11) to the
    session-scheme EXTERNAL AUTHENTICATE data, `d` replaces D (default R8 of the challenge)."""

    def __init__(self, lookup: Lookup, algorithm: str, version: int | None = None, d: bytes | None = None):
        self.lookup, self.algorithm, self.version, self.d = lookup, algorithm, version, d

    @classmethod
    def from_image_keys(cls, keys: dict, generation: int, version: int | None = None) -> "KeySet":
        """From the `keys:` of a card image ({"SSSE": {"0A": HEX}, "DF01": {...}})."""
        def lookup(ref: int, df: str) -> tuple[bytes, str]:
            value = (keys.get(df) or {}).get(f"{ref:02X}")
            if value is None:
                raise KeyError(f"no key {ref:02X} of {df} known to the terminal")
            value = value.get("value") if isinstance(value, dict) else value
            return bytes.fromhex(str(value)), scheme_of(generation, df, ref)

        return cls(lookup, "sm4" if generation == 3 else "3des", version)

    def challenge_length(self, ref: int, df: str) -> int:
        return 16 if self.lookup(ref, df)[1] == "sm4-direct" else 8

    def external(self, ref: int, challenge: bytes, df: str) -> bytes:
        key, scheme = self.lookup(ref, df)
        if scheme == "sm4-direct":
            return schemes.external_cryptogram(scheme, key, challenge)
        d8 = crypto.r8(challenge) if self.d is None else self.d
        version = bytes([self.version]) if self.version is not None else b""
        return schemes.external_cryptogram(scheme, key, challenge, d8) + d8 + version

    def internal(self, ref: int, r1: bytes, r2: bytes, df: str) -> bytes:
        key, scheme = self.lookup(ref, df)
        return schemes.internal_authenticate(scheme, key, r1, r2)

    def mac(self, ref: int, data: bytes, challenge: bytes | None, df: str) -> bytes:
        return crypto.mac(self.algorithm, self.lookup(ref, df)[0], data, challenge)

    def encipher(self, ref: int, plain: bytes, df: str) -> bytes:
        return _encipher(self.algorithm, self.lookup(ref, df)[0], plain)
