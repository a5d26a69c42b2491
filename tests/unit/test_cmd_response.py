"""GET CHALLENGE, GET RESPONSE and the transport/Le rules (spec §4.2, §4.10, §4.18, PD-01-PD-04)."""

from __future__ import annotations

import pytest

from cardkit import (SELECT_SSSE, authenticate, default_fci, ext_auth, make, rsp, sample_records,
                     select_df, send, sw)

FCI = default_fci()["SSSE"]  # 24 bytes
R1R2 = "A1A2A3A4A5A6A7A8B1B2B3B4B5B6B7B8"


# --- GET CHALLENGE ----------------------------------------------------------------------------

@pytest.mark.parametrize("le", ["04", "08", "10"])
@pytest.mark.parametrize("transport", ["t0", "t1"])
def test_get_challenge_lengths(le, transport):
    forced = "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF"
    card = make(2, forced, transport=transport)
    n = int(le, 16)
    assert rsp(card, "00840000" + le) == forced[: 2 * n] + "9000"  # the card's random, n bytes


@pytest.mark.parametrize("apdu, expected", [
    *[pytest.param(f"00840000{le}", "6700", id=f"Le {le}") for le in ("00", "01", "02", "05", "07", "09",
                                                                      "0F", "11", "20", "FF")],
    pytest.param("00840000", "6700", id="no Le"),
    pytest.param("008400000108", "6700", id="data field"),
    pytest.param("00840000010008", "6700", id="data field and Le"),
    pytest.param("0084010008", "6A86", id="P1 01"),
    pytest.param("0084000108", "6A86", id="P2 01"),
    pytest.param("0084010000", "6A86", id="P1 01 and Le 00: 6A86 first"),
])
def test_get_challenge_sw_rows(apdu, expected):
    assert rsp(make(2), apdu) == expected


def test_failed_get_challenge_keeps_the_previous_challenge():
    card = make(2)
    select_df(card, "SSSE")
    r, _ = send(card, "0084000008")
    assert sw(card, "0084000005") == "6700"
    assert sw(card, "0084010008") == "6A86"
    assert sw(card, ext_auth(2, "SSSE", "04", r)) == "9000"


@pytest.mark.parametrize("where", ["MF", "SSSE", "DF05", "PKI", "ADF1"])
def test_get_challenge_everywhere(where):
    card = make(3)
    select_df(card, where)
    data, status = send(card, "0084000010")
    assert status == "9000" and len(data) == 16


# --- GET RESPONSE -----------------------------------------------------------------------------

@pytest.mark.parametrize("le", ["18", "00", "", "19", "FF"], ids=["Le = N", "Le 00", "no Le", "Le N+1", "Le FF"])
def test_get_response_all_data(le):
    card = make(2)
    assert rsp(card, SELECT_SSSE) == "6118"
    assert rsp(card, "00C00000" + le) == FCI + "9000"
    assert rsp(card, "00C0000018") == "6985"  # buffer emptied


@pytest.mark.parametrize("le", ["01", "10", "17"])
def test_get_response_short_le_keeps_the_buffer(le):
    card = make(2)
    assert rsp(card, SELECT_SSSE) == "6118"
    assert rsp(card, "00C00000" + le) == "6C18"
    assert rsp(card, "00C0000005") == "6C18"  # still there
    assert rsp(card, "00C0000018") == FCI + "9000"


@pytest.mark.parametrize("between", ["0084000008", "00A4020002EF05", "00B2012C00", "00FF000000",
                                     "FF000000", "00C0010000", "00C0000018AA"],
                         ids=["GET CHALLENGE", "SELECT", "READ RECORD", "unknown INS", "bad CLA",
                              "GET RESPONSE bad P1", "GET RESPONSE unparsable"])
def test_any_other_command_empties_the_buffer(between):
    card = make(2)
    assert rsp(card, SELECT_SSSE) == "6118"
    send(card, between)
    assert rsp(card, "00C0000018") == "6985"


@pytest.mark.parametrize("apdu, expected", [
    pytest.param("00C0000000", "6985", id="6985 no buffer"),
    pytest.param("00C00000", "6985", id="6985 no buffer, no Le"),
    pytest.param("00C0010018", "6A86", id="6A86 P1 01"),
    pytest.param("00C0000118", "6A86", id="6A86 P2 01"),
    pytest.param("00C0000001AA", "6700", id="6700 data field"),
])
def test_get_response_sw_rows(apdu, expected):
    assert rsp(make(2), apdu) == expected


def test_get_response_6a86_wins_over_no_buffer_and_empties_it():
    # the buffer "survives only until the next command" (§4.2); only a 6Cxx answer keeps it
    card = make(2)
    assert rsp(card, SELECT_SSSE) == "6118"
    assert rsp(card, "00C0800018") == "6A86"
    assert rsp(card, "00C0000018") == "6985"


def test_get_response_after_internal_authenticate():
    card = make(2)
    select_df(card, "SSSE")
    assert rsp(card, "0088000110" + R1R2) == "6108"
    data, status = send(card, "00C0000008")
    assert status == "9000" and len(data) == 8


# --- t0 vs t1 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("le", ["", "00", "01", "18", "FF"])
def test_t0_case_4_answers_61xx_whatever_the_le(le):
    assert rsp(make(2), SELECT_SSSE + le) == "6118"


@pytest.mark.parametrize("le, expected", [("", FCI + "9000"), ("00", FCI + "9000"), ("18", FCI + "9000"),
                                          ("FF", FCI + "9000"), ("17", "6C18"), ("01", "6C18")])
def test_t1_case_3_4_le_rules(le, expected):
    card = make(2, transport="t1")
    assert rsp(card, SELECT_SSSE + le) == expected
    assert rsp(card, "00C0000000") == "6985"  # t1 never buffers


def test_t1_resend_after_6cxx():
    card = make(2, transport="t1")
    assert rsp(card, SELECT_SSSE + "01") == "6C18"
    assert rsp(card, SELECT_SSSE + "18") == FCI + "9000"
    assert card.current_df.name == "SSSE"


@pytest.mark.parametrize("transport", ["t0", "t1"])
@pytest.mark.parametrize("le, short", [("", False), ("00", False), ("12", False), ("13", False),
                                        ("11", True), ("01", True)])
def test_case_2_le_rules_same_in_t0_and_t1(transport, le, short):
    card = make(2, transport=transport)
    select_df(card, "SSSE")
    record = sample_records()[2, "EF05"][1]  # 18 bytes
    assert rsp(card, "00B2012C" + le) == ("6C12" if short else record + "9000")


@pytest.mark.parametrize("transport", ["t0", "t1"])
def test_trailing_le_on_a_command_without_data_is_ignored(transport):
    card = make(2, transport=transport)
    select_df(card, "SSSE")
    assert rsp(card, "00A4000002EF0500") == "9000"
    assert authenticate(card, "04") == "9000"
    assert rsp(card, "00DC022C0302013101") == "9000"
    assert rsp(card, "002000000312345608") == "9000"


@pytest.mark.parametrize("transport, first, then", [
    ("t0", "6108", "GET RESPONSE"), ("t1", "data", None)])
def test_internal_authenticate_t0_t1(transport, first, then):
    card = make(3, transport=transport)
    select_df(card, "SSSE")
    data, status = send(card, "0088000110" + R1R2)
    if then:
        assert (data, status) == (b"", "6108")
        data, status = send(card, "00C0000008")
    assert status == "9000" and len(data) == 8


def test_t1_atr_differs_from_t0():
    t0, t1 = make(2).atr, make(2, transport="t1").atr
    assert t0.hex().upper() == "3B6D00000081005353430244035A3C1E02"  # ATR-G2 of §6
    assert t1.hex().upper() == "3BED0000010081005353430244035A3C1E0211"


@pytest.mark.parametrize("how", ["reset", "power cycle"])
def test_reset_clears_the_volatile_state(how):
    # §5.3 / §8: current DF = MF, no current EF, no status, no challenge, no GET RESPONSE buffer
    card = make(2)
    select_df(card, "SSSE")
    assert authenticate(card, "04") == "9000"
    r, _ = send(card, "0084000008")
    assert rsp(card, "0088000110" + R1R2) == "6108"  # a buffer, without leaving the DF
    assert sw(card, "00DC022C03020131") == "9000" and rsp(card, "0088000110" + R1R2) == "6108"
    if how == "reset":
        card.reset()
    else:
        card.power_off()
        card.power_on()
    assert rsp(card, "00C0000008") == "6985"
    assert sw(card, "00B2012C00") == "6A82"  # at the MF
    select_df(card, "SSSE")
    assert sw(card, "00B2010400") == "6986"
    assert sw(card, ext_auth(2, "SSSE", "04", r)) == "6984"
    assert sw(card, "00DC022C03020131") == "6982"
