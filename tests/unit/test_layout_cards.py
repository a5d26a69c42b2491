"""EFs declared by a card image's `layout:` (spec §9.1, R2-5, PD-36) behave like built-in ones
through APDUs: each structure read and written under its access conditions, SFI override, a
default EF replaced, records pre-formatted (§2.7) and filled from data:/records:/files:, and the
layout kept across save and load."""

from __future__ import annotations

import pytest
import yaml

from simulator import Card, crypto, schemes
from simulator.image import load_image, parse_image
from cardkit import PIN, authenticate, image, lc, make, ok, select_df, send, sw, verify

LAYOUT = {
    "DF03/EF19": {"structure": "tlv", "sfi": "19", "records": [{"tag": "79", "fmt": "b39"}],
                  "read": "either(PIN,key(82))", "write": "key(85)"},
    "DF02/EF1C": {"structure": "tlv", "records": [{"tag": "47", "fmt": "an6"}, {"tag": "48", "fmt": "cn3"}],
                  "read": "free", "write": "both(PIN,key(83))"},
    "DF05/EF06": {"structure": "cyclic", "record_length": 20, "count": 3, "read": "either(PIN,key(81))",
                  "write": "key(83)"},
    "DF06/EF07": {"structure": "transparent", "size": 300, "read": "key(81)", "write": "key(83)"},
    "DF07/EF08": {"structure": "linear", "record_length": 16, "count": 3, "sfi": "1C", "read": "PIN",
                  "write": "either(PIN,key(83))"},
    "DF04/EF0C": {"structure": "transparent", "size": 4, "sfi": "none", "read": "free", "write": "never"},
}
RECORD_79 = "3301" + "00" * 37


def layout_card(gen: int = 2, **extra) -> Card:
    img = image(gen)
    img["layout"] = LAYOUT
    img.setdefault("data", {})["DF03/EF19"] = {"79": RECORD_79}
    for key, value in extra.items():
        img.setdefault(key, {}).update(value)
    return make(gen, image_dict=img)


def record(tag: str, value: bytes) -> str:
    return tag + lc(value)


# --- the acceptance sequence of issue 10 -------------------------------------------------------

@pytest.mark.parametrize("gen", [1, 2, 3])
def test_regional_record_read_as_the_field_reader_does(gen):
    """From SSSE: 00A4010002DF03, 00A4000002EF19, 00B2790029 -> 6982, VERIFY, the 41-byte record."""
    card = layout_card(gen)
    select_df(card, "SSSE")
    ok(card, "00A4010002DF03", "00A4000002EF19")
    assert sw(card, "00B2790029") == "6982"
    assert verify(card) == "9000"
    data, status = send(card, "00B2790029")
    assert status == "9000" and data.hex().upper() == "7927" + RECORD_79


def test_acceptance_on_a_card_made_by_sscard_card_new(tmp_path):
    """sscard card new --profile gen2, then `layout:` and `data:` added by hand: the card answers
    the regional reader's commands (issue 10, Done when)."""
    from click.testing import CliRunner

    from sscard.cli import cli

    path = tmp_path / "card.yaml"
    result = CliRunner().invoke(cli, ["card", "new", "--profile", "gen2", "--seed", "11", "--out", str(path)])
    assert result.exit_code == 0, result.output
    text = path.read_text(encoding="utf-8") + (
        "layout:\n"
        "  DF03/EF19:\n"
        "    structure: tlv\n"
        "    records:\n"
        "      - {tag: \"79\", fmt: b39}\n"
        "    read: either(PIN,key(82))\n"
        "    write: key(85)\n")
    text = text.replace("data:\n", f"data:\n  DF03/EF19: {{\"79\": \"{RECORD_79}\"}}\n", 1)
    path.write_text(text, encoding="utf-8")
    card = Card.from_image(path)
    card.power_on()
    pin = str(yaml.safe_load(text)["pins"]["SSSE"]["value"])
    assert send(card, "00A404000F7378312E73682EC9E7BBE1B1A3D5CF")[1] == "6118"
    assert send(card, "00C0000018")[1] == "9000"
    assert [sw(card, a) for a in ("00A4010002DF03", "00A4000002EF19", "00B2790029")] == ["9000", "9000", "6982"]
    assert verify(card, pin) == "9000"
    assert send(card, "00B2790029") == (bytes.fromhex("7927" + RECORD_79), "9000")
    entry = load_image(path)["keys"]["DF03"]["82"]   # key 82 alone opens it too
    key82 = bytes.fromhex(entry["value"] if isinstance(entry, dict) else entry)
    ok(card, "00A4000002DF03")
    r = ok(card, "0084000008")
    body = schemes.external_cryptogram("des-session", key82, r, crypto.r8(r)) + crypto.r8(r)
    assert sw(card, "0082008210" + body.hex()) == "9000"
    assert send(card, "00B279C829")[1] == "9000"


# --- TLV ---------------------------------------------------------------------------------------

def test_tlv_replaces_the_default_ef_of_its_fid():
    card = layout_card()
    df03 = card.model.dfs["SSSE/DF03"]
    ef = card.model.efs["SSSE/DF03/EF19"]
    assert ef.records == [bytearray.fromhex("7927" + RECORD_79)]   # was 1 record of 32 zero bytes
    assert df03.by_sfi[0x19] is ef and df03.children[0xEF19] is ef
    assert sorted(f"{fid:04X}" for fid in df03.children) == ["EF05", "EF06", "EF07", "EF15", "EF16", "EF17",
                                                               "EF18", "EF19"]


def test_tlv_records_are_preformatted_and_filled_from_data():
    """§2.7: tag, length and 00 (an) / FF (cn) until `data:` fills them."""
    card = layout_card(data={"DF02/EF1C": {"47": "AB"}})
    ef = card.model.efs["SSSE/DF02/EF1C"]
    assert [bytes(r).hex().upper() for r in ef.records] == ["4706414200000000", "4803FFFFFF"]
    select_df(card, "DF02")
    assert send(card, "00B248E000") == (bytes.fromhex("4803FFFFFF"), "9000")   # free, SFI 1C by default


def test_tlv_write_needs_both_pin_and_key():
    card = layout_card()
    select_df(card, "DF02")
    new = record("48", bytes.fromhex("202401"))
    assert authenticate(card, "83") == "9000"
    assert sw(card, "00DC02E405" + new) == "6982"              # key 83 alone: both() needs the PIN too
    assert verify(card) == "9000"
    assert sw(card, "00DC02E405" + new) == "9000"
    assert send(card, "00B2020400") == (bytes.fromhex(new), "9000")


def test_tlv_write_with_its_key_persists_and_refuses_others():
    card = layout_card()
    select_df(card, "DF03")
    new = "7927" + "11" * 39
    assert verify(card) == "9000"
    assert sw(card, "00DC01CC29" + new) == "6982"             # PIN opens the read, not the write
    assert authenticate(card, "84") == "9000"
    assert sw(card, "00DC01CC29" + new) == "6982"             # key 84 is not key 85
    assert authenticate(card, "85") == "9000"
    assert sw(card, "00DC01CC28" + new[:-2]) == "6700"         # one byte short
    assert sw(card, "00DC01CC29" + new) == "9000"
    assert card.export_image()["data"]["SSSE/DF03/EF19"]["79"] == "11" * 39


# --- linear ------------------------------------------------------------------------------------

def test_linear_records_with_sfi_override():
    card = layout_card(records={"DF07/EF08": {"2": "AA" * 16}})
    select_df(card, "DF07")
    assert sw(card, "00B201E400") == "6982"                   # SFI 1C, read AC PIN
    assert sw(card, "00B2014400") == "6A82"                   # SFI 08 (the FID's low byte) is not it
    assert verify(card) == "9000"
    assert send(card, "00B201E400") == (bytes(16), "9000")
    assert send(card, "00B202E400") == (bytes.fromhex("AA" * 16), "9000")
    assert sw(card, "00B204E400") == "6A83"                   # 3 records
    assert sw(card, "00DC03E410" + "BB" * 16) == "9000"       # either(PIN,key(83)): the PIN does
    assert sw(card, "00DC03E40F" + "BB" * 15) == "6700"
    assert sw(card, "00DC00E310" + "CC" * 16) == "6981"       # append on a linear EF
    assert send(card, "00B203E400") == (bytes.fromhex("BB" * 16), "9000")
    assert card.export_image()["records"]["SSSE/DF07/EF08"] == {"2": "AA" * 16, "3": "BB" * 16}


# --- cyclic ------------------------------------------------------------------------------------

def test_cyclic_appends_newest_first_and_drops_the_oldest():
    card = layout_card()
    select_df(card, "DF05")
    assert verify(card) == "9000"
    assert sw(card, "00B2013400") == "6A83"                   # empty (§2.7)
    assert sw(card, "00DC003314" + "01" * 20) == "6982"
    assert authenticate(card, "83") == "9000"
    for n in (1, 2, 3, 4):
        assert sw(card, "00DC003314" + f"{n:02X}" * 20) == "9000"
    assert sw(card, "00DC013414" + "09" * 20) == "6981"       # record mode on a cyclic EF
    assert sw(card, "00DC003313" + "09" * 19) == "6700"
    assert [send(card, f"00B2{n:02X}3400")[0][:1].hex() for n in (1, 2, 3)] == ["04", "03", "02"]
    assert sw(card, "00B2043400") == "6A83"                   # count 3: the first append fell off
    assert card.export_image()["records"]["SSSE/DF05/EF06"] == [f"{n:02X}" * 20 for n in (4, 3, 2)]


def test_cyclic_filled_from_records():
    card = layout_card(records={"DF05/EF06": ["0A" * 20, "0B" * 20]})
    select_df(card, "DF05")
    assert authenticate(card, "81") == "9000"                 # either(PIN,key(81)): the key does
    assert send(card, "00B2023400") == (bytes.fromhex("0B" * 20), "9000")


# --- transparent -------------------------------------------------------------------------------

def test_transparent_read_and_write_under_its_keys():
    card = layout_card(files={"DF06/EF07": "C0FFEE"})
    select_df(card, "DF06")
    assert verify(card) == "9000"
    assert sw(card, "00B0870003") == "6982"                   # key(81) only: the PIN is not enough
    assert authenticate(card, "81") == "9000"
    assert send(card, "00B0870004") == (bytes.fromhex("C0FFEE00"), "9000")
    assert send(card, "00B0012B00")[0] == bytes(1)            # offset 299, the last byte
    assert sw(card, "00B0012C01") == "6B00"                   # offset 300 = size
    assert sw(card, "00D6012B02" + "0102") == "6A84"          # no key 83 yet: the size comes first (§4.3)
    assert sw(card, "00D6870002" + "0102") == "6982"
    assert authenticate(card, "83") == "9000"
    assert sw(card, "00D6870002" + "0102") == "9000"
    assert card.export_image()["files"]["SSSE/DF06/EF07"] == "0102EE"


def test_transparent_without_sfi_is_selected_by_fid():
    card = layout_card(files={"DF04/EF0C": "01020304"})
    select_df(card, "DF04")
    assert sw(card, "00B08C0004") == "6A82"                   # `sfi: none`: not SFI 0C
    assert card.model.dfs["SSSE/DF04"].by_sfi.get(0x0C) is None
    ok(card, "00A4020002EF0C")
    assert send(card, "00B0000004") == (bytes.fromhex("01020304"), "9000")
    assert sw(card, "00D6000001FF") == "6982"                 # write: never


# --- the tree ----------------------------------------------------------------------------------

def test_added_efs_sit_in_fid_order_and_the_switch_ac_reaches_them():
    img = image(2)
    img["layout"] = {"DF05/EF03": {"structure": "transparent", "size": 8, "read": "key(81)", "write": "never"}}
    img["switches"] = {"ac": {"SSSE/DF05/EF03": {"read": "free"}}}
    card = make(2, image_dict=img)
    assert [p for p in card.model.efs if p.startswith("SSSE/DF05/")] == ["SSSE/DF05/EF03", "SSSE/DF05/EF05"]
    select_df(card, "DF05")
    assert send(card, "00B0830008") == (bytes(8), "9000")     # the `ac` switch made it free


# --- save and load -----------------------------------------------------------------------------

def test_image_round_trip_keeps_the_layout_and_what_was_written(tmp_path):
    path = tmp_path / "card.yaml"
    text = ("profile: gen2\n"
            "layout:\n"
            "  DF03/EF19:\n"
            "    structure: tlv\n"
            "    sfi: \"19\"\n"
            "    records: [{tag: \"79\", fmt: b39, item: 地方应用数据}]\n"
            "    read: either(PIN,key(82))\n"
            "    write: either(PIN,key(85))\n"
            "  DF06/EF07: {structure: transparent, size: 16, read: free, write: PIN}\n"
            f"pins: {{SSSE: \"{PIN}\"}}\n")
    path.write_text(text, encoding="utf-8")
    card = Card.from_image(path)
    card.power_on()
    select_df(card, "DF03")
    assert verify(card) == "9000"
    assert sw(card, "00DC01CC29" + "7927" + "22" * 39) == "9000"  # saved at once
    saved = load_image(path)
    assert saved["layout"] == parse_image(text, "x")["layout"]
    assert saved["data"]["SSSE/DF03/EF19"] == {"79": "22" * 39}
    again = Card.from_image(path)
    again.power_on()
    select_df(again, "DF03")
    assert verify(again) == "9000"
    assert send(again, "00B279C829") == (bytes.fromhex("7927" + "22" * 39), "9000")
    assert again.export_image() == card.export_image()
