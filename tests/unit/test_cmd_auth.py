"""EXTERNAL and INTERNAL AUTHENTICATE (spec §4.11, §4.12, §5.1, §5.3, §5.4.2-§5.4.5, PD-11-PD-17)."""

from __future__ import annotations

import pytest

from cardkit import (Challenges, authenticate, challenge, ext_auth, image, key, make, ok, rsp, scheme,
                     select_df, send, sw)
from simulator import Card, schemes

SSSE_EXT = ["00", "04", "0A"]
DF_EXT = {"DF01": ["81", "83", "84", "85", "86", "87"], "DF03": ["81", "82", "83", "84", "85"],
          "DF04": ["81", "83", "84"], "DF07": ["81", "83"]}
CASES = [(g, "SSSE", r) for g in (1, 2, 3) for r in SSSE_EXT] + [(3, "SSSE", "0D")] + \
        [(g, df, r) for g in (1, 2, 3) for df, refs in DF_EXT.items() for r in refs]


def at(gen: int, df: str = "SSSE", *forced: str, **switches):
    card = make(gen, *forced, **switches)
    select_df(card, df)
    return card


@pytest.mark.parametrize("version", [None, 1], ids=["Lc 10", "Lc 11 version 01"])
@pytest.mark.parametrize("gen, df, ref", CASES, ids=[f"g{g}-{df}-{r}" for g, df, r in CASES])
def test_external_authenticate_every_key(gen, df, ref, version):
    card = at(gen, df)
    r = challenge(card)
    assert sw(card, ext_auth(gen, df, ref, r, version=version)) == "9000"
    assert (card.current_df.path if int(ref, 16) & 0x80 else "SSSE", int(ref, 16) & 0x1F) in card.sec.status


@pytest.mark.parametrize("gen", [1, 2, 3])
def test_d_is_any_8_bytes(gen):
    card = at(gen)
    r = challenge(card)
    assert sw(card, ext_auth(gen, "SSSE", "04", r, d=bytes.fromhex("0011223344556677"))) == "9000"


@pytest.mark.parametrize("gen", [1, 2, 3])
@pytest.mark.parametrize("n", [4, 16])
def test_4_and_16_byte_challenges_adapt_to_r8(gen, n):
    card = at(gen)
    r = challenge(card, n)
    # the terminal's R8 (§5.3): 4 bytes ‖ 00×4, or the first 8 of 16; cardkit's ext_auth uses crypto.r8
    assert sw(card, ext_auth(gen, "SSSE", "04", r)) == "9000"


def test_global_key_reference_from_a_df():
    card = at(2, "DF01")
    assert authenticate(card, "04") == "9000"  # b8 = 0: the SSSE key, from DF01 (PD-12)
    assert ("SSSE", 4) in card.sec.status


def test_sm4_direct_pki_master_key():
    card = at(3, "ADF1")
    r = challenge(card, 16)
    assert sw(card, ext_auth(3, "PKI", "00", r)) == "9000"
    r = challenge(card, 16)
    assert sw(card, ext_auth(3, "PKI", "00", r, version=1)) == "6700"  # Lc 11 for sm4-direct
    select_df(card, "PKI")  # the PKI DF has its own master key (R2-3): SS.CERT.ADF1's is wrong there
    r = challenge(card, 16)
    assert sw(card, ext_auth(3, "PKI", "00", r)) == "63C2"
    r = challenge(card, 16)
    assert sw(card, ext_auth(3, "PKI/DF", "00", r)) == "9000"
    assert ("PKI", 0) in card.sec.status


# --- the SW table -----------------------------------------------------------------------------

@pytest.mark.parametrize("apdu, expected", [
    pytest.param("0082010410" + "00" * 16, "6A86", id="6A86 P1 01"),
    pytest.param("0082004410" + "00" * 16, "6A86", id="6A86 P2 b7 set"),
    pytest.param("0082002410" + "00" * 16, "6A86", id="6A86 P2 b6 set"),
    pytest.param("008200C410" + "00" * 16, "6A86", id="6A86 P2 b8 b7 set"),
    pytest.param("008200040F" + "00" * 15, "6700", id="6700 Lc 0F"),
    pytest.param("0082000412" + "00" * 18, "6700", id="6700 Lc 12"),
    pytest.param("0082000408" + "00" * 8, "6700", id="6700 Lc 08"),
    pytest.param("0082000420" + "00" * 32, "6700", id="6700 Lc 20"),
    pytest.param("00820004", "6700", id="6700 no data"),
    pytest.param("0082000210" + "00" * 16, "6A88", id="6A88 key 02"),
    pytest.param("0082000510" + "00" * 16, "6A88", id="6A88 key 05"),
    pytest.param("0082000910" + "00" * 16, "6A88", id="6A88 key 09"),
    pytest.param("0082001F10" + "00" * 16, "6A88", id="6A88 key 1F"),
    pytest.param("0082000D10" + "00" * 16, "6A88", id="6A88 key 0D on g2"),
])
def test_external_authenticate_sw_rows(apdu, expected):
    card = at(2)
    challenge(card)
    assert sw(card, apdu) == expected


@pytest.mark.parametrize("ref, label", [("01", "IRK"), ("06", "PUK"), ("07", "RPK"), ("08", "AMK")])
@pytest.mark.parametrize("gen", [2, 3])
def test_6985_not_an_external_authentication_key(gen, ref, label):
    card = at(gen)
    r = challenge(card)
    assert sw(card, ext_auth(gen, "SSSE", ref, r)) == "6985"
    assert sw(card, ext_auth(gen, "SSSE", "04", r)) == "9000"  # rejected at 8f: challenge kept


@pytest.mark.parametrize("df, ref", [("MF", "00"), ("MF", "84"), ("DF01", "82"), ("DF02", "84"),
                                     ("DF04", "82")])
def test_6a88_no_such_key_in_that_df(df, ref):
    card = at(2, df)
    challenge(card)
    assert sw(card, f"008200{ref}10" + "00" * 16) == "6A88"


def test_6984_no_challenge():
    card = at(2)
    assert sw(card, ext_auth(2, "SSSE", "04", bytes(8))) == "6984"


# --- try counters (PD-14) ---------------------------------------------------------------------

@pytest.mark.parametrize("gen, df, ref", [(1, "SSSE", "04"), (2, "SSSE", "0A"), (3, "SSSE", "00"),
                                          (3, "DF01", "86"), (2, "DF03", "82")])
def test_counter_63c2_63c1_63c0_then_6983(gen, df, ref):
    card = at(gen, df)
    wrong = key(gen, "SSSE", "07")  # any other value
    for left in (2, 1, 0):
        r = challenge(card)
        assert sw(card, ext_auth(gen, df, ref, r, value=wrong)) == f"63C{left}"
    r = challenge(card)
    assert sw(card, ext_auth(gen, df, ref, r)) == "6983"  # blocked: the right cryptogram too
    assert sw(card, ext_auth(gen, df, ref, r)) == "6983"  # and the challenge was kept (step 9)
    card.reset()
    select_df(card, df)
    r = challenge(card)
    assert sw(card, ext_auth(gen, df, ref, r)) == "6983"  # persistent


def test_success_resets_the_counter():
    card = at(2)
    wrong = bytes(16)
    for expected in ("63C2", "63C1"):
        r = challenge(card)
        assert sw(card, ext_auth(2, "SSSE", "04", r, value=wrong)) == expected
    assert authenticate(card, "04") == "9000"
    r = challenge(card)
    assert sw(card, ext_auth(2, "SSSE", "04", r, value=wrong)) == "63C2"


def test_key_tries_switch():
    card = at(2, key_tries=5)
    r = challenge(card)
    assert sw(card, ext_auth(2, "SSSE", "04", r, value=bytes(16))) == "63C4"


def test_6300_for_a_key_without_counter():
    # No external key of the default profile lacks a counter (§5.1), so the model is changed by
    # hand to reach the 6300 row of §4.11 / PD-14.
    card = at(2)
    k = card.ssse.keys[0x04]
    k.max_tries = k.tries = None
    for _ in range(4):
        r = challenge(card)
        assert sw(card, ext_auth(2, "SSSE", "04", r, value=bytes(16))) == "6300"
    assert authenticate(card, "04") == "9000"


def test_failure_removes_the_key_from_the_status():
    card = at(2)
    assert authenticate(card, "04") == "9000"
    assert sw(card, "00DC022C03020131") == "9000"
    r = challenge(card)
    assert sw(card, ext_auth(2, "SSSE", "04", r, value=bytes(16))) == "63C2"
    assert sw(card, "00DC022C03020131") == "6982"


# --- challenge use (PD-11) --------------------------------------------------------------------

def test_challenge_consumed_by_a_failed_cryptogram():
    card = at(2)
    r = challenge(card)
    assert sw(card, ext_auth(2, "SSSE", "04", r, value=bytes(16))) == "63C2"
    assert sw(card, ext_auth(2, "SSSE", "04", r)) == "6984"


def test_challenge_consumed_by_success():
    card = at(3)
    r = challenge(card)
    apdu = ext_auth(3, "SSSE", "04", r)
    assert sw(card, apdu) == "9000"
    assert sw(card, apdu) == "6984"


@pytest.mark.parametrize("bad, expected", [
    pytest.param("0082010410" + "00" * 16, "6A86", id="6A86"),
    pytest.param("0082000411" + "00" * 16, "6700", id="6700 Lc mismatch"),
    pytest.param("008200040F" + "00" * 15, "6700", id="6700 Lc 0F"),
    pytest.param("0082000210" + "00" * 16, "6A88", id="6A88"),
    pytest.param("0082000110" + "00" * 16, "6985", id="6985"),
])
def test_challenge_kept_when_rejected_before_step_10(bad, expected):
    card = at(2)
    r = challenge(card)
    assert sw(card, bad) == expected
    assert sw(card, ext_auth(2, "SSSE", "04", r)) == "9000"


def test_challenge_kept_on_6983():
    card = at(2)
    for _ in range(3):
        r = challenge(card)
        send(card, ext_auth(2, "SSSE", "00", r, value=bytes(16)))
    r = challenge(card)
    assert sw(card, ext_auth(2, "SSSE", "00", r)) == "6983"
    assert sw(card, ext_auth(2, "SSSE", "04", r)) == "9000"


def test_second_get_challenge_replaces_the_first():
    card = at(2)
    r1, r2 = challenge(card), challenge(card)
    assert r1 != r2
    assert sw(card, ext_auth(2, "SSSE", "04", r1)) == "63C2"
    r3 = challenge(card)
    assert sw(card, ext_auth(2, "SSSE", "04", r3)) == "9000"


def test_challenge_scope_next_command():
    card = at(2, challenge_scope="next-command")
    r = challenge(card)
    assert sw(card, ext_auth(2, "SSSE", "04", r)) == "9000"  # directly after: fine
    for other in ("00A4020002EF05", "00B2012C00", "00C0000000", "00FF000000", "FF000000"):
        r = challenge(card)
        send(card, other)  # any other command drops it (§9), whatever it answers
        assert sw(card, ext_auth(2, "SSSE", "04", r)) == "6984", other


def test_challenge_scope_until_used_survives_other_commands():
    card = at(2)
    r = challenge(card)
    for other in ("00A4020002EF05", "00B2012C00", "00C0000000", "00FF000000", "FF000000"):
        send(card, other)
    assert sw(card, ext_auth(2, "SSSE", "04", r)) == "9000"


# --- key version byte (PD-15) -----------------------------------------------------------------

V2 = bytes.fromhex("00112233445566778899AABBCCDDEEFF")


def versioned(gen: int, **switches) -> Card:
    img = image(gen, **switches)
    k04 = img["keys"]["SSSE"]["04"]
    k04 = dict(k04) if isinstance(k04, dict) else {"value": k04}
    img["keys"]["SSSE"]["04"] = {**k04, "versions": {"02": V2.hex()}}
    card = Card.from_dict(img, random=Challenges())
    select_df(card, "SSSE")
    return card


@pytest.mark.parametrize("gen", [2, 3])
def test_version_byte_selects_the_key_version(gen):
    card = versioned(gen)
    r = challenge(card)
    assert sw(card, ext_auth(gen, "SSSE", "04", r, version=2, value=V2)) == "9000"
    r = challenge(card)
    assert sw(card, ext_auth(gen, "SSSE", "04", r, version=2)) == "63C2"  # v1 value, byte 02
    r = challenge(card)
    assert sw(card, ext_auth(gen, "SSSE", "04", r, version=3)) == "6A88"
    assert sw(card, ext_auth(gen, "SSSE", "04", r, version=1)) == "9000"  # 6A88 kept the challenge


def test_version_byte_absent_version_6a88_on_the_sample_card():
    card = at(2)
    r = challenge(card)
    assert sw(card, ext_auth(2, "SSSE", "04", r, version=2)) == "6A88"


def test_version_byte_ignore_switch():
    card = versioned(2, key_version_byte="ignore")
    r = challenge(card)
    assert sw(card, ext_auth(2, "SSSE", "04", r, version=2)) == "9000"  # byte ignored: version 01
    r = challenge(card)
    assert sw(card, ext_auth(2, "SSSE", "04", r, version=2, value=V2)) == "63C2"


# --- INTERNAL AUTHENTICATE --------------------------------------------------------------------

R1R2 = bytes.fromhex("A1A2A3A4A5A6A7A8B1B2B3B4B5B6B7B8")


def int_answer(gen: int) -> str:
    return schemes.internal_authenticate(scheme(gen), key(gen, "SSSE", "01"), R1R2[:8], R1R2[8:]).hex().upper()


@pytest.mark.parametrize("gen", [1, 2, 3])
@pytest.mark.parametrize("tail", ["", "00", "08", "01"], ids=["no Le", "Le 00", "Le 08", "Le 01"])
def test_internal_authenticate_t0_6108_then_get_response(gen, tail):
    card = at(gen)
    assert rsp(card, "0088000110" + R1R2.hex() + tail) == "6108"  # Le ignored in t0
    assert rsp(card, "00C0000008") == int_answer(gen) + "9000"


@pytest.mark.parametrize("gen", [1, 2, 3])
@pytest.mark.parametrize("le, short", [("", False), ("00", False), ("08", False), ("09", False),
                                        ("01", True), ("07", True)])
def test_internal_authenticate_t1(gen, le, short):
    card = at(gen, transport="t1")
    assert rsp(card, "0088000110" + R1R2.hex() + le) == ("6C08" if short else int_answer(gen) + "9000")


def test_internal_authenticate_lc_11_version():
    card = at(2, transport="t1")
    assert rsp(card, "0088000111" + R1R2.hex() + "01") == int_answer(2) + "9000"
    assert sw(card, "0088000111" + R1R2.hex() + "02") == "6A88"


@pytest.mark.parametrize("apdu, expected", [
    pytest.param("0088010110" + R1R2.hex(), "6A86", id="6A86 P1 01"),
    pytest.param("008800010F" + R1R2.hex()[:-2], "6700", id="6700 Lc 0F"),
    pytest.param("0088000112" + R1R2.hex() + "0100", "6700", id="6700 Lc 12"),
    pytest.param("00880001", "6700", id="6700 no data"),
    pytest.param("0088000210" + R1R2.hex(), "6A88", id="6A88 key 02"),
    pytest.param("0088000410" + R1R2.hex(), "6985", id="6985 UK 04"),
    pytest.param("0088000A10" + R1R2.hex(), "6985", id="6985 RK 0A"),
    pytest.param("0088000810" + R1R2.hex(), "6985", id="6985 AMK 08"),
    pytest.param("0088000010" + R1R2.hex(), "6985", id="6985 MK 00"),
])
def test_internal_authenticate_sw_rows(apdu, expected):
    assert sw(at(2), apdu) == expected


def test_internal_authenticate_needs_no_challenge_and_keeps_it():
    card = at(2)
    r = challenge(card)
    assert sw(card, "0088000110" + R1R2.hex()) == "6108"
    ok(card, "00C0000008")
    assert sw(card, ext_auth(2, "SSSE", "04", r)) == "9000"


def test_internal_authenticate_from_df01_uses_the_ssse_irk():
    card = at(2, "DF01", transport="t1")
    assert rsp(card, "0088000110" + R1R2.hex()) == int_answer(2) + "9000"
