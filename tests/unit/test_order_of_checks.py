"""Order of checks (spec §4.3, PD-32, PD-33): each line with one fault, then pairs of faults where
the first matching line must win. Steps 1-3b read only CLA, INS (and P1 for INS 20), so they apply
to C-APDUs that §4.1 cannot parse.

A case id reads `<step>` for a single fault, `<step> over <later step>` for a pair.
"""

from __future__ import annotations

import pytest

from cardkit import (ADF1_NAME, SELECT_SSSE, block_application, challenge, ext_auth, key, mac84, make, ok,
                     registered, select_df, select_ef, sw, verify)
from simulator import crypto

Z16, Z20 = "00" * 16, "00" * 20
EXT_WRONG = "0082000410" + Z16


def _block_key00(card):
    for _ in range(3):
        r = challenge(card)
        sw(card, ext_auth(3, "SSSE", "00", r, value=bytes(16)))


def _block_pin(card):
    for _ in range(3):
        verify(card, "000000")


SETUPS = {
    "mf": lambda c: None,
    "ssse": lambda c: select_df(c, "SSSE"),
    "ssse+R": lambda c: (select_df(c, "SSSE"), challenge(c)),
    "ef07": lambda c: select_ef(c, "SSSE", "EF07"),
    "df01": lambda c: select_df(c, "DF01"),
    "pki": lambda c: select_df(c, "PKI"),
    "adf1": lambda c: select_df(c, "ADF1"),
    "temp": lambda c: block_application(c),
    "temp@mf": lambda c: (block_application(c), ok(c, "00A40000023F00")),
    "perm@mf": lambda c: (block_application(c, permanent=True), ok(c, "00A40000023F00")),
    "card": lambda c: (select_df(c, "SSSE"), ok(c, mac84(c, "84160000"))),
    "k00 blocked": lambda c: (select_df(c, "SSSE"), _block_key00(c)),
    "PIN blocked": lambda c: (select_df(c, "SSSE"), _block_pin(c)),
}

CASES = [
    # 1 card blocked: 6A81 before everything, parsable or not
    ("1", "card", "00A40000023F00", "6A81"),
    ("1 over 2", "card", "FFA40000", "6A81"),
    ("1 over 3", "card", "00FF0000", "6A81"),
    ("1 over 4 (empty)", "card", "", "6A81"),
    ("1 over 4 (2 bytes)", "card", "00B2", "6A81"),
    # 2 CLA
    *[(f"2 CLA {c}", "ssse", f"{c}B2012C00", "6E00") for c in ("10", "04", "0C", "90", "A0", "FF")],
    ("2 over 3", "ssse", "FFFF000000", "6E00"),
    ("2 over 4", "ssse", "FFB2", "6E00"),
    ("2 over 3b", "mf", "C05E010007123456FF246810", "6E00"),
    # 3 INS unknown for every CLA (personalisation commands are absent, §1.2)
    *[(f"3 {a[:4]}", "ssse", a, "6D00") for a in ("00FF000000", "80FF0000", "84FF0000", "0000000000",
                                                 "80E0000000", "00E4000000", "00CA9F7F00")],
    ("3 over 4 (2 bytes)", "ssse", "00FF", "6D00"),
    ("3 over 4 (Lc mismatch)", "ssse", "00FF00000500", "6D00"),
    # 3a INS known, not with this CLA
    *[(f"3a {a[:4]}", "ssse", a, "6E00") for a in ("80A40000023F00", "84B2012C00", "8084000008",
                                                  "005E010007123456FF246810", "0024000004" + "00" * 4,
                                                  "801E000004" + "00" * 4, "8420000003123456")],
    ("3a over 3b", "mf", "005E010007123456FF246810", "6E00"),
    ("3a over 4", "ssse", "80B2", "6E00"),
    # 3b another application's command
    *[(f"3b {a[:8]} at {w}", w, a, "6D00") for w in ("mf", "pki", "adf1") for a in (
        "805E010007123456FF246810", "805E00000712345600000000", "8424000004" + "00" * 4,
        "841E000004" + "00" * 4, "8418000004" + "00" * 4, "8416000004" + "00" * 4)],
    *[(f"3b PKI {a[:8]} in {w}", w, a, "6D00") for w in ("ssse", "df01", "mf") for a in (
        "80C4010305C10312345600", "8040000008C0020012C2020013", "80C9820008C0020012C2020013", "80C9828000",
        "804E000178C2020013C1820070" + "00" * 112, "804A021012C110" + Z16,
        "80C2400046C0020014CA40" + "00" * 64, "84D4010024" + "00" * 36)],
    ("3b over 4", "mf", "805E010007123456", "6D00"),
    ("3b over 4 (3 bytes)", "mf", "805E01", "6D00"),
    ("3b over 5", "temp", "80C4010305C10312345600", "6D00"),
    ("3b over 6", "mf", "805E0200" + "07123456FF246810", "6D00"),
    # 4 APDU that §4.1 cannot parse, or the wrong case for the command
    *[(f"4 {a}", "ssse", a, "6700") for a in ("00B2", "00B201", "00A40400000F" + SELECT_SSSE[10:],
                                             "00A4000003EF05", "00A4000001EF05", "00B2012C0000",
                                             "00B2012C01AA", "00B000000100", "008400000108",
                                             "00C0000001AA", "00820004", "00DC012C", "00D60000",
                                             "805E0100", "84240000", "841E0000")],
    ("4 over 6", "ssse", "00B2010701AA", "6700"),
    ("4 over 6 (binary)", "ssse", "00B0A70001AA", "6700"),
    ("4 over 5", "temp", "00B2012C01AA", "6700"),
    ("5 (case 1 READ RECORD is well formed)", "temp", "00B2012C", "6985"),
    # 5 current application temporarily blocked
    ("5", "temp", "00B2012C00", "6985"),
    ("5 over 6", "temp", "00B2012F00", "6985"),
    ("5 over 7", "temp", "00200000011F", "6985"),
    ("5 over 8", "temp", "00B2014C00", "6985"),
    ("5 over 8d", "temp", "0082001F10" + Z16, "6985"),
    ("5 over 10", "temp", "8424000004" + "00" * 4, "6985"),
    ("5 exempt: SELECT", "temp", "00A4020002EF05", "6283"),
    ("5 exempt: GET CHALLENGE", "temp", "0084000008", "9000"),
    ("5 exempt: GET RESPONSE", "temp", "00C0010000", "6A86"),
    ("5 exempt: APPLICATION UNBLOCK", "temp", "8418000004" + "00" * 4, "6984"),
    ("5 outside the application", "temp@mf", "00B2012C00", "6A82"),
    # 6 P1/P2 malformed
    *[(f"6 {a[:8]}", "ssse+R", a, "6A86") for a in (
        "00B2012F00", "0084010008", "0082010410" + Z16, "0088010110" + Z16, "0020020003123456",
        "805E020007123456FF246810", "8424010004" + "00" * 4, "841E000204" + "00" * 4, "00C0010000",
        "00A40300023F00", "00B0A00000", "00D6A00001AA", "00DC012903010101")],
    ("6 over 7", "ssse", "0084010005", "6A86"),
    ("6 over 7 (SELECT)", "ssse", "00A4030003123456", "6A86"),
    ("7 (SELECT P1 01, R2-1)", "ssse", "00A4010003123456", "6700"),
    ("6 over 7 (EXT AUTH)", "ssse+R", "008201040F" + Z16[:-2], "6A86"),
    ("6 over 7 (VERIFY)", "ssse", "002002000712345612345612", "6A86"),
    ("6 over 8", "ssse", "00B2014F00", "6A86"),
    ("6 over 8 (binary)", "ssse", "00B0E90000", "6A86"),
    ("6 over 8d", "ssse+R", "0082005F10" + Z16, "6A86"),
    ("6 over 10", "ssse", "8424010004" + "00" * 4, "6A86"),
    # 7 Lc or Le outside the command's fixed values
    *[(f"7 {a[:10]}", "ssse+R", a, "6700") for a in (
        "0084000005", "008200040F" + Z16[:-2], "002000000712345612345612", "00A40000033F0000",
        "805E0100041234FF12", "8424000008" + "00" * 8, "841E000008" + "00" * 8, "805E00000512345678AB",
        "008800010F" + Z16[:-2])],
    ("7 over 7a", "temp@mf", "00A4000003DF0100", "6700"),
    ("7 over 8 (SELECT)", "ssse", "00A40000031234FF", "6700"),
    ("7 over 8d (EXT AUTH key 1F)", "ssse+R", "0082001F0F" + Z16[:-2], "6700"),
    ("7 over 8d (VERIFY at the MF)", "mf", "002000000712345612345612", "6700"),
    ("7 over 10", "ssse", "8424000008" + "00" * 8, "6700"),
    # 7a SELECT of a target in a blocked application
    ("7a temporary", "temp@mf", SELECT_SSSE, "6283"),
    ("7a permanent", "perm@mf", SELECT_SSSE, "9303"),
    ("7a needs an existing target", "temp@mf", "00A4040C06D15600000599", "6A82"),
    ("6 over 7a", "temp@mf", "00A4040D0F" + SELECT_SSSE[10:], "6A86"),
    # 8 object not found
    *[(f"8 {a[:8]}", "ssse", a, "6A82") for a in ("00B2014C00", "00B09E0000", "00DC014C03010101",
                                                 "00D69E0001AA", "00A40000021234")],
    ("8 over 8c", "ssse", "00B2004C00", "6A82"),
    ("8 over 8e", "ssse", "00B09EFF00", "6A82"),
    # 8a no current EF
    *[(f"8a {a[:8]}", "ssse", a, "6986") for a in ("00B2010400", "00B0000000", "00DC010403010101",
                                                  "00D6000001AA")],
    ("8a over 8c", "ssse", "00B2000400", "6986"),
    ("8a over 8e", "ssse", "00DC0104020101", "6986"),
    # 8b structure
    ("8b", "ssse", "00B2013C00", "6981"),
    ("8b (binary)", "ssse", "00B0850000", "6981"),
    ("8b over 8c", "ssse", "00B2003C00", "6981"),
    ("8b over 11", "ef07", "00B2010400", "6981"),
    ("8b over 8e", "ssse", "00DC013C0101", "6981"),
    # 8c record not found
    ("8c", "ssse", "00B2082C00", "6A83"),
    ("8c over 11", "ssse", "00B2083400", "6A83"),
    ("8c over Le", "ssse", "00B2082C01", "6A83"),
    ("8c over 8e and 11", "ssse", "00DC092C0101", "6A83"),
    # 8d key or PIN not found
    ("8d", "ssse+R", "0082000210" + Z16, "6A88"),
    ("8d (INT AUTH)", "ssse", "0088000210" + Z16, "6A88"),
    ("8d (VERIFY P2)", "ssse", "0020000103123456", "6A88"),
    ("8d over 10", "ssse", "0082000210" + Z16, "6A88"),
    ("8d over 12 (VERIFY at the MF, bad BCD)", "mf", "00200000031A3456", "6A88"),
    ("8d over 12 (VERIFY in SS.CERT.ADF1)", "adf1", "00200000031A3456", "6A88"),
    # 8e checks against the resolved EF
    ("8e offset >= size", "ef07", "00B0040000", "6B00"),
    ("8e offset + Lc > size", "ef07", "00D603FF02AABB", "6A84"),
    ("8e record length", "ssse", "00DC022C020201", "6700"),
    # 8f wrong role; GET RESPONSE with no buffer
    ("8f", "ssse+R", "0082000110" + Z16, "6985"),
    ("8f (INT AUTH)", "ssse", "0088000410" + Z16, "6985"),
    ("8f (GET RESPONSE)", "ssse", "00C0000000", "6985"),
    ("8f over 10", "ssse", "0082000110" + Z16, "6985"),
    # 9 blocked
    ("9", "k00 blocked", "0082000010" + Z16, "6983"),
    ("9 (VERIFY)", "PIN blocked", "0020000003123456", "6983"),
    ("9 over 12 (VERIFY)", "PIN blocked", "00200000031A3456", "6983"),
    ("9 over 12 (CHANGE PIN)", "PIN blocked", "805E010007123456FF2A6810", "6983"),
    # 10 challenge
    ("10", "ssse", EXT_WRONG, "6984"),
    ("10 (PIN UNBLOCK)", "ssse", "8424000004" + "00" * 4, "6984"),
    ("10 (APPLICATION BLOCK)", "ssse", "841E000004" + "00" * 4, "6984"),
    ("10 over 12 (PIN UNBLOCK ENC)", "ssse", "8424000014" + Z20, "6984"),
    # 12 data content
    ("12", "ssse", "00200000031A3456", "6A80"),
    ("12 (CHANGE PIN)", "ssse", "805E010007123456EE246810", "6A80"),
    ("12 over 13 (RELOAD PIN, MAC wrong too)", "ssse", "805E0000071A345600000000", "6A80"),
    ("12 over 13 (CHANGE PIN, old wrong too)", "ssse", "805E010007654321FF2A6810", "6A80"),
    # 13 cryptographic check
    ("13", "ssse+R", EXT_WRONG, "63C2"),
    ("13 (VERIFY)", "ssse", "0020000003654321", "63C2"),
    ("13 (RELOAD PIN)", "ssse", "805E00000712345600000000", "6988"),
    ("13 (APPLICATION BLOCK)", "ssse+R", "841E000004" + "00" * 4, "6988"),
    # 14 done
    ("14", "ssse", "0020000003123456", "9000"),
    ("14 (61xx)", "mf", SELECT_SSSE, "6118"),
]


@pytest.mark.parametrize("setup, apdu, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_order_of_checks(setup, apdu, expected):
    card = make(3)
    SETUPS[setup](card)
    assert sw(card, apdu) == expected


def test_case_ids_are_unique():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


# --- things the table above cannot say in one line --------------------------------------------

def test_11_over_le():
    # §4.3 has no line for 6Cxx: it is the Le rule of step 14, so an unsatisfied AC (step 11) wins
    card = make(3)
    select_df(card, "SSSE")
    assert sw(card, "00B2013401") == "6982"


def test_12_over_13_uses_no_try():
    card = make(3)
    select_df(card, "SSSE")
    assert sw(card, "00200000031A3456") == "6A80"
    assert sw(card, "805E010007654321FF2A6810") == "6A80"
    assert sw(card, "00200000") == "63C3"


@pytest.mark.parametrize("rejected", ["FF000000", "00FF0000", "80A4000000", "805E", "00B2",
                                      "0084010008", "0082000F0F" + Z16[:-2], "0082001F10" + Z16,
                                      "0082000110" + Z16, "0082000010" + Z16])
def test_challenge_kept_when_rejected_at_steps_1_to_9(rejected):
    card = make(3)
    select_df(card, "SSSE")
    _block_key00(card)
    r = challenge(card)
    assert sw(card, rejected) not in ("9000", "63C2", "63C1", "63C0")
    assert sw(card, ext_auth(3, "SSSE", "04", r)) == "9000"


def test_challenge_kept_at_step_5():
    card = make(3)
    block_application(card)
    challenge(card)
    assert sw(card, "8416000004" + "00" * 4) == "6985"  # CARD BLOCK refused at step 5
    # the same challenge still serves APPLICATION UNBLOCK
    r = card.sec.challenge
    mac = crypto.mac("sm4", key(3, "SSSE", "08"), bytes.fromhex("8418000004"), r)
    assert sw(card, "8418000004" + mac.hex()) == "9000"


# --- INS 20 is dispatched on P1 (§4.4) ---------------------------------------------------------

PKI_VERIFY = registered(0x00, 0x20, 0x01)
needs_pki_verify = pytest.mark.skipif(not PKI_VERIFY, reason="PKI VERIFY (INS 20 P1 01) not in the engine yet")


@pytest.mark.parametrize("where, apdu, expected", [
    pytest.param("ssse", "0020000003123456", "9000", id="SSSE P1 00: cardholder VERIFY"),
    pytest.param("ssse", "0020020003123456", "6A86", id="SSSE P1 02: cardholder VERIFY, 6A86"),
    pytest.param("ssse", "00208000", "6A86", id="SSSE P1 80 query: 6A86"),
    pytest.param("adf1", "0020000003123456", "6A88", id="ADF1 P1 00: no cardholder PIN there"),
    pytest.param("adf1", "0020020003123456", "6A86", id="ADF1 P1 02: 6A86"),
    pytest.param("ssse", "0020", "6700", id="SSSE no P1: cardholder VERIFY, unparsable"),
    pytest.param("ssse", "0020018110" + Z16, "6D00", marks=needs_pki_verify, id="SSSE P1 01: 6D00"),
    pytest.param("mf", "0020010010" + Z16, "6D00", marks=needs_pki_verify, id="MF P1 01: 6D00"),
    pytest.param("ssse", "002001", "6D00", marks=needs_pki_verify, id="SSSE P1 01, 3 bytes: 6D00 over 4"),
    pytest.param("temp", "0020018110" + Z16, "6D00", marks=needs_pki_verify, id="blocked SSSE P1 01: 6D00 over 5"),
    pytest.param("adf1", "0020018110" + Z16, "6984", marks=needs_pki_verify, id="ADF1 P1 01: PKI VERIFY"),
    pytest.param("pki", "0020018110" + Z16, "6A88", marks=needs_pki_verify, id="PKI DF P1 01: PKI VERIFY, 6A88"),
    pytest.param("adf1", "002001810F" + Z16[:-2], "6700", marks=needs_pki_verify, id="ADF1 P1 01 Lc 0F"),
])
def test_ins_20_dispatch(where, apdu, expected):
    card = make(3)
    SETUPS[where](card)
    assert sw(card, apdu) == expected


@pytest.mark.skipif(not registered(0x84, 0x5E), reason="PKI CHANGE PIN (84 5E) not in the engine yet")
@pytest.mark.parametrize("where", ["ssse", "df01", "mf"])
def test_pki_change_pin_outside_pki_6d00(where):
    card = make(3)
    SETUPS[where](card)
    assert sw(card, "845E010014" + Z20) == "6D00"


def test_pki_name_select_from_ssse_is_fine():
    card = make(3)
    select_df(card, "SSSE")
    assert sw(card, "00A4040C0C" + ADF1_NAME) == "9000"  # SELECT is recognised everywhere
