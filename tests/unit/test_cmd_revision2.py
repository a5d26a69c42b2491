"""Reference card revision 2 (spec opening table R2-1 … R2-7): one test per status word of each
revised row. The APDUs of the R2 text itself (`00A4010002DF03`, `00DC052806050420240315`,
`00DC0D30060D0419930827`, `0020000003`) are taken from the spec, so a change there shows here.
"""

from __future__ import annotations

import re

import pytest

from cardkit import (ADF1_NAME, PKI_NAME, SPEC_TEXT, authenticate, block_application, challenge,
                     default_fci, ext_auth, key, lc, mac84, make, ok, rsp, select_df, select_ef,
                     select_ssse, send, sw, verify)
from conformance.card_under_test import CardUnderTest
from conformance.compute import Context, fci
from simulator import Card, crypto, samplekeys, schemes
from simulator.image import ImageError, parse_image
from simulator.samples import sample_image

SELECT_DF03 = re.search(r"regional reader selects `(00A40100[0-9A-F]+)`", SPEC_TEXT).group(1)
WRITE_BY_ID = re.findall(r"`(00DC[0-9A-F]{4}[0-9A-F]+)` \(EF0[56] tag", SPEC_TEXT)
VERIFY_CASE2 = re.search(r"`(0020000003)` is case 2", SPEC_TEXT).group(1)


def test_the_r2_examples_were_found():
    assert SELECT_DF03 == "00A4010002DF03"
    assert WRITE_BY_ID == ["00DC052806050420240315", "00DC0D30060D0419930827"]


# --- R2-1 SELECT P1 01: a child DF of the current DF, by FID ---------------------------------

@pytest.mark.parametrize("p2", ["00", "0C"])
def test_select_child_df_9000(p2):
    card = make(2)
    select_ssse(card)
    assert authenticate(card, "04") == "9000"
    assert rsp(card, f"00A401{p2}02DF03") == "9000"  # no FCI for a select by FID
    assert card.current_df.path == "SSSE/DF03" and card.current_ef is None
    assert not card.sec.status  # a DF change clears the security status (PD-10)


def test_select_child_df_the_spec_example():
    card = make(3)
    select_ssse(card)
    assert sw(card, SELECT_DF03) == "9000"
    assert card.current_df.path == "SSSE/DF03"


def test_select_child_df_in_the_pki_tree():
    card = make(3)
    ok(card, "00A4040C0C" + PKI_NAME)
    assert sw(card, "00A4010002DF01") == "9000"
    assert card.current_df.path == "PKI/SS.CERT.ADF1"


@pytest.mark.parametrize("where, fid, why", [
    ("SSSE", "EF05", "an EF is no DF"),
    ("DF01", "DF02", "a sibling is no child (P1 00 would find it)"),
    ("DF01", "3F00", "the MF is no child"),
    ("SSSE", "DF08", "no such DF"),
    ("MF", "DF01", "the MF's DFs have no FID"),
])
def test_select_child_df_6a82(where, fid, why):
    card = make(2)
    select_df(card, where)
    before = card.current_df
    assert sw(card, "00A4010002" + fid) == "6A82", why
    assert card.current_df is before  # a failed SELECT changes nothing


@pytest.mark.parametrize("apdu", ["00A40100", "00A4010000", "00A4010001DF", "00A4010003DF0300"])
def test_select_child_df_6700(apdu):
    card = make(2)
    select_ssse(card)
    assert sw(card, apdu) == "6700"


@pytest.mark.parametrize("apdu", ["00A4010402DF03", "00A4030002DF03"])
def test_select_p1_p2_still_6a86(apdu):
    card = make(2)
    select_ssse(card)
    assert sw(card, apdu) == "6A86"


def test_select_child_df_of_a_blocked_application():
    card = make(2)
    block_application(card)
    assert sw(card, "00A4010002DF03") == "6283"  # selected, no FCI (PD-21)
    assert card.current_df.path == "SSSE/DF03"
    card = make(2)
    block_application(card, permanent=True)
    assert sw(card, "00A4010002DF03") == "9303"  # not selected
    assert card.current_df.path == "SSSE"


# --- R2-2 UPDATE RECORD by record identifier ---------------------------------------------------

@pytest.mark.parametrize("gen", [2, 3])
def test_write_by_identifier_field_examples(gen):
    card = make(gen)
    select_ssse(card)
    for apdu in WRITE_BY_ID:
        assert sw(card, apdu) == "6982"  # write AC key(04)
    assert authenticate(card, "04") == "9000"
    for apdu in WRITE_BY_ID:
        assert sw(card, apdu) == "9000"
    if gen == 3:
        assert authenticate(card, "0A") == "9000"  # g3 EF06 reads need key 0A (PD-24)
    assert rsp(card, "00B2052C00") == "0504202403159000"  # record 5 of EF05 = tag 05
    assert rsp(card, "00B2073400") == "0D04199308279000"  # record 7 of EF06 = tag 0D
    assert card.current_ef.path == "SSSE/EF06"


def test_write_by_identifier_current_ef():
    card = make(2)
    select_ef(card, "SSSE", "EF05")
    assert authenticate(card, "04") == "9000"
    assert sw(card, "00DC0500060504" + "20250101") == "9000"
    assert rsp(card, "00B2050400") == "0504202501019000"


def test_write_by_identifier_replaces_the_first_matching_record():
    card = make(2)
    select_ssse(card)
    assert authenticate(card, "04") == "9000"
    assert sw(card, "00DC062C06" + "0504" + "20991231") == "9000"  # record 6 now starts with 05 too
    assert sw(card, "00DC052806" + "0504" + "20240315") == "9000"
    assert rsp(card, "00B2052C00") == "0504202403159000"
    assert rsp(card, "00B2062C00") == "0504209912319000"  # the second match untouched


def test_write_by_identifier_does_not_compare_the_new_first_byte():
    card = make(2)
    select_ssse(card)
    assert authenticate(card, "04") == "9000"
    assert sw(card, "00DC052806" + "9904" + "20240315") == "9000"  # PD-09: bytes stored as given
    assert rsp(card, "00B2052C00") == "9904202403159000"
    assert sw(card, "00DC052806" + "0504" + "20240315") == "6A83"  # no record starts with 05 now
    assert sw(card, "00DC992806" + "0504" + "20240315") == "9000"  # found by its new first byte


@pytest.mark.parametrize("apdu, expected, why", [
    ("00DC002806050420240315", "6A83", "P1 00"),
    ("00DC772806050420240315", "6A83", "identifier not found"),
    ("00DC0528050504202403", "6700", "Lc 05 for a 6-byte record"),
    ("00DC0528070504202403150A", "6700", "Lc 07"),
    ("00DC05E806050420240315", "6A82", "no SFI 1D"),
    ("00DC05F806050420240315", "6A86", "SFI 31"),
    ("00DC053806050420240315", "6981", "EF07 is transparent"),
    ("00DC050006050420240315", "6986", "no current EF"),
    ("00DC052806050420240315", "6982", "key 04 not authenticated"),
])
def test_write_by_identifier_sw(apdu, expected, why):
    card = make(2)
    select_ssse(card)
    if expected != "6982":
        assert authenticate(card, "04") == "9000"
    before = rsp(card, "00B2052C00")
    card.current_ef = None if expected == "6986" else card.current_ef
    assert sw(card, apdu) == expected, why
    assert rsp(card, "00B2052C00") == before  # a refused write leaves the card unchanged


def test_write_by_identifier_on_a_cyclic_ef_6981():
    card = make(2)
    select_ef(card, "DF04", "EF08")  # DF04/EF08 is cyclic (§2.5)
    record = card.current_ef.length
    assert sw(card, "00DC0100" + lc(bytes(record))) == "6981"
    assert sw(card, "00DC0000" + lc(bytes(record))) == "6981"  # 8b (structure) before 8c (P1 00)
    assert sw(card, "00DC0003" + lc(bytes(record))) != "6981"  # append is the cyclic EF's write


# --- R2-3 the PKI DF's own master key 00 --------------------------------------------------------

def pki_df(image: dict | None = None) -> Card:
    card = make(3, image_dict=image)
    ok(card, "00A4040C0C" + PKI_NAME)
    return card


def test_pki_df_key_is_the_spec_value():
    m = re.search(r'`SM3\("SSC-DEMO-ROOT/PKI/00"\)\[0:16\]` = `([0-9A-F]{32})`', SPEC_TEXT)
    assert key(3, "PKI/DF", "00").hex().upper() == m.group(1)
    assert samplekeys.sample_root_key("SSC-DEMO-ROOT/PKI/00").hex().upper() == m.group(1)
    assert key(3, "PKI/DF", "00") != key(3, "PKI", "00")


def test_pki_df_external_authenticate_9000_and_63cx():
    card = pki_df()
    r = challenge(card, 16)
    assert sw(card, ext_auth(3, "PKI", "00", r)) == "63C2"  # SS.CERT.ADF1's key is not this DF's
    assert sw(card, ext_auth(3, "PKI/DF", "00", challenge(card, 16))) == "9000"
    assert ("PKI", 0) in card.sec.status
    assert card.model.dfs["PKI"].keys[0].tries == 3  # success put the counter back
    ok(card, "00A4040C0C" + ADF1_NAME)
    assert ("PKI", 0) not in card.sec.status  # the status belongs to the PKI DF


def test_pki_df_key_blocks_6983_and_keeps_the_challenge_before():
    card = pki_df()
    for left in (2, 1, 0):
        challenge(card, 16)
        assert sw(card, "0082000010" + "00" * 16) == f"63C{left}"
    r = challenge(card, 16)
    assert sw(card, ext_auth(3, "PKI/DF", "00", r)) == "6983"
    assert card.sec.challenge == r  # rejected at step 9: the challenge stays


@pytest.mark.parametrize("apdu, expected", [
    ("0082000011" + "00" * 17, "6700"),  # sm4-direct takes CT(16) only
    ("0082000510" + "00" * 16, "6A88"),  # no key 05
    ("0082000010" + "00" * 16, "6984"),  # no challenge
])
def test_pki_df_external_authenticate_sw(apdu, expected):
    assert sw(pki_df(), apdu) == expected


def change_mk(old: bytes, new: bytes, r: bytes, p2: int = 0, mac_key: bytes | None = None,
              plain: bytes | None = None) -> str:
    body, tag = schemes.pki_change_mk(old, new, p2, r)
    if plain is not None:  # a malformed PLAIN, encrypted and MACed with the old key
        body = crypto.sm4_encrypt(old, plain)
    if mac_key is not None or plain is not None:
        header = bytes([0x84, 0xD4, 0x01, p2, 0x24])
        tag = crypto.sm4_mac(mac_key or old, header + body, crypto.r16(r))
    return (bytes([0x84, 0xD4, 0x01, p2, 0x24]) + body + tag).hex().upper()


NEW_MK = bytes.fromhex("F0E1D2C3B4A5968778695A4B3C2D1E0F")


def test_pki_df_change_master_key_9000():
    card = pki_df()
    old, adf1 = key(3, "PKI/DF", "00"), key(3, "PKI", "00")
    assert sw(card, ext_auth(3, "PKI/DF", "00", challenge(card, 16))) == "9000"
    assert sw(card, change_mk(old, NEW_MK, challenge(card, 16))) == "9000"
    assert ("PKI", 0) not in card.sec.status  # a second change needs a new authentication
    assert sw(card, ext_auth(3, "PKI/DF", "00", challenge(card, 16))) == "63C2"  # old key gone
    assert sw(card, ext_auth(3, "PKI/DF", "00", challenge(card, 16), value=NEW_MK)) == "9000"
    assert card.export_image()["keys"]["PKI/DF"]["00"]["value"] == NEW_MK.hex().upper()
    assert card.model.dfs["PKI/SS.CERT.ADF1"].keys[0].versions[1] == adf1  # the ADF's MK untouched


@pytest.mark.parametrize("step, expected", [
    ("no authentication", "6982"),
    ("wrong MAC", "6988"),
    ("P2 05", "6A88"),
    ("no challenge", "6984"),
])
def test_pki_df_change_master_key_sw(step, expected):
    card = pki_df()
    old = key(3, "PKI/DF", "00")
    if step != "no authentication":
        assert sw(card, ext_auth(3, "PKI/DF", "00", challenge(card, 16))) == "9000"
    r = challenge(card, 16) if step != "no challenge" else bytes(16)
    apdu = change_mk(old, NEW_MK, r, p2=5 if step == "P2 05" else 0,
                     mac_key=NEW_MK if step == "wrong MAC" else None)
    assert sw(card, apdu) == expected
    assert card.model.dfs["PKI"].keys[0].versions[1] == old


def test_image_without_the_pki_df_key_loads_and_answers_6a88():
    image = sample_image("gen3")
    del image["keys"]["PKI/DF"]  # a revision-1 image: no new required key
    card = pki_df(image)
    assert sw(card, ext_auth(3, "PKI/DF", "00", challenge(card, 16))) == "6A88"
    assert sw(card, change_mk(key(3, "PKI/DF", "00"), NEW_MK, challenge(card, 16))) == "6A88"
    assert "PKI/DF" not in card.export_image()["keys"]  # saving it adds nothing


def test_image_pki_df_key_errors_name_the_line():
    text = ("profile: gen3\nkeys:\n  PKI/DF:\n    \"00\": \"0011\"\n")
    with pytest.raises(ImageError, match=r":4: .*16 bytes"):
        Card(parse_image(text, "card.yaml"))
    with pytest.raises(ImageError, match=r"card.yaml:3: .*PKI/DF"):
        Card(parse_image("profile: gen2\nkeys:\n  PKI/DF: {\"00\": " + "00" * 16 + "}\n", "card.yaml"))


def test_new_gen3_card_carries_the_pki_df_key():
    from simulator.newcard import new_image
    image = new_image("gen3", seed=5)
    def value_of(entry) -> bytes:
        return bytes.fromhex(entry["value"] if isinstance(entry, dict) else entry)

    value = value_of(image["keys"]["PKI/DF"]["00"])
    assert value != value_of(image["keys"]["PKI"]["00"])
    card = pki_df(image)
    assert sw(card, ext_auth(3, "PKI/DF", "00", challenge(card, 16), value=value)) == "9000"


# --- R2-4 pki_write_pin --------------------------------------------------------------------------

def test_pki_write_pin_switch_is_checked():
    image = sample_image("gen3")
    image["switches"] = {"pki_write_pin": "user"}
    with pytest.raises(ImageError, match=r"pki_write_pin.*either.*admin.*user"):
        Card.from_dict(image)


# --- R2-6 MAC before the encrypted body ----------------------------------------------------------

@pytest.mark.parametrize("gen", [2, 3])
def test_pin_unblock_malformed_body_wrong_mac_6988(gen):
    card = make(gen)
    select_ssse(card)
    puk = key(gen, "SSSE", "06")
    block = 8 if gen == 2 else 16
    enc = (crypto.tdes_encrypt if gen == 2 else crypto.sm4_encrypt)(puk, bytes([7]) + bytes(block - 1))
    good = mac84(card, "84240000", enc, ref="06")
    assert sw(card, good[:-2] + f"{int(good[-2:], 16) ^ 1:02X}") == "6988"  # not 6A80
    assert sw(card, mac84(card, "84240000", enc, ref="06")) == "6A80"  # MAC right: body judged
    assert verify(card) == "9000"  # PIN unchanged


def test_pki_change_pin_malformed_body_wrong_mac_63cx():
    card = make(3)
    select_df(card, "ADF1")
    user = schemes.pin_bcd("123456")
    k = schemes.pki_pin_key(user)
    body = crypto.sm4_encrypt(k, bytes([9]) + bytes(15))  # L 9: malformed
    header = bytes.fromhex("845E018114")
    r = challenge(card, 16)
    wrong = crypto.sm4_mac(schemes.pki_pin_key(schemes.pin_bcd("654321")), header + body, crypto.r16(r))
    assert sw(card, (header + body + wrong).hex()) == "63C2"  # the MAC first: a wrong PIN
    r = challenge(card, 16)
    right = crypto.sm4_mac(k, header + body, crypto.r16(r))
    assert sw(card, (header + body + right).hex()) == "6A80"


@pytest.mark.parametrize("where", ["ADF1", "PKI"])
def test_change_master_key_malformed_plain_wrong_mac_6988(where):
    card = make(3)
    select_df(card, where)
    holder = "PKI" if where == "ADF1" else "PKI/DF"
    old = key(3, holder, "00")
    assert sw(card, ext_auth(3, holder, "00", challenge(card, 16))) == "9000"
    bad = crypto.pad80(b"\x12\0\0\0" + NEW_MK, 16)
    assert sw(card, change_mk(old, NEW_MK, challenge(card, 16), plain=bad, mac_key=NEW_MK)) == "6988"
    assert sw(card, change_mk(old, NEW_MK, challenge(card, 16), plain=bad)) == "6A80"


# --- R2-7 settled corners ------------------------------------------------------------------------

@pytest.mark.parametrize("apdu", ["00B2FF2C00", "00B2FF0400", "00B2FF2800"])
def test_read_record_p1_ff_6a83(apdu):
    card = make(2)
    select_ef(card, "SSSE", "EF05")
    assert sw(card, apdu) == "6A83"


@pytest.mark.parametrize("p2", ["41", "21", "61", "C1"])
def test_internal_authenticate_p2_b7_b6_6a86(p2):
    card = make(2)
    select_ssse(card)
    assert sw(card, f"008800{p2}10" + "11" * 16) == "6A86"
    assert sw(card, "0088000110" + "11" * 16) == "6108"  # P2 01 is the IRK


def test_verify_case_2_is_a_status_query():
    card = make(2)
    select_ssse(card)
    assert sw(card, VERIFY_CASE2) == "63C3"
    assert verify(card) == "9000"
    assert sw(card, VERIFY_CASE2) == "9000"
    for _ in range(3):
        verify(card, "999999")
    assert sw(card, VERIFY_CASE2) == "6983"
    assert card.ssse.pins[0].tries == 0  # the query costs no try


def test_short_le_after_the_access_condition():
    card = make(3)
    select_ssse(card)
    assert send(card, "00B2072C02") == (b"", "6982")  # g3 EF05 record 7 needs key 0A: 6982 first
    assert authenticate(card, "0A") == "9000"
    assert sw(card, "00B2072C02") == "6C0B"
    card = make(3, g3_read_key="none")
    select_ssse(card)
    assert sw(card, "00B2072C02") == "6C0B"


# --- R2-8 longer SSSE FCIs: the card builds them from fci_extra, the tester expects the same ---

@pytest.mark.parametrize("extra", [None, "9F0C03860104"])
def test_fci_extra_gives_the_longer_ssse_fci_the_tester_expects(extra):
    image = sample_image("gen2")
    if extra:
        image["switches"] = {"fci_extra": {"SSSE": extra}}
    card = make(2, image_dict=image)
    _, status = send(card, "00A404000F7378312E73682EC9E7BBE1B1A3D5CF")
    data, _ = send(card, "00C00000" + status[2:])
    expected = bytes.fromhex(default_fci()["SSSE"])
    if extra:  # 30 bytes: the length a reader demo expects (611E, R2-8)
        assert status == "611E"
        expected = b"\x6F\x1C" + expected[2:] + bytes.fromhex(extra)
    assert data == expected
    assert fci(Context(CardUnderTest(image)), "SSSE") == expected
