"""Personalise the gen3 PKI application the way the issuing flow does: through the card's APDUs.

The card generates the signing key pair itself (8040); the issuer wraps a fresh SM4 key for the
exported signing key in a GM/T 0016-style envelope, the card opens it (804E) and loads it (804A),
and the issuer's encryption key pair comes in through 80C2 (public key, then the private key
wrapped with that SM4 key). Both certificates come from the fictional test CA (simulator.certs)
and are written with UPDATE BINARY in 112-byte pieces, as field tools do.

With a seed every key, challenge and serial number is the same on every run: the card's random
source and the issuer's are seeded generators (not for real keys, which come from os.urandom).
The certificates' SM2 signatures take their nonce from gmssl-pyx, so their bytes differ from one
process to the next; within a process the same inputs give the same certificate (memoised).
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
import random as _random
from pathlib import Path

import yaml

from . import certs, crypto, sm2
from .card import Card

PKI_AID = bytes.fromhex("504B492EC9E7BBE1B1A3D5CF")
ADF1_AID = bytes.fromhex("53532E434552542E41444631")
ADF1 = "PKI/SS.CERT.ADF1"
PIECE = 112  # bytes per UPDATE BINARY
DEFAULT_NOT_BEFORE = _dt.datetime(2024, 1, 1, tzinfo=_dt.timezone.utc)  # when EF05 has no issue date


class PersonalisationError(RuntimeError):
    """The card refused a step of the issuing flow; names the command and its status word."""


def _sources(seed: int | None):
    """(card random, issuer random): seeded generators with a seed, else os.urandom."""
    if seed is None:
        return os.urandom, os.urandom
    card, issuer = (_random.Random(f"sscard-pki/{seed}/{who}") for who in ("card", "issuer"))
    return card.randbytes, issuer.randbytes


def _send(card: Card, what: str, apdu: bytes) -> bytes:
    """Send one C-APDU, follow 61xx with GET RESPONSE, require 9000; the response data."""
    r = card.transmit(apdu)
    if r[-2] == 0x61:
        r = card.transmit(b"\x00\xC0\x00\x00" + r[-1:])
    if r[-2:] != b"\x90\x00":
        raise PersonalisationError(f"{what}: the card answered {r[-2:].hex().upper()} to {apdu.hex().upper()}")
    return r[:-2]


def _apdu(header: str, data: bytes = b"", le: int | None = None) -> bytes:
    out = bytes.fromhex(header) + (bytes([len(data)]) + data if data else b"")
    return out + (bytes([le & 0xFF]) if le is not None else b"")


def _verify(card: Card, p2: int, pin_bcd: bytes, what: str) -> None:
    challenge = _send(card, "GET CHALLENGE", _apdu("00840000", le=16))
    _send(card, what, _apdu(f"002001{p2:02X}", crypto.pki_verify_cryptogram(pin_bcd, challenge)))


def _holder(image: dict) -> tuple[str, str | None]:
    person = image.get("person") or {}
    ef06 = (image.get("data") or {}).get("SSSE/EF06") or {}
    name = person.get("name") or ef06.get("09")
    if not name:
        raise ValueError("the image names no holder (person.name or SSSE/EF06 tag 09)")
    ssn = person.get("ssn") or ef06.get("08")
    return str(name), str(ssn) if ssn else None


def _not_before(image: dict) -> _dt.datetime:
    issued = str(((image.get("data") or {}).get("SSSE/EF05") or {}).get("05") or "")
    try:
        return _dt.datetime.strptime(issued, "%Y%m%d").replace(tzinfo=_dt.timezone.utc)
    except ValueError:
        return DEFAULT_NOT_BEFORE


@functools.lru_cache(maxsize=64)
def _certificate(name: str, pub64: bytes, serial: int, not_before: _dt.datetime, usage: str,
                 ssn: str | None) -> bytes:
    # Memoised: the library draws the signature nonce, so this is what makes a seed repeatable
    # within a process (new_image(p, 7) == new_image(p, 7)).
    return certs.issue_certificate(certs.test_ca(), name, pub64, serial, not_before, usage=usage, ssn=ssn)


def _write_file(card: Card, fid: int, content: bytes, what: str) -> None:
    size = card.model.efs[f"{ADF1}/{fid:04X}"].size
    if len(content) > size:
        raise PersonalisationError(f"{what}: {len(content)} bytes do not fit in EF{fid:04X} ({size} bytes)")
    _send(card, f"SELECT {fid:04X}", _apdu("00A4000C", fid.to_bytes(2, "big")))
    for offset in range(0, len(content), PIECE):
        _send(card, f"{what} at offset {offset}",
              _apdu(f"00D6{offset:04X}", content[offset: offset + PIECE]))


def personalise_pki(image: dict, seed: int | None = None) -> dict:
    """The gen3 image with its PKI application personalised through APDUs (the exported image)."""
    card_random, issuer_random = _sources(seed)
    card = Card.from_dict(image, random=card_random, source="<pki personalisation>")
    if ADF1 not in card.model.dfs:
        raise ValueError(f"{image.get('profile')} card has no PKI application (gen3 only)")
    name, ssn = _holder(image)
    pins = card.model.dfs[ADF1].pins
    card.power_on()
    _send(card, "SELECT PKI", _apdu("00A40400", PKI_AID, 0))
    _send(card, "SELECT SS.CERT.ADF1", _apdu("00A40400", ADF1_AID, 0))
    _verify(card, 0x81, pins[0x81].value, "VERIFY user PIN")

    refs = bytes.fromhex("C0020012C2020013")
    _send(card, "GENERATE SM2 KEY PAIR", _apdu("80400000", refs))
    _send(card, "EXPORT PUBLIC KEY", _apdu("80C98200", refs))
    exported = _send(card, "EXPORT PUBLIC KEY (data)", _apdu("80C98280", le=0))
    sign_pub = exported[2:]  # terminals drop the 2-byte prefix (§4.19.4)

    # GM/T 0016-style envelope: a fresh SM4 key, SM2-encrypted to the card's signing key.
    wrap_key = issuer_random(16)
    k = None if seed is None else 1 + int.from_bytes(issuer_random(32), "big") % (sm2.N - 1)
    envelope = sm2.encrypt(sign_pub, wrap_key, k=k)
    _verify(card, 0x00, pins[0x00].value, "VERIFY admin PIN")
    body = bytes.fromhex("C2020013C182") + len(envelope).to_bytes(2, "big") + envelope
    opened = _send(card, "SM2 DECRYPT ENVELOPE", _apdu("804E0001", body))
    if opened != wrap_key:
        raise PersonalisationError("SM2 DECRYPT ENVELOPE returned another key than the one wrapped")
    _send(card, "LOAD SM4 KEY", _apdu("804A0210", b"\xC1\x10" + opened))

    enc_d, enc_pub = sm2.generate_keypair(random=issuer_random if seed is not None else None)
    _send(card, "IMPORT KEY (public)", _apdu("80C24000", bytes.fromhex("C0020014CA40") + enc_pub))
    wrapped = crypto.sm4_encrypt(opened, enc_d.to_bytes(32, "big"))
    _send(card, "IMPORT KEY (private)", _apdu("80C2C001", bytes.fromhex("C2020015CB20") + wrapped))

    not_before = _not_before(image)
    serials = [1 + int.from_bytes(issuer_random(8), "big") for _ in range(2)]
    for fid, pub, serial, usage in ((0x0018, sign_pub, serials[0], "signing"),
                                    (0x0019, enc_pub, serials[1], "encryption")):
        der = _certificate(name, pub, serial, not_before, usage, ssn)
        _write_file(card, fid, der, f"UPDATE BINARY {usage} certificate")
    card.power_off()  # volatile state (PINs verified, import key) ends with the session
    return card.export_image()


SAMPLE_PKI = Path(__file__).with_name("profiles") / "sample-gen3-pki.yaml"


@functools.cache
def sample_pki_image() -> dict:
    """The built-in gen3 sample image with its PKI application personalised.

    The PKI files come from profiles/sample-gen3-pki.yaml, the output of this module's issuing flow
    for the sample card (`python -m simulator.pki_personalise` writes it again): shipping it as data
    saves every process the SM2 key generation and signing. The sample keeps its own shape
    (samples._sample): only the PKI files are added. Callers get it through
    samples.sample_image("gen3"), which deep-copies it.
    """
    from . import samples  # late: samples reaches this module from sample_image

    base = samples._sample(3)
    with open(SAMPLE_PKI, encoding="utf-8") as f:
        pki_files = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["files"]
    return {**base, "files": {**(base.get("files") or {}), **pki_files}}


def personalise_sample() -> dict:
    """Run the issuing flow on the gen3 sample card; returns its PKI files (path -> hex)."""
    from . import samples

    done = personalise_pki(samples._sample(3), samples.PKI_SEED)
    return {path: value for path, value in done["files"].items() if path.startswith("PKI/")}


if __name__ == "__main__":  # regenerate the shipped sample PKI data
    header = ("# The gen3 sample card's PKI application as the issuing flow of simulator/pki_personalise.py\n"
              "# leaves it (seed samples.PKI_SEED; fictional test CA). Regenerate with\n"
              "#   python -m simulator.pki_personalise\n")
    SAMPLE_PKI.write_text(header + yaml.safe_dump({"files": personalise_sample()}, width=200), encoding="utf-8")
    print(f"wrote {SAMPLE_PKI}")
