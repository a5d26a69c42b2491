"""The shipped gen3 sample PKI data (profiles/sample-gen3-pki.yaml) is what the issuing flow makes."""

from __future__ import annotations

import pytest
import yaml

from simulator import certs, sm2
from simulator.certs import test_ca as sample_ca
from simulator.samples import SAMPLE_PKI
from sscard.pki_issue import personalise_sample

ADF1 = "PKI/SS.CERT.ADF1/"


@pytest.fixture(scope="module")
def shipped() -> dict:
    return {k.removeprefix(ADF1): bytes.fromhex(v) for k, v in yaml.safe_load(SAMPLE_PKI.read_text())["files"].items()}


def _der(raw: bytes) -> bytes:
    length = int.from_bytes(raw[2:4], "big")  # 30 82 LL LL: the certificate, then the file's padding
    return raw[: 4 + length]


def test_key_pairs_belong_together(shipped):
    for pub, priv in (("0012", "0013"), ("0014", "0015")):
        d = int.from_bytes(shipped[priv], "big")
        assert shipped[pub][:2] == b"\xCA\x40"
        assert sm2.public_from_private(d) == shipped[pub][2:]


def test_certificates_verify_and_carry_the_card_keys(shipped):
    ca = sample_ca()
    for fid, key_fid, usage in (("0018", "0012", "digital_signature"), ("0019", "0014", "key_encipherment")):
        der = _der(shipped[fid])
        assert certs.verify_certificate(der, ca.pub64)
        info = certs.describe_certificate(der)
        assert info["public_key"].upper() == shipped[key_fid][2:].hex().upper()
        assert "张三" in info["subject"] and usage in info["key_usage"]


def test_the_issuing_flow_makes_the_same_keys_again(shipped):
    again = {k.removeprefix(ADF1): bytes.fromhex(v) for k, v in personalise_sample().items()}
    for fid in ("0012", "0013", "0014", "0015"):
        assert again[fid] == shipped[fid], fid
    for fid in ("0018", "0019"):  # the CA's signature nonce differs; everything it signs does not
        assert certs.describe_certificate(_der(again[fid])) == certs.describe_certificate(_der(shipped[fid]))
