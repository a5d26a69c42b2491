"""X.509 v3 certificates for the PKI application (spec §2.6), with a FICTIONAL test CA.

Field certificates carry an SM2 key (id-ecPublicKey, curve 1.2.156.10197.1.301), an SM3withSM2
signature (1.2.156.10197.1.501), a 10-year validity and private extensions under 1.2.156.2316.
This module builds certificates of that shape for the sample cards and for tests, but every name
in them is made up: the issuer is "sscard Test CA", never the real ministry centre, and the
private extension 1.2.156.2316.1.1 (the holder's SSN as a UTF8String) is our own invention,
not a documented field extension. The card itself treats certificates as opaque bytes.

Signatures go through simulator.sm2 (SM2 over SM3(Z ‖ TBS DER), Z from the CA public key and the
default ID), so the signature bytes change from run to run; the CA key does not (test_ca).
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
from dataclasses import dataclass

from asn1crypto import algos, core, keys, x509

from . import sm2

__all__ = [
    "SM2_CURVE_OID", "SM3_WITH_SM2_OID", "SSN_EXTENSION_OID", "TEST_CA_NAME", "TestCA",
    "test_ca", "issue_certificate", "verify_certificate", "describe_certificate",
]

SM2_CURVE_OID = "1.2.156.10197.1.301"
SM3_WITH_SM2_OID = "1.2.156.10197.1.501"
SSN_EXTENSION_OID = "1.2.156.2316.1.1"  # fictional: our own use of the arc, see module docstring

# asn1crypto's public way to teach it a curve; it then parses and names SM2 keys itself.
keys.NamedCurve.register("sm2p256v1", SM2_CURVE_OID, 32)

TEST_CA_NAME = {
    "common_name": "sscard 测试证书颁发机构 (test CA)",
    "organization_name": "sscard",
    "country_name": "CN",
}

USAGES = {
    "signing": {"digital_signature", "non_repudiation"},
    "encryption": {"key_encipherment", "data_encipherment", "key_agreement"},
}
_CA_USAGE = {"key_cert_sign", "crl_sign"}
_SHORT = {"common_name": "CN", "organization_name": "O", "organizational_unit_name": "OU",
          "country_name": "C", "locality_name": "L", "state_or_province_name": "ST"}


@dataclass(frozen=True)
class TestCA:
    __test__ = False  # not a pytest test class despite the name

    d: int
    pub64: bytes
    certificate: bytes  # self-signed DER


def _signature_algorithm() -> algos.SignedDigestAlgorithm:
    # asn1crypto has no name for SM3withSM2, so the OID is given in dotted form; no parameters,
    # as for ECDSA (RFC 5758) and GM/T 0015.
    return algos.SignedDigestAlgorithm({"algorithm": SM3_WITH_SM2_OID})


def _public_key_info(pub64: bytes) -> keys.PublicKeyInfo:
    if not sm2.on_curve(pub64):
        raise sm2.Sm2Error("certificate public key is not on the SM2 curve")
    return keys.PublicKeyInfo({
        "algorithm": {
            "algorithm": "ec",  # id-ecPublicKey; the curve says it is SM2
            "parameters": keys.ECDomainParameters(name="named", value=SM2_CURVE_OID),
        },
        "public_key": b"\x04" + bytes(pub64),
    })


def _key_id(pub64: bytes) -> bytes:
    # RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. An identifier, not security.
    return hashlib.sha1(b"\x04" + bytes(pub64)).digest()


def _time(when: _dt.datetime) -> x509.Time:
    # RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
    return x509.Time(name="utc_time" if when.year < 2050 else "general_time", value=when)


def _add_years(when: _dt.datetime, years: int) -> _dt.datetime:
    try:
        return when.replace(year=when.year + years)
    except ValueError:  # 29 February in a non-leap target year
        return when.replace(year=when.year + years, day=28)


def _utc(when: _dt.datetime) -> _dt.datetime:
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)  # naive means UTC here
    return when.astimezone(_dt.timezone.utc).replace(microsecond=0)


def _build(issuer: x509.Name, issuer_d: int, issuer_pub64: bytes, subject: x509.Name,
           pub64: bytes, serial: int, not_before: _dt.datetime, years: int,
           key_usage: set[str], is_ca: bool, ssn: str | None) -> bytes:
    if not 0 < serial < 1 << 159:  # RFC 5280: positive, at most 20 octets
        raise ValueError("serial must be a positive integer of at most 20 octets")
    not_before = _utc(not_before)
    extensions = [
        {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": is_ca}},
        {"extn_id": "key_usage", "critical": True, "extn_value": set(key_usage)},
        {"extn_id": "key_identifier", "critical": False, "extn_value": _key_id(pub64)},
        {"extn_id": "authority_key_identifier", "critical": False,
         "extn_value": {"key_identifier": _key_id(issuer_pub64)}},
    ]
    if ssn is not None:
        # Unknown to asn1crypto, so extn_value is the raw DER of the UTF8String.
        extensions.append({"extn_id": SSN_EXTENSION_OID, "critical": False,
                           "extn_value": core.UTF8String(ssn).dump()})
    tbs = x509.TbsCertificate({
        "version": "v3",
        "serial_number": serial,
        "signature": _signature_algorithm(),
        "issuer": issuer,
        "validity": {"not_before": _time(not_before),
                     "not_after": _time(_add_years(not_before, years))},
        "subject": subject,
        "subject_public_key_info": _public_key_info(pub64),
        "extensions": extensions,
    })
    signature = sm2.sign(issuer_d, issuer_pub64, tbs.dump())
    return x509.Certificate({
        "tbs_certificate": tbs,
        "signature_algorithm": _signature_algorithm(),
        "signature_value": sm2.der_signature(signature),
    }).dump()


@functools.lru_cache(maxsize=8)
def test_ca(seed: bytes = b"sscard-test-ca",
            not_before: _dt.datetime = _dt.datetime(2024, 1, 1, tzinfo=_dt.timezone.utc),
            years: int = 30) -> TestCA:
    """The fictional self-signed test CA. d = 1 + (SM3(seed) mod (n-2)): same seed, same key.

    Cached so one process sees one CA certificate (its signature bytes differ between runs).
    """
    d = 1 + int.from_bytes(sm2.sm3(seed), "big") % (sm2.N - 2)
    pub = sm2.public_from_private(d)
    name = x509.Name.build(TEST_CA_NAME)
    der = _build(name, d, pub, name, pub, 1, not_before, years, _CA_USAGE, True, None)
    return TestCA(d=d, pub64=pub, certificate=der)


test_ca.__test__ = False  # a factory, not a test, even when imported into a test module


def issue_certificate(ca: TestCA, subject_name: str, pub64: bytes, serial: int,
                      not_before: _dt.datetime, years: int = 10, usage: str = "signing",
                      ssn: str | None = None) -> bytes:
    """An end-entity certificate (DER) for a card key: subject CN=<holder name>, C=CN.

    usage "signing" (EF0018) or "encryption" (EF0019) picks the key usage bits; `ssn`, when
    given, goes into the fictional private extension 1.2.156.2316.1.1.
    """
    if usage not in USAGES:
        raise ValueError(f"usage must be one of {sorted(USAGES)}")
    issuer = x509.Certificate.load(ca.certificate).subject
    subject = x509.Name.build({"common_name": subject_name, "country_name": "CN"})
    return _build(issuer, ca.d, ca.pub64, subject, pub64, serial, not_before, years,
                  USAGES[usage], False, ssn)


def verify_certificate(der: bytes, ca_pub64: bytes) -> bool:
    """True if der is an SM3withSM2 certificate whose signature verifies under ca_pub64."""
    try:
        cert = x509.Certificate.load(bytes(der), strict=True)
        tbs = cert["tbs_certificate"]
        if (cert["signature_algorithm"]["algorithm"].dotted != SM3_WITH_SM2_OID
                or tbs["signature"]["algorithm"].dotted != SM3_WITH_SM2_OID):
            return False
        signature = sm2.raw_signature(cert["signature_value"].native)
        # dump() of a parsed, unmodified value returns the bytes as received: what was signed.
        return sm2.verify(ca_pub64, tbs.dump(), signature)
    except (ValueError, TypeError, KeyError):
        return False


def _name_text(name: x509.Name) -> str:
    # RFC 4514 order: last RDN first, e.g. "CN=张三, C=CN".
    parts = []
    for rdn in reversed(name.chosen):
        for atv in rdn:
            kind = atv["type"].native
            parts.append(f"{_SHORT.get(kind, atv['type'].dotted)}={atv['value'].native}")
    return ", ".join(parts)


def describe_certificate(der: bytes) -> dict:
    """The fields `sscard card show` prints. Does not check the signature."""
    cert = x509.Certificate.load(bytes(der), strict=True)
    tbs = cert["tbs_certificate"]
    spki = tbs["subject_public_key_info"]
    point = spki["public_key"].native
    ssn = None
    for ext in tbs["extensions"]:
        if ext["extn_id"].dotted == SSN_EXTENSION_OID:
            ssn = core.UTF8String.load(ext["extn_value"].contents).native
    usage = cert.key_usage_value
    return {
        "subject": _name_text(cert.subject),
        "issuer": _name_text(cert.issuer),
        "serial": cert.serial_number,
        "not_before": tbs["validity"]["not_before"].native,
        "not_after": tbs["validity"]["not_after"].native,
        "key_usage": sorted(usage.native) if usage is not None else [],
        "public_key": (point[1:] if point[:1] == b"\x04" else point).hex().upper(),
        "curve": spki["algorithm"]["parameters"].chosen.dotted,
        "signature_algorithm": cert["signature_algorithm"]["algorithm"].dotted,
        "ssn": ssn,
    }
