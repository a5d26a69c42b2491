"""Cardholder PIN: VERIFY, CHANGE PIN, RELOAD PIN, PIN UNBLOCK (spec §4.13-§4.16, §5.3, PD-14,
PD-18-PD-20, PD-22, PD-23)."""

from __future__ import annotations

import pytest

from cardkit import (algorithm, challenge, image, key, lc, mac84, make, ok, select_df, select_ef, sw,
                     verify)
from simulator import crypto, schemes


def at(gen: int = 2, df: str = "SSSE", pin: str | None = None, tries: int | None = None, **switches):
    img = image(gen, **switches)
    if pin is not None or tries is not None:
        img["pins"]["SSSE"] = {"value": pin or "123456", **({"tries": tries} if tries is not None else {})}
    card = make(gen, image_dict=img)
    select_df(card, df)
    return card


def block_pin(card):
    for left in (2, 1, 0):
        assert verify(card, "000000") == f"63C{left}"
    assert verify(card) == "6983"


# --- VERIFY -----------------------------------------------------------------------------------

@pytest.mark.parametrize("gen", [1, 2, 3])
@pytest.mark.parametrize("df", ["SSSE", "DF01", "DF04", "DF07"])
def test_verify_default_pin_in_the_ssse_tree(gen, df):
    card = at(gen, df)
    assert sw(card, "0020000003123456") == "9000"  # §4.13 example (C)
    assert sw(card, "00200000") == "9000"  # status query: verified in this DF
    assert "PIN" in card.sec.status


def test_status_query_counts_down_then_6983():
    card = at()
    assert sw(card, "00200000") == "63C3"
    assert verify(card, "654321") == "63C2"
    assert sw(card, "00200000") == "63C2"
    assert sw(card, "0020000000") == "63C2"  # case 2 form of the query
    assert verify(card, "654321") == "63C1"
    assert verify(card, "654321") == "63C0"  # the last try
    assert sw(card, "00200000") == "6983"
    assert verify(card) == "6983"  # blocked: the right PIN too


def test_success_resets_the_counter():
    card = at()
    assert verify(card, "111111") == "63C2"
    assert verify(card) == "9000"
    assert sw(card, "00200000") == "9000"
    assert verify(card, "111111") == "63C2"  # back from the maximum


def test_pin_tries_switch():
    card = at(pin_tries=6)
    assert sw(card, "00200000") == "63C6"
    assert verify(card, "111111") == "63C5"


def test_counter_is_persistent_across_reset():
    card = at()
    assert verify(card, "111111") == "63C2"
    card.reset()
    select_df(card, "SSSE")
    assert sw(card, "00200000") == "63C2"


@pytest.mark.parametrize("pin, presented, expected", [
    ("12345", "002000000312345F", "9000"),
    ("12345", "0020000003123450", "63C2"),
    ("12345", "00200000021234", "63C2"),
    ("1234", "00200000021234", "9000"),
    ("123456789012", "0020000006123456789012", "9000"),
    ("123456", "002000000412345600", "63C2"),  # bytes must equal exactly: 12345600 is another PIN
])
def test_odd_and_other_pin_lengths(pin, presented, expected):
    card = at(pin=pin)
    assert sw(card, presented) == expected


@pytest.mark.parametrize("data", ["123A56", "12F456", "F23456", "1234F6", "12FF56", "ABCDEF"],
                         ids=["nibble A", "F in the middle", "F first", "F before last", "FF", "ABCDEF"])
def test_verify_6a80_not_bcd_and_no_try_used(data):
    card = at()
    assert sw(card, "00200000" + lc(bytes.fromhex(data))) == "6A80"
    assert sw(card, "00200000") == "63C3"


@pytest.mark.parametrize("apdu, expected", [
    pytest.param("0020020003123456", "6A86", id="6A86 P1 02"),
    pytest.param("0020800003123456", "6A86", id="6A86 P1 80"),
    pytest.param("0020FF0003123456", "6A86", id="6A86 P1 FF"),
    pytest.param("002000000112", "6700", id="6700 Lc 01"),
    pytest.param("002000000712345612345612", "6700", id="6700 Lc 07"),
    pytest.param("0020000103123456", "6A88", id="6A88 P2 01"),
    pytest.param("0020008103123456", "6A88", id="6A88 P2 81"),
    pytest.param("00200001", "6A88", id="6A88 P2 01 query"),
])
def test_verify_sw_rows(apdu, expected):
    card = at()
    assert sw(card, apdu) == expected
    assert sw(card, "00200000") == "63C3"  # none of them used a try


@pytest.mark.parametrize("gen, df", [(2, "MF"), (3, "PKI"), (3, "ADF1")])
def test_verify_outside_the_ssse_tree_6a88(gen, df):
    card = at(gen, df)
    assert sw(card, "0020000003123456") == "6A88"
    assert sw(card, "00200000") == "6A88"


def test_wrong_verify_clears_the_verified_state():
    card = at(2, "DF01")
    ok(card, "00A4020002EF06")
    assert verify(card) == "9000"
    assert sw(card, "00B2010400") == "9000"
    assert verify(card, "999999") == "63C2"
    assert sw(card, "00B2010400") == "6982"


@pytest.mark.parametrize("target", ["00A4000002DF02", "00A4040C06D15600000500", "00A40000023F00"])
def test_verified_state_is_cleared_by_a_df_change(target):
    card = at(2, "DF01")
    assert verify(card) == "9000"
    assert sw(card, target) == "9000"
    assert "PIN" not in card.sec.status
    select_ef(card, "DF01", "EF06")
    assert sw(card, "00B2010400") == "6982"


def test_verify_trailing_le_ignored():
    assert sw(at(), "002000000312345600") == "9000"


# --- CHANGE PIN -------------------------------------------------------------------------------

def test_change_pin_example():
    card = at()
    assert sw(card, "805E010007123456FF246810") == "9000"  # §4.14 example
    assert verify(card, "246810") == "9000"
    assert verify(card, "123456") == "63C2"


def test_change_pin_counts_as_verify_pd23():
    card = at(2, "DF01")
    ok(card, "00A4020002EF06")
    assert sw(card, "00B2010400") == "6982"
    assert sw(card, "805E010007123456FF246810") == "9000"
    assert sw(card, "00B2010400") == "9000"
    assert sw(card, "00200000") == "9000"


def test_change_pin_resets_the_counter_and_odd_lengths():
    card = at()
    assert verify(card, "000000") == "63C2"
    assert sw(card, "805E010006123456FF1234") == "9000"  # new PIN of 2 bytes
    assert sw(card, "00200000") == "9000"
    assert sw(card, "805E0100081234FF1234567890") == "9000"  # 2 bytes -> 5 bytes
    assert sw(card, "805E0100091234567890FF13579F") == "9000"  # odd: 13579 ends with F
    assert verify(card, "13579") == "9000"


def test_change_pin_wrong_old_counts_down_then_blocked():
    card = at()
    for left in (2, 1, 0):
        assert sw(card, "805E010007654321FF246810") == f"63C{left}"
    assert sw(card, "805E010007123456FF246810") == "6983"
    assert sw(card, "805E010007123456FF2A6810") == "6983"  # blocked (9) before bad BCD (12)


@pytest.mark.parametrize("apdu, expected", [
    pytest.param("805E010107123456FF246810", "6A86", id="6A86 P1 P2 01 01"),
    pytest.param("805E020007123456FF246810", "6A86", id="6A86 P1 P2 02 00"),
    pytest.param("805E000107123456FF246810", "6A86", id="6A86 P1 P2 00 01"),
    pytest.param("805E0100041234FF12", "6700", id="6700 Lc 04"),
    pytest.param("805E01000E123456FF12345678901234567890", "6700", id="6700 Lc 0E"),
    pytest.param("805E01", "6700", id="6700 short APDU"),
    pytest.param("805E0100", "6700", id="6700 no data"),
    pytest.param("805E010007123456EE246810", "6A80", id="6A80 no separator"),
    pytest.param("805E0100071234A6FF246810", "6A80", id="6A80 old not BCD"),
    pytest.param("805E010007123456FF24F810", "6A80", id="6A80 new F not last"),
    pytest.param("805E010005123456FF12", "6A80", id="6A80 new 1 byte"),
    pytest.param("805E01000B123456FF12345678901234", "6A80", id="6A80 new 7 bytes"),
    pytest.param("805E010005FF12345678", "6A80", id="6A80 old empty"),
])
def test_change_pin_sw_rows(apdu, expected):
    card = at()
    assert sw(card, apdu) == expected
    assert sw(card, "00200000") == "63C3"


def test_change_pin_only_in_the_ssse_tree():
    assert sw(at(2, "MF"), "805E010007123456FF246810") == "6D00"
    assert sw(at(3, "ADF1"), "805E010007123456FF246810") == "6D00"


# --- RELOAD PIN -------------------------------------------------------------------------------

def reload_apdu(gen: int, new: str, mac_key: bytes | None = None) -> str:
    pin = schemes.pin_bcd(new)
    k = mac_key if mac_key is not None else key(gen, "SSSE", "07")
    return "805E0000" + lc(pin + crypto.mac(algorithm(gen), k, pin))  # zero ICV, no challenge (PD-19)


@pytest.mark.parametrize("gen", [1, 2, 3])
def test_reload_pin_replaces_and_unblocks(gen):
    card = at(gen)
    block_pin(card)
    assert sw(card, reload_apdu(gen, "8642")) == "9000"
    assert sw(card, "00200000") == "63C3"  # counter at the maximum again
    assert verify(card, "8642") == "9000"


@pytest.mark.parametrize("apdu, expected", [
    pytest.param("805E00000512345678AB", "6700", id="6700 Lc 05"),
    pytest.param("805E00000B" + "00" * 11, "6700", id="6700 Lc 0B"),
    pytest.param("805E0000071234A600000000", "6A80", id="6A80 new PIN not BCD"),
    pytest.param("805E00000712345600000000", "6988", id="6988 MAC wrong"),
])
def test_reload_pin_sw_rows(apdu, expected):
    card = at()
    assert sw(card, apdu) == expected
    assert verify(card) == "9000"  # PIN unchanged


def test_reload_pin_mac_error_sw_9302():
    assert sw(at(2, mac_error_sw="9302"), "805E00000712345600000000") == "9302"


def test_reload_pin_6a88_without_rpk():
    img = image(2)
    del img["keys"]["SSSE"]["07"]
    card = make(2, image_dict=img)
    select_df(card, "SSSE")
    assert sw(card, reload_apdu(2, "123456")) == "6A88"


def test_reload_pin_wrong_key_is_6988():
    card = at(3)
    assert sw(card, reload_apdu(3, "123456", key(3, "SSSE", "06"))) == "6988"


# --- PIN UNBLOCK ------------------------------------------------------------------------------

def unblock_apdu(card, new: str | None = None, n: int = 8, puk: bytes | None = None) -> str:
    gen = card.model.generation
    k = puk if puk is not None else key(gen, "SSSE", "06")
    enc = schemes.pin_unblock_enc(algorithm(gen), k, schemes.pin_bcd(new)) if new else b""
    return mac84(card, "84240000", enc, ref="06", n=n, value=puk)


@pytest.mark.parametrize("gen", [1, 2, 3])
@pytest.mark.parametrize("n", [4, 8, 16])
def test_pin_unblock_lc_04_resets_the_counter(gen, n):
    card = at(gen)
    block_pin(card)
    assert sw(card, unblock_apdu(card, n=n)) == "9000"
    assert sw(card, "00200000") == "63C3"
    assert verify(card) == "9000"  # PIN unchanged


@pytest.mark.parametrize("gen, lc_byte", [(1, "0C"), (2, "0C"), (3, "14")])
def test_pin_unblock_with_new_pin(gen, lc_byte):
    card = at(gen)
    block_pin(card)
    apdu = unblock_apdu(card, "97531")
    assert apdu[8:10] == lc_byte  # DES: ENC 8 + MAC 4; SM4: ENC 16 + MAC 4
    assert sw(card, apdu) == "9000"
    assert verify(card, "97531") == "9000"


def test_pin_unblock_sw_rows():
    card = at(2)
    assert sw(card, "8424000004" + "00" * 4) == "6984"  # no challenge
    challenge(card)
    assert sw(card, "8424010004" + "00" * 4) == "6A86"
    assert sw(card, "8424000104" + "00" * 4) == "6A86"
    assert sw(card, "8424000008" + "00" * 8) == "6700"
    assert sw(card, "8424000014" + "00" * 20) == "6700"  # Lc 14 is for an SM4 PUK
    assert sw(card, "84240000") == "6700"
    assert sw(card, "8424000004" + "00" * 4) == "6988"  # MAC wrong (the challenge got used)
    assert sw(card, "8424000004" + "00" * 4) == "6984"


def test_pin_unblock_sm4_lc_0c_is_6700():
    card = at(3)
    challenge(card)
    assert sw(card, "842400000C" + "00" * 12) == "6700"


def test_pin_unblock_challenge_consumed_by_a_wrong_mac():
    card = at(2)
    block_pin(card)
    good = unblock_apdu(card)
    assert sw(card, good[:-8] + "00000000") == "6988"
    assert sw(card, good) == "6984"
    assert sw(card, "00200000") == "6983"


def test_pin_unblock_mac_error_sw_9302():
    card = at(3, mac_error_sw="9302")
    challenge(card)
    assert sw(card, "8424000004" + "00" * 4) == "9302"


def test_pin_unblock_6a88_without_puk():
    img = image(2)
    del img["keys"]["SSSE"]["06"]
    card = make(2, image_dict=img)
    select_df(card, "SSSE")
    challenge(card)
    assert sw(card, "8424000004" + "00" * 4) == "6A88"


BAD_BLOCKS = {  # decrypted PIN blocks that §4.16 calls malformed: L not 2-6, bad BCD, bad padding
    2: {"L 7": "0712345612345612", "bad BCD": "03123A5680000000", "no 80": "0312345600000000",
        "L 1": "0112800000000000"},
    3: {"L 7": "07123456123456128000000000000000", "bad BCD": "03123A56800000000000000000000000",
        "no 80": "03123456000000000000000000000000", "L 1": "01128000000000000000000000000000"},
}


@pytest.mark.parametrize("gen, plain", [(g, p) for g, b in BAD_BLOCKS.items() for p in b.values()],
                         ids=[f"g{g}-{n}" for g, b in BAD_BLOCKS.items() for n in b])
def test_pin_unblock_malformed_pin_block_6a80(gen, plain):
    # MAC right, ENC malformed: the MAC is checked first (as §4.19.8 says for the PKI PIN block)
    card = at(gen)
    k = key(gen, "SSSE", "06")
    enc = (crypto.tdes_encrypt if gen < 3 else crypto.sm4_encrypt)(k, bytes.fromhex(plain))
    assert sw(card, mac84(card, "84240000", enc, ref="06")) == "6A80"
    assert verify(card) == "9000"  # PIN unchanged


def test_pin_unblock_only_in_the_ssse_tree():
    card = at(2, "MF")
    challenge(card)
    assert sw(card, "8424000004" + "00" * 4) == "6D00"
