"""The one-module-per-format pieces of issue 13 beyond their examples: the lenient BER-TLV reader
(what a report shows of a broken answer), the card's strict reading of PKI data fields, the P1
dispatch rule of the command registry, and defects named by an enum."""

from __future__ import annotations

import pytest
import yaml

from cardkit import make, select_ssse, sw
from simulator import Card, tlv
from simulator.commands import REGISTRY, ByP1, command_name, dispatch_table
from simulator.defects import DEFECTS, Defect
from simulator.samples import sample_image

FCI = bytes.fromhex("6F16840F7378312E73682EC9E7BBE1B1A3D5CFA50388010B")


def test_read_gives_what_it_could_and_where_it_stopped():
    broken = FCI + bytes.fromhex("8405AABB")           # a second object that claims 5 bytes, has 2
    reading = tlv.read(broken)
    assert [i.tag_hex for i in reading.items] == ["6F"]
    assert [c.tag_hex for c in reading.items[0].children] == ["84", "A5"]
    assert not reading.complete and reading.stopped_at == len(FCI)
    assert "84" in str(reading.error) and f"at byte {len(FCI)}" in str(reading.error)
    with pytest.raises(tlv.TLVError) as err:
        tlv.parse(broken)
    assert err.value.offset == len(FCI)
    assert tlv.read(FCI + bytes(3)).complete                 # record padding after the last object
    assert tlv.describe(broken) == [] and tlv.describe(FCI)[0] == "6F (22)"


def test_card_data_fields_are_read_strictly():
    refs = bytes.fromhex("C0020012C2020013")
    assert tlv.objects(refs, (0xC0, 2), (0xC2, 2)) == [b"\x00\x12", b"\x00\x13"]
    assert tlv.objects(refs + b"\x00\x00", (0xC0, 2), (0xC2, 2)) is None    # no padding on the card
    assert tlv.objects(bytes.fromhex("C183000002AABB"), (0xC1, None)) is None  # 83: not a form it takes
    assert tlv.objects(bytes.fromhex("C1820002AABB"), (0xC1, None)) == [b"\xAA\xBB"]
    assert tlv.objects(refs, (0xC0, 2), (0xC2, 3)) is None


def test_total_length_of_a_der_object_read_in_pieces():
    assert tlv.total_length(bytes.fromhex("308201F4") + bytes(10), 0x30) == 4 + 0x1F4
    assert tlv.total_length(bytes.fromhex("3105"), 0x30) is None
    assert tlv.total_length(bytes.fromhex("3084"), 0x30) is None
    assert tlv.encode(0x84, bytes(200))[:3] == bytes.fromhex("8481C8")


def test_commands_told_apart_by_p1_follow_one_rule():
    table = dispatch_table()
    assert isinstance(table[0x20][0x00], ByP1) and isinstance(table[0x5E][0x80], ByP1)
    assert [command_name(bytes.fromhex(h)) for h in ("805E000000", "805E010000", "0020010000", "0020000000")] == \
        ["RELOAD PIN", "CHANGE PIN", "VERIFY (PKI)", "VERIFY"]
    card = make(2)
    select_ssse(card)
    assert sw(card, "805E020003123456") == "6A86"   # a P1 no command declares: wrong P1
    assert sw(card, "805E0200") == "6700"           # ... after the family's APDU case check (§4.3)
    assert sw(card, "002002000112") == "6A86"
    assert sw(card, "805E010503123456") == "6A86"   # P2 is still each command's own check


def test_every_command_comes_from_a_listed_family_once():
    names = [(c.cla, c.ins, c.p1) for c in REGISTRY]
    assert len(names) == len(set(names)) and {c.handler.__module__.rsplit(".", 1)[1] for c in REGISTRY} == \
        {"select", "binary", "records", "response", "auth", "pin", "lifecycle", "pki", "pki_keys"}


def test_defects_are_an_enum_and_images_are_checked_against_it(tmp_path):
    assert set(DEFECTS) == {d.value for d in Defect} and all(d.description for d in Defect)
    image = sample_image("gen2")
    image["defects"] = ["challenge-reuse", "challenge-resue"]
    path = tmp_path / "card.yaml"
    path.write_text(yaml.safe_dump(image, allow_unicode=True, sort_keys=False), encoding="utf-8")
    line = path.read_text(encoding="utf-8").splitlines().index("- challenge-resue") + 1
    with pytest.raises(ValueError) as err:
        Card.from_image(path)
    assert f"card.yaml:{line}" in str(err.value) and "unknown defect 'challenge-resue'" in str(err.value)
    image["defects"] = ["challenge-reuse"]
    assert Card.from_dict(image).defects == {Defect.CHALLENGE_REUSE}
