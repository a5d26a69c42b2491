"""Personalise the gen3 PKI application the way the issuing flow does: through the card's APDUs,
sent by a terminal.PkiSession (the same session a personalisation station would use on a
physical card).

The card generates the signing key pair itself (8040); the issuer wraps a fresh SM4 key for the
exported signing key in a GM/T 0016-style envelope, the card opens it (804E) and loads it (804A),
and the issuer's encryption key pair comes in through 80C2 (public key, then the private key
wrapped with that SM4 key). Both certificates come from the fictional test CA (simulator.certs)
and are written with UPDATE BINARY in 112-byte pieces, as field tools do.

With a seed every key, challenge and serial number is the same on every run: the card's random
source and the issuer's are seeded generators (not for real keys, which come from os.urandom).
The certificates' SM2 signatures take their nonce from gmssl-pyx, so their bytes differ from one
process to the next; within a process the same inputs give the same certificate (memoised).

`python -m sscard.pki_issue` writes the shipped sample data (simulator/profiles/sample-gen3-pki.yaml)
again. It lives outside simulator/ because it drives the card through terminal/, which builds on
simulator's crypto (simulator imports nothing of terminal).
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
import random as _random

import yaml

from simulator import certs, crypto, schemes, sm2
from simulator.card import Card
from simulator.samples import SAMPLE_PKI
from terminal import ApduError, PkiSession

ADF1 = "PKI/SS.CERT.ADF1"
DEFAULT_NOT_BEFORE = _dt.datetime(2024, 1, 1, tzinfo=_dt.timezone.utc)  # when EF05 has no issue date


class PersonalisationError(RuntimeError):
    """The card refused a step of the issuing flow; names the command and its status word."""


def _sources(seed: int | None):
    """(card random, issuer random): seeded generators with a seed, else os.urandom."""
    if seed is None:
        return os.urandom, os.urandom
    card, issuer = (_random.Random(f"sscard-pki/{seed}/{who}") for who in ("card", "issuer"))
    return card.randbytes, issuer.randbytes


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
    # within a process (new_image(p, 7, personalise_pki) twice gives the same image).
    return certs.issue_certificate(certs.test_ca(), name, pub64, serial, not_before, usage=usage, ssn=ssn)


def issue(session: PkiSession, pins: dict[str, str], name: str, ssn: str | None, not_before: _dt.datetime,
          sizes: dict[int, int], issuer_random, seeded: bool) -> None:
    """The issuing flow on a powered card: keys, envelope, imported key pair, certificates."""
    session.select()
    session.verify_pin("user", pins["user"])
    sign_pub = (session.generate_key_pair(), session.export_public_key())[1]

    # GM/T 0016-style envelope: a fresh SM4 key, SM2-encrypted to the card's signing key.
    wrap_key = issuer_random(16)
    k = 1 + int.from_bytes(issuer_random(32), "big") % (sm2.N - 1) if seeded else None
    envelope = sm2.encrypt(sign_pub, wrap_key, k=k)
    session.verify_pin("admin", pins["admin"])
    opened = session.decrypt_envelope(envelope)
    if opened != wrap_key:
        raise PersonalisationError("SM2 DECRYPT ENVELOPE returned another key than the one wrapped")
    session.load_sm4_key(opened)

    enc_d, enc_pub = sm2.generate_keypair(random=issuer_random if seeded else None)
    session.import_public_key(enc_pub)
    session.import_private_key(crypto.sm4_encrypt(opened, enc_d.to_bytes(32, "big")))

    serials = [1 + int.from_bytes(issuer_random(8), "big") for _ in range(2)]
    for fid, pub, serial, usage in ((0x0018, sign_pub, serials[0], "signing"),
                                    (0x0019, enc_pub, serials[1], "encryption")):
        der = _certificate(name, pub, serial, not_before, usage, ssn)
        if len(der) > sizes[fid]:
            raise PersonalisationError(f"UPDATE BINARY {usage} certificate: {len(der)} bytes do not fit "
                                       f"in EF{fid:04X} ({sizes[fid]} bytes)")
        session.write_file(fid, der)


def personalise_pki(image: dict, seed: int | None = None) -> dict:
    """The gen3 image with its PKI application personalised through APDUs (the exported image)."""
    card_random, issuer_random = _sources(seed)
    card = Card.from_dict(image, random=card_random, source="<pki personalisation>")
    if ADF1 not in card.model.dfs:
        raise ValueError(f"{image.get('profile')} card has no PKI application (gen3 only)")
    name, ssn = _holder(image)
    pins = {who: schemes.bcd_pin(card.model.dfs[ADF1].pins[ref].value) for who, ref in (("user", 0x81), ("admin", 0x00))}
    sizes = {fid: card.model.efs[f"{ADF1}/{fid:04X}"].size for fid in (0x0018, 0x0019)}
    session = PkiSession(card)
    session.reset()
    try:
        issue(session, pins, name, ssn, _not_before(image), sizes, issuer_random, seed is not None)
    except ApduError as exc:
        raise PersonalisationError(str(exc)) from None
    card.power_off()  # volatile state (PINs verified, import key) ends with the session
    return card.export_image()


def personalise_sample() -> dict:
    """Run the issuing flow on the gen3 sample card; returns its PKI files (path -> hex)."""
    from simulator import samples

    done = personalise_pki(samples._sample(3), samples.PKI_SEED)
    return {path: value for path, value in done["files"].items() if path.startswith("PKI/")}


if __name__ == "__main__":  # regenerate the shipped sample PKI data
    header = ("# The gen3 sample card's PKI application as the issuing flow of sscard/pki_issue.py\n"
              "# leaves it (seed samples.PKI_SEED; fictional test CA). Regenerate with\n"
              "#   python -m sscard.pki_issue\n")
    SAMPLE_PKI.write_text(header + yaml.safe_dump({"files": personalise_sample()}, width=200), encoding="utf-8")
    print(f"wrote {SAMPLE_PKI}")
