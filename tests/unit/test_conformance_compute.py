"""Computed values take their keys from the card-under-test description; checked against the
vectors of spec §5.4 with the sample-card keys of §5.5, and key references resolved as PD-12 says."""

from __future__ import annotations

import pytest

from conformance import compute
from conformance.card_under_test import CardUnderTest, MissingSecret
from simulator import Card


def context(generation: str, current_df: str = "SSSE") -> compute.Context:
    return compute.Context(CardUnderTest(Card.builtin(generation).image, label=generation), current_df)


def test_ext_auth_des_session_g2():  # DES-EXT-G2-K04: C = BE403D240D7561DC, D given
    data = compute.ext_auth(context("gen2"), "04", bytes.fromhex("A0A1A2A3A4A5A6A7"), d="0011223344556677")
    assert data.hex().upper() == "BE403D240D7561DC0011223344556677"


def test_ext_auth_sm4_session_g3_d_defaults_to_the_challenge():  # SM4-EXT-G3-K04
    data = compute.ext_auth(context("gen3"), "04", bytes.fromhex("C0C1C2C3C4C5C6C7"))
    assert data.hex().upper() == "9922A2419481BF87C0C1C2C3C4C5C6C7"


def test_ext_auth_sm4_direct_for_the_pki_master_key():  # SM4-DIRECT-PKI-MK
    data = compute.ext_auth(context("gen3", "ADF1"), "00", bytes.fromhex("0F0E0D0C0B0A09080706050403020100"))
    assert data.hex().upper() == "A48556CBC529BF406EB395332EEDF4AA"


def test_int_auth():  # DES-INT-G2-K01
    out = compute.int_auth(context("gen2"), "01", "A1A2A3A4A5A6A7A8", "B1B2B3B4B5B6B7B8")
    assert out.hex().upper() == "ECF0E79B9AE25108"


@pytest.mark.parametrize("generation, header, challenge, mac", [
    ("gen2", "841E000004", "5E6F7A8B", "A55BCDD6"),  # APP-BLOCK-G2
    ("gen3", "841E000004", "5E6F7A8B9CADBECF", "A0A9ADE1"),  # APP-BLOCK-G3
    ("gen2", "8416000004", "0A0B0C0D", "85940D7E"),  # CARD-BLOCK-G2
])
def test_mac_with_the_amk(generation, header, challenge, mac):
    assert compute.mac(context(generation), "08", header, bytes.fromhex(challenge)).hex().upper() == mac


def test_pin_unblock_and_reload_pin():
    ctx = context("gen2")
    assert compute.pin_unblock(ctx, "1A2B3C4D").hex().upper() == "F6DD864E"  # PIN-UNBLOCK-G2
    assert compute.pin_unblock(ctx, "1A2B3C4D", "123456").hex().upper() == "279B13C08977DEC6EBA068BA"
    assert compute.reload_pin(ctx, "123456").hex().upper() == "1234569786D342"  # RELOAD-PIN-G2
    g3 = compute.pin_unblock(context("gen3"), "1A2B3C4D5E6F7081", "123456")  # PIN-UNBLOCK-NEWPIN-G3
    assert g3.hex().upper() == "9ACC809B5D9523A5CDF0A53C25423DE88EC8E39D"


def test_pki_functions():
    ctx = context("gen3", "ADF1")
    ct = compute.pki_verify(ctx, "user", bytes.fromhex("00112233445566778899AABBCCDDEEFF"))
    assert ct.hex().upper() == "4794C07B485910BBA3B6CADA20F62211"  # PKI-VERIFY-USER
    changed = compute.pki_change_pin(ctx, "admin", "87654321", "A5A5A5A55A5A5A5AA5A5A5A55A5A5A5A")
    assert changed.hex().upper() == "9DA70F7F81FE7174EF6821A940D41474" "132E6845"  # PKI-CHANGE-ADMIN-PIN
    mk = compute.pki_change_mk(ctx, "F0E1D2C3B4A5968778695A4B3C2D1E0F", "1F2E3D4C5B6A79880F1E2D3C4B5A6978")
    assert mk.hex().upper().endswith("8D42E1D4")  # PKI-CHANGE-MK


def test_cardid_mac_and_helpers():
    assert compute.cardid_mac(context("gen3"), "440300D1560000055A3C1E03").hex().upper() == "26F062D6"
    ctx = context("gen2")
    assert compute.pin_bcd(ctx, "12345") == bytes.fromhex("12345F")
    assert compute.ascii(ctx, "A01") == b"A01" and compute.gbk(ctx, "张三") == bytes.fromhex("D5C5C8FD")
    assert compute.pad(ctx, "0D04", 4) == bytes.fromhex("0D040000")
    assert compute.lc(ctx, "0D0419850315") == bytes.fromhex("060D0419850315")


def test_key_references_follow_pd12():
    card = CardUnderTest(Card.builtin("gen2").image)
    ssse_04 = bytes.fromhex("DB5B674DF79F759CC167148EAD5C8BFF")
    df01_86 = bytes.fromhex("92FEDB459B5FFFA6977730B9D8176014")
    assert card.key("04", "SSSE") == (ssse_04, "des-session")
    assert card.key("04", "DF01")[0] == ssse_04  # b8 = 0 in the SSSE tree: the SSSE key
    assert card.key("86", "DF01")[0] == df01_86  # b8 = 1: a key of the current DF
    assert card.key("DF01/86", "MF")[0] == df01_86
    with pytest.raises(MissingSecret, match="no key DF02/86"):
        card.key("86", "DF02")


def test_description_features_and_pins():
    card = CardUnderTest({"profile": "gen3", "switches": {"transport": "t1"}, "features": ["contactless"],
                          "pins": {"PKI/admin": {"value": "87654321"}}})
    assert card.generation == 3 and card.transport == "t1" and card.algorithm == "sm4"
    assert {"pki", "contactless", "sm4"} <= card.features
    assert card.pin("admin") == "87654321" and card.pin("user") == "123456" and card.pin("SSSE") == "123456"
    assert card.applicability_context()["generation"] == 3
