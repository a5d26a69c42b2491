"""simulator.certs: the fictional test CA and the card certificates (spec §2.6 shape).

Structure is checked by re-parsing with asn1crypto and with `cryptography`; signatures with our
adapter, with snowland-smx (`pysmx`) and, when the system has an SM2-capable `openssl`, with it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import subprocess

import pytest
from asn1crypto import core, x509
from cryptography import x509 as cx509
from cryptography.x509.oid import ExtensionOID, NameOID

from simulator import certs, sm2

pysmx_sm2 = pytest.importorskip("pysmx.SM2", reason="snowland-smx (test extra) not installed")
pysmx_sm3 = pytest.importorskip("pysmx.SM3", reason="snowland-smx (test extra) not installed")

UTC = dt.timezone.utc
NOT_BEFORE = dt.datetime(2024, 3, 15, 8, 30, tzinfo=UTC)
HOLDER = "张三"
SSN = "440305198503151238"  # the synthetic sample person of spec §3.8


@pytest.fixture(scope="module")
def ca():
    return certs.test_ca()


@pytest.fixture(scope="module")
def holder_key():
    draws = iter([bytes.fromhex("11" * 32)])
    return sm2.generate_keypair(random=lambda n: next(draws))


@pytest.fixture(scope="module")
def signing_der(ca, holder_key):
    return certs.issue_certificate(ca, HOLDER, holder_key[1], 0x5AC0001, NOT_BEFORE, ssn=SSN)


@pytest.fixture(scope="module")
def encryption_der(ca):
    _, pub = sm2.generate_keypair()
    return certs.issue_certificate(ca, HOLDER, pub, 0x5AC0002, NOT_BEFORE, usage="encryption")


def _ext(cert: x509.Certificate, oid: str):
    found = [e for e in cert["tbs_certificate"]["extensions"] if e["extn_id"].dotted == oid]
    assert len(found) == 1, oid
    return found[0]


# --- the test CA ----------------------------------------------------------------------------

def test_test_ca_key_is_derived_from_the_seed(ca):
    # d = 1 + (SM3(seed) mod (n-2)), recomputed here with pysmx's independent SM3
    digest = bytes.fromhex(pysmx_sm3.hash_msg(b"sscard-test-ca"))
    assert ca.d == 1 + int.from_bytes(digest, "big") % (sm2.N - 2)
    assert ca.pub64 == sm2.public_from_private(ca.d)
    other = certs.test_ca(b"another seed")
    assert other.d != ca.d
    certs.test_ca.cache_clear()
    again = certs.test_ca()
    assert (again.d, again.pub64) == (ca.d, ca.pub64)  # reproducible across processes


def test_test_ca_certificate(ca):
    assert certs.verify_certificate(ca.certificate, ca.pub64)  # self-signed
    cert = x509.Certificate.load(ca.certificate)
    assert cert.subject.dump() == cert.issuer.dump()
    assert cert.subject.native == {"country_name": "CN", "organization_name": "sscard",
                                   "common_name": "sscard 测试证书颁发机构 (test CA)"}
    assert cert.ca is True and cert.basic_constraints_value["ca"].native is True
    assert cert.key_usage_value.native == {"key_cert_sign", "crl_sign"}
    assert cert.key_identifier == cert.authority_key_identifier


# --- structure (asn1crypto) -----------------------------------------------------------------

def test_signing_certificate_fields(ca, holder_key, signing_der):
    cert = x509.Certificate.load(signing_der)
    tbs = cert["tbs_certificate"]
    assert tbs["version"].native == "v3"
    assert cert.serial_number == 0x5AC0001
    assert tbs["signature"]["algorithm"].dotted == certs.SM3_WITH_SM2_OID == "1.2.156.10197.1.501"
    assert cert["signature_algorithm"]["algorithm"].dotted == certs.SM3_WITH_SM2_OID
    assert cert["signature_algorithm"]["parameters"].native is None
    spki = tbs["subject_public_key_info"]
    assert spki["algorithm"]["algorithm"].dotted == "1.2.840.10045.2.1"  # id-ecPublicKey
    assert spki["algorithm"]["parameters"].chosen.dotted == certs.SM2_CURVE_OID == "1.2.156.10197.1.301"
    assert spki["public_key"].native == b"\x04" + holder_key[1]
    # issuer is the CA's subject, byte for byte; subject CN=<holder>, C=CN with CN in UTF-8
    assert cert.issuer.dump() == x509.Certificate.load(ca.certificate).subject.dump()
    assert cert.subject.native == {"country_name": "CN", "common_name": HOLDER}
    cn = [atv for rdn in cert.subject.chosen for atv in rdn if atv["type"].native == "common_name"]
    assert cn[0]["value"].name == "utf8_string"
    assert b"\x0c\x06" + HOLDER.encode("utf-8") in signing_der
    # 10 years, UTCTime before 2050
    validity = tbs["validity"]
    assert validity["not_before"].native == NOT_BEFORE
    assert validity["not_after"].native == NOT_BEFORE.replace(year=2034)
    assert validity["not_before"].name == validity["not_after"].name == "utc_time"
    # extensions
    assert cert.key_usage_value.native == {"digital_signature", "non_repudiation"}
    assert _ext(cert, "2.5.29.15")["critical"].native is True
    assert cert.basic_constraints_value["ca"].native is False
    assert cert.key_identifier == hashlib.sha1(b"\x04" + holder_key[1]).digest()
    assert cert.authority_key_identifier == x509.Certificate.load(ca.certificate).key_identifier
    private = _ext(cert, certs.SSN_EXTENSION_OID)
    assert certs.SSN_EXTENSION_OID.startswith("1.2.156.2316.")
    assert private["critical"].native is False
    assert core.UTF8String.load(private["extn_value"].contents).native == SSN


def test_encryption_certificate_key_usage(encryption_der):
    cert = x509.Certificate.load(encryption_der)
    assert cert.key_usage_value.native == {"key_encipherment", "data_encipherment", "key_agreement"}
    assert all(e["extn_id"].dotted != certs.SSN_EXTENSION_OID
               for e in cert["tbs_certificate"]["extensions"])  # no ssn given, no extension


def test_validity_edge_cases(ca, holder_key):
    late = certs.issue_certificate(ca, HOLDER, holder_key[1], 3, dt.datetime(2045, 6, 1))
    validity = x509.Certificate.load(late)["tbs_certificate"]["validity"]
    assert validity["not_before"].name == "utc_time"
    assert validity["not_after"].name == "general_time"  # RFC 5280: 2050 onwards
    assert validity["not_after"].native == dt.datetime(2055, 6, 1, tzinfo=UTC)
    leap = certs.issue_certificate(ca, HOLDER, holder_key[1], 4, dt.datetime(2024, 2, 29, 12, 0))
    assert certs.describe_certificate(leap)["not_after"] == dt.datetime(2034, 2, 28, 12, 0, tzinfo=UTC)
    shanghai = dt.timezone(dt.timedelta(hours=8))
    local = certs.issue_certificate(ca, HOLDER, holder_key[1], 5, dt.datetime(2024, 1, 1, 8, tzinfo=shanghai))
    assert certs.describe_certificate(local)["not_before"] == dt.datetime(2024, 1, 1, 0, tzinfo=UTC)


def test_issue_rejects_bad_input(ca, holder_key):
    with pytest.raises(ValueError):
        certs.issue_certificate(ca, HOLDER, holder_key[1], 1, NOT_BEFORE, usage="authentication")
    with pytest.raises(ValueError):
        certs.issue_certificate(ca, HOLDER, holder_key[1], 0, NOT_BEFORE)
    with pytest.raises(ValueError):
        certs.issue_certificate(ca, HOLDER, holder_key[1], 1 << 160, NOT_BEFORE)
    with pytest.raises(sm2.Sm2Error):
        certs.issue_certificate(ca, HOLDER, bytes(64), 1, NOT_BEFORE)


# --- structure (cryptography) ---------------------------------------------------------------

def test_cryptography_parses_the_certificate(ca, holder_key, signing_der):
    cert = cx509.load_der_x509_certificate(signing_der)
    assert cert.version == cx509.Version.v3
    assert cert.serial_number == 0x5AC0001
    assert cert.signature_algorithm_oid.dotted_string == "1.2.156.10197.1.501"
    assert cert.public_key_algorithm_oid.dotted_string == "1.2.840.10045.2.1"
    # cryptography has no SM2 curve, so cert.public_key() is not usable; the key bytes are
    # checked with asn1crypto above and the signature with our adapter below.
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == HOLDER
    assert cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "CN"
    assert cert.issuer.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "sscard"
    assert cert.not_valid_before_utc == NOT_BEFORE
    assert cert.not_valid_after_utc == NOT_BEFORE.replace(year=NOT_BEFORE.year + 10)
    usage = cert.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE)
    assert usage.critical
    assert usage.value.digital_signature and usage.value.content_commitment
    assert not (usage.value.key_encipherment or usage.value.key_cert_sign)
    assert cert.extensions.get_extension_for_class(cx509.BasicConstraints).value.ca is False
    ski = cert.extensions.get_extension_for_class(cx509.SubjectKeyIdentifier).value
    assert ski.digest == hashlib.sha1(b"\x04" + holder_key[1]).digest()
    aki = cert.extensions.get_extension_for_class(cx509.AuthorityKeyIdentifier).value
    ca_ski = cx509.load_der_x509_certificate(ca.certificate).extensions.get_extension_for_class(
        cx509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest
    private = cert.extensions.get_extension_for_oid(cx509.ObjectIdentifier(certs.SSN_EXTENSION_OID))
    assert private.value.value == core.UTF8String(SSN).dump()
    # what cryptography sees as TBS and signature verifies under the CA key
    assert sm2.verify(ca.pub64, cert.tbs_certificate_bytes, sm2.raw_signature(cert.signature))


def test_cryptography_sees_encryption_usage(encryption_der):
    usage = cx509.load_der_x509_certificate(encryption_der).extensions.get_extension_for_class(
        cx509.KeyUsage).value
    assert usage.key_encipherment and usage.data_encipherment and usage.key_agreement
    assert not usage.digital_signature


# --- signatures -----------------------------------------------------------------------------

def test_verify_certificate(ca, signing_der, encryption_der):
    assert certs.verify_certificate(signing_der, ca.pub64)
    assert certs.verify_certificate(encryption_der, ca.pub64)
    assert not certs.verify_certificate(signing_der, certs.test_ca(b"another seed").pub64)


def test_tampered_certificates_fail(ca, signing_der):
    # a different holder name, same length: the TBS changes, the signature does not
    forged = signing_der.replace(HOLDER.encode("utf-8"), "李四".encode("utf-8"))
    assert forged != signing_der and x509.Certificate.load(forged).subject.native["common_name"] == "李四"
    assert not certs.verify_certificate(forged, ca.pub64)
    # a flipped bit in the last byte of the signature value
    assert not certs.verify_certificate(signing_der[:-1] + bytes([signing_der[-1] ^ 1]), ca.pub64)
    # another signature algorithm OID (…501 -> …502, both places)
    oid = bytes.fromhex("06082A811CCF55018375")
    assert signing_der.count(oid) == 2
    assert not certs.verify_certificate(signing_der.replace(oid, oid[:-1] + b"\x76"), ca.pub64)
    for junk in (b"", b"\x30\x00", signing_der[:100], signing_der + b"\x00"):
        assert not certs.verify_certificate(junk, ca.pub64)


def test_pysmx_verifies_the_certificate_signature(ca, signing_der):
    cert = x509.Certificate.load(signing_der)
    tbs = cert["tbs_certificate"].dump()
    signature = sm2.raw_signature(cert["signature_value"].native)
    assert pysmx_sm2.Verify(signature, tbs, ca.pub64, 64, uid=sm2.DEFAULT_ID)
    assert not pysmx_sm2.Verify(signature, tbs + b"x", ca.pub64, 64, uid=sm2.DEFAULT_ID)


def _openssl_with_sm2() -> str | None:
    tool = shutil.which("openssl")
    if tool is None:
        return None
    listing = subprocess.run([tool, "list", "-public-key-algorithms"], capture_output=True, text=True)
    return tool if listing.returncode == 0 and "SM2" in listing.stdout else None


def test_openssl_verifies_the_certificate_signature(ca, signing_der, tmp_path):
    tool = _openssl_with_sm2()
    if tool is None:
        pytest.skip("no openssl command with SM2 on this machine")
    # `openssl verify` is not used: OpenSSL 3.0 fails SM2 chain checks even for v3 certificates
    # it issued itself. pkeyutl with the default ID checks the same signature directly.
    (tmp_path / "ca.der").write_bytes(ca.certificate)
    (tmp_path / "ee.der").write_bytes(signing_der)
    cert = x509.Certificate.load(signing_der)
    (tmp_path / "tbs.bin").write_bytes(cert["tbs_certificate"].dump())
    (tmp_path / "sig.der").write_bytes(cert["signature_value"].native)
    text = subprocess.run([tool, "x509", "-inform", "der", "-in", str(tmp_path / "ee.der"),
                           "-noout", "-text"], capture_output=True, text=True, check=True).stdout
    assert "SM2-with-SM3" in text and "ASN1 OID: SM2" in text
    pub = subprocess.run([tool, "x509", "-inform", "der", "-in", str(tmp_path / "ca.der"),
                          "-noout", "-pubkey"], capture_output=True, text=True, check=True).stdout
    (tmp_path / "ca.pub").write_text(pub)

    def pkeyutl(tbs: str) -> subprocess.CompletedProcess:
        return subprocess.run([tool, "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "ca.pub"),
                               "-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678",
                               "-in", str(tmp_path / tbs), "-sigfile", str(tmp_path / "sig.der")],
                              capture_output=True, text=True)

    assert pkeyutl("tbs.bin").returncode == 0
    (tmp_path / "bad.bin").write_bytes(cert["tbs_certificate"].dump() + b"\x00")
    assert pkeyutl("bad.bin").returncode != 0


# --- describe -------------------------------------------------------------------------------

def test_describe_certificate(holder_key, signing_der):
    info = certs.describe_certificate(signing_der)
    assert info == {
        "subject": f"CN={HOLDER}, C=CN",
        "issuer": "CN=sscard 测试证书颁发机构 (test CA), O=sscard, C=CN",
        "serial": 0x5AC0001,
        "not_before": NOT_BEFORE,
        "not_after": NOT_BEFORE.replace(year=2034),
        "key_usage": ["digital_signature", "non_repudiation"],
        "public_key": holder_key[1].hex().upper(),
        "curve": "1.2.156.10197.1.301",
        "signature_algorithm": "1.2.156.10197.1.501",
        "ssn": SSN,
    }
