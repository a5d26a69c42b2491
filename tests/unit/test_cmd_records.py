"""READ RECORD and UPDATE RECORD (spec §4.6, §4.8, §2.5, §2.7, §5.2, PD-08, PD-09, PD-24)."""

from __future__ import annotations

import re

import pytest

from cardkit import (SPEC_TEXT, authenticate, make, ok, rsp, sample_records, select_df, select_ef, sw,
                     verify)

SFI = {"EF05": 0x05, "EF06": 0x06, "EF0D": 0x0D}
# g3: EF05 record 7, EF06 and EF0D need key 0A (§2.3, PD-24)
PROTECTED_G3 = {("EF05", 7), ("EF06", None), ("EF0D", None)}


def protected(gen, ef, number):
    return gen == 3 and ((ef, number) in PROTECTED_G3 or (ef, None) in PROTECTED_G3)


ITEMS = [(gen, ef, n, rec) for (gen, ef), recs in sorted(sample_records().items()) for n, rec in recs.items()]


def test_the_spec_tables_were_read():
    assert len(ITEMS) == 7 + 6 + 7 + 7 + 7 + 7 + 2


def four_forms(ef: str, number: int, record: str):
    tag, sfi, n = int(record[:2], 16), SFI[ef], len(record) // 2
    return {
        "record, current EF": (f"00B2{number:02X}04{n:02X}", True),
        "identifier, current EF": (f"00B2{tag:02X}0000", True),
        "record, SFI": (f"00B2{number:02X}{sfi << 3 | 4:02X}00", False),
        "identifier, SFI": (f"00B2{tag:02X}{sfi << 3:02X}{n:02X}", False),
    }


@pytest.mark.parametrize("form", ["record, current EF", "identifier, current EF", "record, SFI",
                                  "identifier, SFI"])
@pytest.mark.parametrize("gen, ef, number, record", ITEMS,
                         ids=[f"g{g}-{ef}-r{n}" for g, ef, n, _ in ITEMS])
def test_read_record_four_forms(gen, ef, number, record, form):
    card = make(gen)
    select_df(card, "SSSE")
    if protected(gen, ef, number):
        assert authenticate(card, "0A") == "9000"
    apdu, needs_current = four_forms(ef, number, record)[form]
    if needs_current:
        ok(card, f"00A4020002{ef}")
    assert rsp(card, apdu) == record + "9000"


@pytest.mark.parametrize("gen, ef, number, record", [i for i in ITEMS if protected(*i[:3])],
                         ids=[f"g3-{ef}-r{n}" for g, ef, n, _ in ITEMS if protected(g, ef, n)])
def test_g3_protected_records_need_key_0a(gen, ef, number, record):
    card = make(gen)
    select_df(card, "SSSE")
    assert sw(card, f"00B2{number:02X}{SFI[ef] << 3 | 4:02X}00") == "6982"
    assert authenticate(card, "04") == "9000"  # another key does not do
    assert sw(card, f"00B2{number:02X}{SFI[ef] << 3 | 4:02X}00") == "6982"


@pytest.mark.parametrize("gen, ef, number, record", [i for i in ITEMS if protected(*i[:3])],
                         ids=[f"g3-{ef}-r{n}" for g, ef, n, _ in ITEMS if protected(g, ef, n)])
def test_g3_read_key_none_makes_them_free(gen, ef, number, record):
    card = make(gen, g3_read_key="none")
    select_df(card, "SSSE")
    assert rsp(card, f"00B2{number:02X}{SFI[ef] << 3 | 4:02X}00") == record + "9000"


def test_g1_has_no_name_extension():
    card = make(1)
    select_df(card, "SSSE")
    assert sw(card, "00B24E3000") == "6A83"
    assert sw(card, "00B2073400") == "6A83"  # 6 records only


DIR_ROWS = re.findall(r"^\| (\d) \| DF0\d \| `D156[0-9A-F]+` \| `(70[0-9A-F]{42})` \|$", SPEC_TEXT, re.M)


@pytest.mark.parametrize("number, record", DIR_ROWS, ids=[f"DIR record {n}" for n, _ in DIR_ROWS])
def test_dir_records_of_section_2_4(number, record):
    card = make(1)
    select_df(card, "SSSE")
    assert rsp(card, f"00B20{number}5C00") == record + "9000"  # SFI 0B, free (PD-06)


def test_dir_table_was_read():
    assert [n for n, _ in DIR_ROWS] == list("1234567")


# --- Le rules ---------------------------------------------------------------------------------

@pytest.mark.parametrize("le, expected", [("0A", "6C0B"), ("01", "6C0B"), ("0B", None), ("0C", None),
                                          ("FF", None), ("00", None), ("", None)])
def test_read_record_le(le, expected):
    card = make(2)
    select_df(card, "SSSE")
    record = sample_records()[2, "EF05"][7]
    assert rsp(card, "00B2072C" + le) == (expected or record + "9000")


def test_6cxx_has_no_side_effect_then_resend():
    card = make(2)
    select_ef(card, "SSSE", "EF06")
    assert rsp(card, "00B2012C01") == "6C12"  # SFI 5 would become current on 9000 only
    assert rsp(card, "00B2010400") == sample_records()[2, "EF06"][1] + "9000"
    assert rsp(card, "00B2012C12") == sample_records()[2, "EF05"][1] + "9000"
    assert rsp(card, "00B2010400") == sample_records()[2, "EF05"][1] + "9000"  # now EF05


@pytest.mark.parametrize("apdu, expected", [
    pytest.param("00B2092C00", "6A83", id="6A83 record 8+"),
    pytest.param("00B2FF2800", "6A83", id="6A83 identifier not found"),
    pytest.param("00B2003400", "6A83", id="6A83 P1 00"),
    pytest.param("00B2013400", "6982", id="6982 g3 EF06"),
    pytest.param("00B2012C01", "6C12", id="6Cxx"),
])
def test_side_effects_only_on_9000(apdu, expected):
    card = make(3)
    select_ef(card, "SSSE", "EF0B")
    assert sw(card, apdu) == expected
    assert card.current_ef.name == "EF0B"
    assert sw(card, "00B2010416") == "9000"  # the DIR is still the current EF


# --- the SW table -----------------------------------------------------------------------------

@pytest.mark.parametrize("apdu, expected", [
    pytest.param("00B201FC00", "6A86", id="6A86 SFI 31"),
    *[pytest.param(f"00B2012{m:X}00", "6A86", id=f"6A86 P2 bits {m & 7:03b}") for m in (9, 0xA, 0xB, 0xD, 0xE, 0xF)],
    pytest.param("00B201F400", "6A82", id="6A82 SFI 30 absent"),
    pytest.param("00B2014C00", "6A82", id="6A82 SFI 9 absent"),
    pytest.param("00B2013C00", "6981", id="6981 transparent EF07"),
    pytest.param("00B2014400", "6981", id="6981 transparent EF08"),
    pytest.param("00B2002C00", "6A83", id="6A83 P1 00"),
    pytest.param("00B2082C00", "6A83", id="6A83 record 8 of 7"),
    pytest.param("00B20D2800", "6A83", id="6A83 identifier 0D absent from EF05"),
    pytest.param("00B2012C01AA", "6700", id="6700 data field"),
    pytest.param("00B2012C01AA00", "6700", id="6700 data field and Le"),
])
def test_read_record_sw_rows(apdu, expected):
    card = make(2)
    select_df(card, "SSSE")
    assert sw(card, apdu) == expected


def test_read_record_sw_no_current_ef_and_mf():
    card = make(2)
    assert sw(card, "00B2012C00") == "6A82"  # the MF has no SFI 5
    assert sw(card, "00B2010400") == "6986"
    select_df(card, "SSSE")
    assert sw(card, "00B2010400") == "6986"


def test_read_record_on_key_file_6981():
    card = make(3)
    select_ef(card, "ADF1", "0013")
    assert sw(card, "00B2010400") == "6981"


def test_read_record_on_empty_cyclic_6a83():
    card = make(2)
    select_ef(card, "DF04", "EF08")
    assert verify(card) == "9000"
    assert sw(card, "00B2010400") == "6A83"


# --- access conditions ------------------------------------------------------------------------

def _grant(card, how: str):
    if "PIN" in how:
        assert verify(card) == "9000"
    for ref in ("81", "82"):
        if ref in how:
            assert authenticate(card, ref) == "9000"


@pytest.mark.parametrize("df, ef, grant, expected", [
    ("DF01", "EF06", "", "6982"), ("DF01", "EF06", "PIN", "9000"), ("DF01", "EF06", "81", "9000"),
    ("DF02", "EF05", "", "6982"), ("DF02", "EF05", "PIN", "9000"), ("DF02", "EF05", "81", "9000"),
    ("DF04", "EF06", "", "6982"), ("DF04", "EF06", "PIN", "6982"), ("DF04", "EF06", "81", "6982"),
    ("DF04", "EF06", "PIN+81", "9000"),
    ("DF07", "EF05", "PIN", "6982"), ("DF07", "EF05", "81", "9000"),
    ("DF03", "EF15", "81", "6982"), ("DF03", "EF15", "82", "9000"), ("DF03", "EF15", "PIN", "9000"),
    ("DF01", "EF16", "", "9000"),
], ids=lambda v: v or "nothing")
def test_df_read_access_conditions(df, ef, grant, expected):
    card = make(2)
    select_ef(card, df, ef)
    _grant(card, grant)
    assert sw(card, "00B2010400") == expected


def test_df01_record_content_after_pin():
    card = make(3)
    select_ef(card, "DF01", "EF0A")
    assert verify(card) == "9000"
    assert rsp(card, "00B2370000") == "370343484E9000"  # §3.8 DF01/EF0A record 1


@pytest.mark.parametrize("ac, rec, before, after", [
    ({"SSSE/EF05": {"read": "PIN"}}, 1, "6982", "9000"),
    ({"SSSE/EF05#2": {"read": "never"}}, 2, "6982", "6982"),
    ({"SSSE/EF05#2": {"read": "never"}}, 1, "9000", "9000"),
    ({"SSSE/EF05": {"read": "both(PIN,key(0A))"}}, 3, "6982", "6982"),
], ids=["EF05 read PIN", "record 2 never", "record 1 untouched", "both(PIN,key(0A)) with PIN only"])
def test_ac_switch_overrides_read(ac, rec, before, after):
    card = make(2, ac=ac)
    select_ef(card, "SSSE", "EF05")
    assert sw(card, f"00B2{rec:02X}0400") == before
    assert verify(card) == "9000"
    assert sw(card, f"00B2{rec:02X}0400") == after


def test_ac_switch_overrides_write():
    card = make(2, ac={"SSSE/DF01/EF16": {"write": "free"}})
    select_ef(card, "DF01", "EF16")
    assert sw(card, "00DC010420" + "AB" * 32) == "9000"
    assert rsp(card, "00B2010400") == "AB" * 32 + "9000"


# --- UPDATE RECORD ----------------------------------------------------------------------------

def test_update_record_then_read_back():
    card = make(3)
    select_df(card, "SSSE")
    assert authenticate(card, "04") == "9000"
    assert sw(card, "00DC073406" + "0D0419991231") == "9000"  # SFI 6, record 7
    assert card.current_ef.name == "EF06"  # SFI command made it current
    assert sw(card, "00DC070406" + "0D0420000101") == "9000"  # record mode on the current EF
    assert authenticate(card, "0A") == "9000"
    assert rsp(card, "00B20D3000") == "0D04200001019000"


def test_update_record_stores_bytes_as_given():
    card = make(2)
    select_df(card, "SSSE")
    assert authenticate(card, "04") == "9000"
    assert sw(card, "00DC022C03AA0199") == "9000"  # no tag check (PD-09)
    assert rsp(card, "00B2AA2800") == "AA01999000"
    assert sw(card, "00B2022800") == "6A83"  # identifier 02 is gone


def _append(card, i: int, sfi_form: bool = True) -> tuple[str, str]:
    record = f"6A12{i:014d}{i:08X}31{i:012X}"
    assert len(record) == 40
    return sw(card, ("00DC004314" if sfi_form else "00DC000314") + record), record


def test_cyclic_append_with_key_84():
    card = make(2)
    select_df(card, "DF04")
    assert authenticate(card, "84") == "9000"
    written = []
    for i in range(1, 12):
        status, record = _append(card, i, sfi_form=i % 2 == 1)
        assert status == "9000"
        written.insert(0, record)
    assert verify(card) == "9000"
    for n in range(1, 11):  # record 1 is the newest; the oldest fell off
        assert rsp(card, f"00B2{n:02X}0400") == written[n - 1] + "9000"
    assert sw(card, "00B20B0400") == "6A83"
    assert rsp(card, "00B26A0000") == written[0] + "9000"  # identifier: first from record 1


def test_cyclic_append_needs_key_84():
    card = make(2)
    select_ef(card, "DF04", "EF08")
    assert authenticate(card, "83") == "9000"
    assert verify(card) == "9000"
    assert _append(card, 1)[0] == "6982"


@pytest.mark.parametrize("df, apdu, expected", [
    pytest.param("SSSE", "00DC012903010101", "6A86", id="6A86 P2 mode 001"),
    pytest.param("SSSE", "00DC012A03010101", "6A86", id="6A86 P2 mode 010"),
    pytest.param("SSSE", "00DC012F03010101", "6A86", id="6A86 P2 mode 111"),
    pytest.param("DF04", "00DC014314" + "00" * 20, "6A86", id="6A86 append P1 01"),
    pytest.param("SSSE", "00DC01FC03010101", "6A86", id="6A86 SFI 31"),
    pytest.param("SSSE", "00DC014C03010101", "6A82", id="6A82 SFI 9"),
    pytest.param("SSSE", "00DC010403010101", "6986", id="6986 no current EF"),
    pytest.param("SSSE", "00DC013C03010101", "6981", id="6981 transparent"),
    pytest.param("DF04", "00DC014414" + "00" * 20, "6981", id="6981 record mode on cyclic"),
    pytest.param("SSSE", "00DC002B03020131", "6981", id="6981 append on linear fixed"),
    pytest.param("SSSE", "00DC002C03020131", "6A83", id="6A83 P1 00"),
    pytest.param("SSSE", "00DC082C03020131", "6A83", id="6A83 record 8 of 7"),
    pytest.param("SSSE", "00DC022C020201", "6700", id="6700 Lc short"),
    pytest.param("SSSE", "00DC022C0402013100", "6700", id="6700 Lc long"),
    pytest.param("SSSE", "00DC022C", "6700", id="6700 no data"),
    pytest.param("DF04", "00DC004313" + "00" * 19, "6700", id="6700 append Lc 19"),
])
def test_update_record_sw_rows(df, apdu, expected):
    card = make(2)
    select_df(card, df)
    assert authenticate(card, "04" if df == "SSSE" else "84") == "9000"
    assert sw(card, apdu) == expected


@pytest.mark.parametrize("df, ef, wrong, good", [
    ("SSSE", "EF05", "0A", "04"), ("DF01", "EF06", "84", "86"), ("DF01", "EF09", "86", "84"),
    ("DF01", "EF0A", "85", "87"), ("DF02", "EF05", "81", "83"),
])
def test_update_record_write_ac(df, ef, wrong, good):
    card = make(2)
    select_ef(card, df, ef)
    assert verify(card) == "9000"
    record = ok(card, "00B2010400")
    apdu = f"00DC0104{len(record):02X}{record.hex().upper()}"
    assert sw(card, apdu) == "6982"  # the PIN is no write condition
    assert authenticate(card, wrong) == "9000"
    assert sw(card, apdu) == "6982"  # nor is another key
    assert authenticate(card, good) == "9000"
    assert sw(card, apdu) == "9000"


def test_dir_write_never_and_ef0d_write_key_0d():
    card = make(3)
    select_df(card, "SSSE")
    for ref in ("04", "0A", "00"):
        assert authenticate(card, ref) == "9000"
    assert sw(card, "00DC015C16" + "00" * 22) == "6982"  # EF0B write: never
    assert sw(card, "00DC026C05EB03440301") == "6982"  # EF0D write: key(0D) only
    assert authenticate(card, "0D") == "9000"
    assert sw(card, "00DC026C05EB03440301") == "9000"
    assert rsp(card, "00B2EB6800") == "EB034403019000"


def test_ac_key_reference_resolves_from_the_owning_df():
    # §5.2: in DF01, key(04) is the SSSE key 4 (P2 04), not DF01's key 4 (P2 84)
    card = make(2, ac={"SSSE/DF01/EF16": {"write": "key(04)"}})
    select_ef(card, "DF01", "EF16")
    apdu = "00DC010420" + "11" * 32
    assert authenticate(card, "84") == "9000"
    assert sw(card, apdu) == "6982"
    assert authenticate(card, "04") == "9000"
    assert sw(card, apdu) == "9000"


def test_update_record_trailing_le_ignored():
    card = make(2)
    select_df(card, "SSSE")
    assert authenticate(card, "04") == "9000"
    assert rsp(card, "00DC022C0302013100") == "9000"
