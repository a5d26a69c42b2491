"""SELECT (spec §4.5, PD-05, PD-10, PD-11): every P1/P2 row, the search order, FCIs, effects."""

from __future__ import annotations

import pytest

from cardkit import (ADF1_NAME, AID, PKI_NAME, SELECT_SSSE, SSSE_NAME, authenticate, block_application,
                     challenge, default_fci, ext_auth, mac84, make, ok, rsp, sample_records, select_df,
                     send, sw, verify)

FCI = default_fci()


def fci_of(name_hex: str, extra: str = "", dir_sfi: str | None = None) -> str:
    """6F L 84 Ln <name> [A5 03 88 01 sfi] [extra], built from the §4.5 rule."""
    body = "84" + f"{len(name_hex) // 2:02X}" + name_hex + (f"A5038801{dir_sfi}" if dir_sfi else "") + extra
    return "6F" + f"{len(body) // 2:02X}" + body


def test_rule_reproduces_the_default_fci_table():
    # guards fci_of() itself against the spec's own table
    assert FCI == {"SSSE": fci_of(SSSE_NAME, dir_sfi="0B"), "PKI": fci_of(PKI_NAME),
                   "SS.CERT.ADF1": fci_of(ADF1_NAME), "DF01": fci_of(AID["DF01"])}


# --- every P1/P2 row of the command table ------------------------------------------------------

@pytest.mark.parametrize("apdu, where", [
    pytest.param("00A4040C0F" + SSSE_NAME, "SSSE", id="04 0C name"),
    pytest.param("00A40000023F00", "MF", id="00 00 FID 3F00"),
    pytest.param("00A4000C023F00", "MF", id="00 0C FID 3F00"),
    pytest.param("00A40000", "MF", id="00 00 no data case 1"),
    pytest.param("00A4000C00", "MF", id="00 0C no data case 2"),
])
def test_select_without_fci(apdu, where):
    card = make(2)
    select_df(card, "DF01")
    assert rsp(card, apdu) == "9000"
    assert card.current_df.name == where and card.current_ef is None


@pytest.mark.parametrize("p1p2", ["0000", "000C", "0200", "020C"])
def test_select_ef_by_fid_makes_it_current(p1p2):
    card = make(2)
    select_df(card, "SSSE")
    assert rsp(card, f"00A4{p1p2}02EF05") == "9000"  # no data for a FID select
    assert rsp(card, "00B2010400") == sample_records()[2, "EF05"][1] + "9000"
    assert card.current_df.name == "SSSE"  # the current DF stays the EF's parent


@pytest.mark.parametrize("df, apdu, gen", [
    ("SSSE", SELECT_SSSE, 2),
    ("PKI", "00A404000C" + PKI_NAME, 3),
    ("SS.CERT.ADF1", "00A404000C" + ADF1_NAME, 3),
    ("DF01", "00A4040006" + AID["DF01"], 2),
], ids=["SSSE", "PKI", "SS.CERT.ADF1", "DF01"])
def test_default_fci_t0_61xx_then_get_response(df, apdu, gen):
    card = make(gen)
    fci = FCI[df]
    assert rsp(card, apdu) == f"61{len(fci) // 2:02X}"
    assert rsp(card, f"00C00000{len(fci) // 2:02X}") == fci + "9000"


@pytest.mark.parametrize("df", sorted(AID))
def test_fci_of_every_ssse_df_by_aid_t1(df):
    # DF01-DF07 have no DIR: no A5 template (§2.2 rules)
    card = make(2, transport="t1")
    assert rsp(card, "00A4040006" + AID[df]) == fci_of(AID[df]) + "9000"


def test_fci_t1_with_le():
    card = make(2, transport="t1")
    assert rsp(card, SELECT_SSSE + "18") == FCI["SSSE"] + "9000"
    assert rsp(card, SELECT_SSSE + "FF") == FCI["SSSE"] + "9000"


def test_fci_t1_short_le_6c_and_no_effect():
    card = make(2, transport="t1")
    assert rsp(card, SELECT_SSSE + "05") == "6C18"
    assert card.current_df.name == "MF"
    assert sw(card, "00B2012C00") == "6A82"  # still at the MF: no SFI 5 there


def test_t0_le_on_select_by_name_is_ignored():
    card = make(2)
    assert rsp(card, SELECT_SSSE + "01") == "6118"


@pytest.mark.parametrize("df, extra", [("PKI", "7303010203"), ("SSSE", "730100"), ("DF01", "C0")])
def test_fci_extra_switch(df, extra):
    gen = 3 if df == "PKI" else 2
    card = make(gen, transport="t1", fci_extra={df: extra})
    name = {"PKI": PKI_NAME, "SSSE": SSSE_NAME, "DF01": AID["DF01"]}[df]
    dir_sfi = "0B" if df == "SSSE" else None
    data, status = send(card, f"00A40400{len(name) // 2:02X}{name}")
    assert status == "9000" and data.hex().upper() == fci_of(name, extra, dir_sfi)


def test_dir_sfi_switch_changes_the_ssse_fci():
    card = make(2, transport="t1", dir_sfi="10")
    assert rsp(card, SELECT_SSSE) == fci_of(SSSE_NAME, dir_sfi="10") + "9000"
    assert sw(card, "00B2018400") == "9000"  # the DIR moved to SFI 10


@pytest.mark.parametrize("p2", ["0C", "00"])
def test_fid_select_never_returns_data(p2):
    card = make(2)
    assert rsp(card, f"00A400{p2}02DF01") == "6A82"  # MF: SSSE has no FID (PD-07)
    select_df(card, "SSSE")
    assert rsp(card, f"00A400{p2}02DF0100") == "9000"


# --- the SW table -----------------------------------------------------------------------------

@pytest.mark.parametrize("apdu, expected", [
    pytest.param("00A4040C0E" + SSSE_NAME[:-2], "6A82", id="name prefix is not a match"),
    pytest.param("00A4040C10" + SSSE_NAME + "00", "6A82", id="name with extra byte"),
    pytest.param("00A4040C06D15600000599", "6A82", id="unknown AID"),
    pytest.param("00A4040C0C" + PKI_NAME, "6A82", id="PKI name on gen2"),
    pytest.param("00A4000002DF01", "6A82", id="DF01 from the MF"),
    pytest.param("00A4000002EF05", "6A82", id="EF05 from the MF"),
    pytest.param("00A40300023F00", "6A86", id="P1 03"),
    pytest.param("00A40800023F00", "6A86", id="P1 08"),
    pytest.param("00A40300023F00", "6A86", id="P1 03"),
    pytest.param("00A40004023F00", "6A86", id="P2 04"),
    pytest.param("00A40001023F00", "6A86", id="P2 01"),
    pytest.param("00A4040D0F" + SSSE_NAME, "6A86", id="P1 04 P2 0D"),
    pytest.param("00A4000001DF", "6700", id="P1 00 Lc 1"),
    pytest.param("00A40000033F0000", "6700", id="P1 00 Lc 3"),
    pytest.param("00A40200", "6700", id="P1 02 no data"),
    pytest.param("00A4020003EF0500", "6700", id="P1 02 Lc 3"),
    pytest.param("00A40400", "6700", id="P1 04 no data"),
    pytest.param("00A4040000", "6700", id="P1 04 no data, Le"),
    pytest.param("00A4040011" + "00" * 17, "6700", id="P1 04 Lc 17"),
])
def test_select_sw_rows(apdu, expected):
    assert sw(make(2), apdu) == expected


@pytest.mark.parametrize("apdu", ["00A40000023F00", "00A40000"])
def test_select_mf_reject(apdu):
    card = make(2, select_mf="reject")
    select_df(card, "SSSE")
    assert sw(card, apdu) == "6A82"
    assert card.current_df.name == "SSSE"
    assert sw(card, "00A4000002DF01") == "9000"  # other SELECTs are unaffected


def test_blocked_application_rows():
    card = make(2)
    block_application(card)
    ok(card, "00A40000023F00")
    assert rsp(card, SELECT_SSSE) == "6283"  # selected, no FCI, no 61xx (PD-21)
    assert card.current_df.name == "SSSE"
    assert rsp(card, "00A4000002DF01") == "6283"
    card = make(2)
    block_application(card, permanent=True)
    ok(card, "00A40000023F00")
    assert rsp(card, SELECT_SSSE) == "9303"
    assert card.current_df.name == "MF"  # not selected


# --- search order -----------------------------------------------------------------------------

@pytest.mark.parametrize("start, fid, reached", [
    pytest.param("SSSE", "3F00", "MF", id="1 3F00 from SSSE"),
    pytest.param("DF01", "3F00", "MF", id="1 3F00 from DF01"),
    pytest.param("SSSE", "DF04", "SSSE/DF04", id="2 child DF"),
    pytest.param("SSSE", "EF06", "SSSE/EF06", id="2 child EF"),
    pytest.param("DF01", "EF06", "SSSE/DF01/EF06", id="2 child EF of DF01, not SSSE's EF06"),
    pytest.param("DF01", "DF02", "SSSE/DF02", id="4 sibling DF"),
    pytest.param("DF01", "DF01", "SSSE/DF01", id="4 the current DF itself"),
    pytest.param("DF07", "DF05", "SSSE/DF05", id="4 sibling DF05"),
])
def test_search_order(start, fid, reached):
    card = make(2)
    select_df(card, start)
    assert sw(card, f"00A4000002{fid}") == "9000"
    node = card.current_ef or card.current_df
    assert node.path == reached


@pytest.mark.parametrize("start, fid", [
    pytest.param("DF01", "EF0B", id="EF of the parent is not reachable"),
    pytest.param("DF01", "EF0D", id="EF of the parent (g3 EF0D) is not reachable"),
    pytest.param("MF", "EF05", id="grandchild EF"),
])
def test_search_order_misses(start, fid):
    card = make(3)
    select_df(card, start)
    assert sw(card, f"00A4000002{fid}") == "6A82"


def test_search_order_pki_parent_and_same_fid():
    card = make(3)
    select_df(card, "PKI")
    assert sw(card, "00A4000002DF01") == "9000"
    assert card.current_df.path == "PKI/SS.CERT.ADF1"  # the PKI child, not SSSE/DF01
    assert sw(card, "00A4000002DF01") == "9000"  # itself, as a child of its parent
    assert card.current_df.path == "PKI/SS.CERT.ADF1"
    assert sw(card, "00A4000C020012") == "9000" and card.current_ef.name == "0012"


@pytest.mark.parametrize("start, fid", [("SSSE", "DF01"), ("SSSE", "3F00"), ("DF01", "EF0B"),
                                        ("DF01", "DF02"), ("MF", "EF05")])
def test_p1_02_finds_only_ef_children(start, fid):
    card = make(2)
    select_df(card, start)
    assert sw(card, f"00A4020002{fid}") == "6A82"


@pytest.mark.parametrize("start", ["MF", "DF03", "ADF1"])
def test_select_by_name_searches_the_whole_card(start):
    card = make(3)
    select_df(card, start)
    assert sw(card, "00A4040C06" + AID["DF06"]) == "9000" and card.current_df.path == "SSSE/DF06"
    assert sw(card, "00A4040C0C" + ADF1_NAME) == "9000" and card.current_df.path == "PKI/SS.CERT.ADF1"


# --- effects on the security state and the challenge ---------------------------------------

DF_SELECTS = {
    "SSSE by name again": SELECT_SSSE[:6] + "0C" + SELECT_SSSE[8:],
    "MF by FID": "00A40000023F00",
    "MF no data": "00A40000",
    "DF01 by FID": "00A4000002DF01",
    "DF01 by AID": "00A4040C06" + AID["DF01"],
}


@pytest.mark.parametrize("apdu", DF_SELECTS.values(), ids=DF_SELECTS.keys())
def test_df_select_clears_status_challenge_and_current_ef(apdu):
    card = make(2)
    select_df(card, "SSSE")
    assert authenticate(card, "04") == "9000"
    ok(card, "00A4000002EF05")
    r = challenge(card)
    assert sw(card, apdu) == "9000"
    assert card.sec.status == set()
    assert sw(card, "00B2010400") == "6986"  # no current EF
    select_df(card, "SSSE")
    assert sw(card, ext_auth(2, "SSSE", "04", r)) == "6984"  # the challenge went with the select
    assert sw(card, "00DC022C03020131") == "6982"  # key 04 no longer satisfied


@pytest.mark.parametrize("apdu", ["00A4000002EF06", "00A4020002EF07", "00A4000C02EF0B"])
def test_ef_select_keeps_status_and_challenge(apdu):
    card = make(2)
    select_df(card, "SSSE")
    assert authenticate(card, "04") == "9000"
    r = challenge(card)
    assert sw(card, apdu) == "9000"
    assert sw(card, "00DC022C03020131") == "9000"  # status kept
    assert sw(card, ext_auth(2, "SSSE", "0A", r)) == "9000"  # challenge kept


def test_ef_select_keeps_verified_pin():
    card = make(2)
    select_df(card, "DF01")
    assert verify(card) == "9000"
    ok(card, "00A4000002EF06")
    assert rsp(card, "00B2020400") == "24035180009000"  # §3.8 DF01/EF06 record 2


FAILING_SELECTS = {
    "6A82 unknown name": ("00A4040C06D15600000599", "6A82"),
    "6A82 unknown FID": ("00A40000021234", "6A82"),
    "6A82 P1 02 DF": ("00A4020002DF02", "6A82"),
    "6A86 P1 03": ("00A40300023F00", "6A86"),
    "6700 Lc 3": ("00A40000033F0000", "6700"),
    "6700 name Lc 17": ("00A4040011" + "00" * 17, "6700"),
}


@pytest.mark.parametrize("apdu, expected", FAILING_SELECTS.values(), ids=FAILING_SELECTS.keys())
def test_failed_select_changes_nothing(apdu, expected):
    card = make(2)
    select_df(card, "DF01")
    assert verify(card) == "9000"
    ok(card, "00A4000002EF06")
    r = challenge(card)
    assert sw(card, apdu) == expected
    assert card.current_df.path == "SSSE/DF01" and card.current_ef.name == "EF06"
    assert rsp(card, "00B2020400") == "24035180009000"  # current EF and PIN status kept
    assert sw(card, ext_auth(2, "DF01", "81", r)) == "9000"  # challenge kept


def test_card_blocked_select_6a81():
    card = make(2)
    select_df(card, "SSSE")
    ok(card, mac84(card, "84160000"))
    assert sw(card, "00A40000023F00") == "6A81"
    assert sw(card, SELECT_SSSE) == "6A81"
