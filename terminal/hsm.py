"""The HSM (加密机) of the two-step reads (ssc-terminal.md §4.4.8): the protocol a deployment's HSM
service implements, and the test bench's stub that derives the card keys from the synthetic roots of
card §5.5 (root = SM3("SSC-DEMO-ROOT/<D>/<P2>")[0:16], then cityDiv, then cardDiv)."""

from __future__ import annotations

from typing import Callable, Protocol

from simulator import samplekeys, schemes
from simulator.samplekeys import root_label

from .errors import ParamError

Roots = Callable[[str, str], bytes]  # (DF designation, key reference) -> root key


class Hsm(Protocol):
    def authenticate(self, step1: str, purpose: str) -> str: ...  # step 1 output -> pKey


def sample_root(designation: str, ref: str) -> bytes:
    return samplekeys.sample_root_key(root_label(designation, ref))


class StubHsm:
    """Answers `read-basic` step 1 strings: `<internal answer><S1>|<C><S3>|` (HSM-READ-G3)."""

    def __init__(self, roots: Roots = sample_root):
        self.roots = roots
        self.requests: list[tuple[str, str]] = []  # what it was asked, for tests and traces

    def card_key(self, ref: str, region: str, atr_hist: bytes, algorithm: str) -> bytes:
        return schemes.diversify_chain(algorithm, self.roots("SSSE", ref), schemes.city_div(region), atr_hist[-8:])

    def authenticate(self, step1: str, purpose: str) -> str:
        self.requests.append((step1, purpose))
        fields = step1.split("|")
        if purpose != "read-basic" or len(fields) < 9:
            raise ParamError(-14, f"the stub HSM answers read-basic step 1 strings, got {purpose!r}: {step1!r}")
        region, hist, flag = fields[0], bytes.fromhex(fields[1]), fields[2]
        s2, s1, s4, s3 = (bytes.fromhex(f) for f in fields[4:8])
        algorithm = "sm4" if flag == "03" else "3des"
        scheme = "sm4-session" if algorithm == "sm4" else "des-session"
        internal = schemes.internal_authenticate(scheme, self.card_key("01", region, hist, algorithm), s2, s1)
        external = schemes.external_cryptogram(scheme, self.card_key("0A", region, hist, algorithm), s4, s3)
        return f"{(internal + s1).hex().upper()}|{(external + s3).hex().upper()}|"
