"""The computed functions that give a card's content from the card-under-test description:
record() (spec §3, §4.6), binary() (§4.7) and fci() (§4.5). Expected bytes are the spec's own
(§3.8 sample records, §4.5 default FCIs), not the emulator's answers."""

from __future__ import annotations

import pytest

from conformance import compute
from conformance.card_under_test import CardUnderTest, MissingSecret
from conformance.template import check_functions, parse
from simulator.samples import sample_image

# spec §3.8: the sample person's EF06 records (same on all cards) and the gen2 card's EF05
NAME_00 = "091ED5C5C8FD" + "00" * 26
EF06 = {"08": "0812343430333035313938353033313531323338", "09": NAME_00,
        "4E": "4E14" + "00" * 20, "0A": "0A0131", "0B": "0B0101", "0C": "0C03440305", "0D": "0D0419850315"}
EF05_G2 = ["0110440300D1560000055A3C1E02C64D65FE", "020131", "0304322E3030",
           "040C440300000000000012345678", "050420180601", "060420380601", "0709413031323334353632"]


def ctx_for(image: dict, current_df: str = "MF") -> compute.Context:
    return compute.Context(CardUnderTest(image), current_df)


def hexed(value: bytes) -> str:
    return value.hex().upper()


@pytest.mark.parametrize("tag", sorted(EF06))
def test_ef06_records_by_tag_are_the_spec_sample(tag):
    assert hexed(compute.record(ctx_for(sample_image("gen2")), "SSSE/EF06", tag)) == EF06[tag]


def test_ef05_records_by_number_gen2():
    ctx = ctx_for(sample_image("gen2"))
    assert [hexed(compute.record(ctx, "SSSE/EF05", n)) for n in range(1, 8)] == EF05_G2


def test_record_numbers_follow_the_generation():
    """g1 EF06 has no tag 4E: its record 3 is the sex, a g2 card's record 3 the name extension (§3.4)."""
    assert hexed(compute.record(ctx_for(sample_image("gen1")), "EF06", 3)) == EF06["0A"]
    assert hexed(compute.record(ctx_for(sample_image("gen2")), "EF06", 3)) == EF06["4E"]
    with pytest.raises(ValueError):
        compute.record(ctx_for(sample_image("gen1")), "SSSE/EF06", 7)
    with pytest.raises(ValueError):
        compute.record(ctx_for(sample_image("gen1")), "SSSE/EF06", "4E")


def test_an_pad_20_pads_the_name_with_spaces():
    image = sample_image("gen2")
    image["switches"] = {"an_pad": "20"}
    assert hexed(compute.record(ctx_for(image), "SSSE/EF06", "09")) == "091ED5C5C8FD" + "20" * 26


def test_items_left_out_hold_the_preformat():
    """PD-34: an and b values 00, cn values FF."""
    image = {"profile": "gen2", "data": {"SSSE/EF05": {"03": "2.00"}}}
    ctx = ctx_for(image)
    assert hexed(compute.record(ctx, "SSSE/EF06", "0C")) == "0C03FFFFFF"
    assert hexed(compute.record(ctx, "SSSE/EF06", "09")) == "091E" + "00" * 30
    assert hexed(compute.record(ctx, "SSSE/EF05", "03")) == "0304322E3030"


def test_gen3_ef0d_and_df01_items():
    ctx = ctx_for(sample_image("gen3"))
    assert hexed(compute.record(ctx, "SSSE/EF0D", "EA")) == "EA0C343430333035303030313233"
    assert hexed(compute.record(ctx, "EF0D", 2)) == "EB03440300"
    assert hexed(compute.record(ctx, "DF01/EF06", "24")) == "2403518000"
    assert hexed(compute.record(ctx, "SSSE/DF01/EF0A", "37")) == "370343484E"
    with pytest.raises(ValueError):
        compute.record(ctx_for(sample_image("gen2")), "SSSE/EF0D", "EA")


def test_records_table_wins_and_linear_files_are_zero_filled():
    image = sample_image("gen2")
    image["records"] = {"SSSE/EF06": {"5": "0B0102"}, "SSSE/DF01/EF16": {"1": "11" * 32},
                        "SSSE/DF04/EF08": ["6A12" + "22" * 18]}
    ctx = ctx_for(image)
    assert hexed(compute.record(ctx, "SSSE/EF06", "0B")) == "0B0102"
    assert hexed(compute.record(ctx, "SSSE/DF01/EF16", 1)) == "11" * 32
    assert hexed(compute.record(ctx, "SSSE/DF02/EF16", 1)) == "00" * 32
    assert hexed(compute.record(ctx, "SSSE/DF04/EF08", 1)) == "6A12" + "22" * 18


def test_a_description_without_content_cannot_give_records():
    with pytest.raises(MissingSecret):
        compute.record(ctx_for({"profile": "gen2", "keys": {}}), "SSSE/EF06", "09")


def test_unknown_files_are_vector_errors():
    with pytest.raises(ValueError):
        compute.record(ctx_for(sample_image("gen2")), "SSSE/EF99", "01")
    with pytest.raises(ValueError):
        compute.record(ctx_for(sample_image("gen2")), "SSSE/EF08", 1)  # transparent


def test_binary_zero_fills_to_the_size_and_slices():
    image = sample_image("gen2")
    image["files"] = {"SSSE/EF08": "FFD8FFE0"}
    image["switches"] = {"sizes": {"EF08": 4096}}
    ctx = ctx_for(image)
    assert hexed(compute.binary(ctx, "SSSE/EF08", 0, 6)) == "FFD8FFE00000"
    assert len(compute.binary(ctx, "SSSE/EF08")) == 4096
    assert compute.binary(ctx, "SSSE/EF08", 4090, 32) == bytes(6)  # what exists (PD-03)
    assert len(compute.binary(ctx_for(sample_image("gen2")), "EF07")) == 1024  # PD-26 default
    with pytest.raises(ValueError):
        compute.binary(ctx, "SSSE/EF05")


def test_binary_reads_a_file_beside_the_image(tmp_path):
    from simulator.image import load_image, save_image

    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0JFIF")
    image = sample_image("gen2")
    image["files"] = {"SSSE/EF08": "photo.jpg"}
    save_image(tmp_path / "card.yaml", image)
    ctx = ctx_for(load_image(tmp_path / "card.yaml"))
    assert compute.binary(ctx, "SSSE/EF08", 0, 8) == b"\xff\xd8\xff\xe0JFIF"
    image["files"] = {"SSSE/EF08": "missing.jpg"}
    with pytest.raises(MissingSecret):
        compute.binary(ctx_for(image), "SSSE/EF08", 0, 8)


def test_fci_defaults_of_the_spec():
    ctx = ctx_for(sample_image("gen3"))
    assert hexed(compute.fci(ctx, "SSSE")) == "6F16840F7378312E73682EC9E7BBE1B1A3D5CFA50388010B"
    assert hexed(compute.fci(ctx, "PKI")) == "6F0E840C504B492EC9E7BBE1B1A3D5CF"
    assert hexed(compute.fci(ctx, "ADF1")) == "6F0E840C53532E434552542E41444631"
    assert hexed(compute.fci(ctx, "DF01")) == "6F088406D15600000500"
    assert hexed(compute.fci(ctx, "DF07")) == "6F088406D15600000504"


def test_fci_follows_dir_sfi_and_fci_extra():
    image = sample_image("gen3")
    image["switches"] = {"dir_sfi": "10", "fci_extra": {"PKI": "7302AABB"}}
    ctx = ctx_for(image)
    assert hexed(compute.fci(ctx, "SSSE")).endswith("A503880110")
    assert hexed(compute.fci(ctx, "PKI")) == "6F12840C504B492EC9E7BBE1B1A3D5CF7302AABB"


def test_usable_from_a_vector_template():
    template = parse('00B2 ${record("SSSE/EF06", "0A")} ${fci("DF01")} ${binary("EF07", 0, 2)}')
    assert check_functions(template, compute.bind(None)) == []
    rendered = template.render({}, compute.bind(ctx_for(sample_image("gen1"))))
    assert hexed(rendered) == "00B2" + EF06["0A"] + "6F088406D15600000500" + "0000"


def test_ef_size_is_the_end_offset():
    image = sample_image("gen3")
    assert compute.ef_size(ctx_for(image), "SSSE/EF08") == bytes.fromhex("2000")  # 8192, PD-26
    assert compute.ef_size(ctx_for(image), "SSSE/EF07", 1) == bytes.fromhex("03FF")
    assert compute.ef_size(ctx_for(image), "ADF1/0012") == bytes.fromhex("0042")  # 66 bytes, §2.6
    image["switches"] = {"sizes": {"0018": 1024}}
    assert compute.ef_size(ctx_for(image), "PKI/SS.CERT.ADF1/0018", 2) == bytes.fromhex("03FE")
    with pytest.raises(ValueError):
        compute.ef_size(ctx_for(image), "SSSE/EF05")


def test_binary_negative_offsets_count_from_the_end():
    image = sample_image("gen2")
    image["files"] = {"SSSE/EF07": "11" * 1020 + "AABBCCDD"}
    ctx = ctx_for(image)
    assert hexed(compute.binary(ctx, "SSSE/EF07", -4, 32)) == "AABBCCDD"
    assert hexed(compute.binary(ctx, "SSSE/EF07", -6, 3)) == "1111AA"
    assert compute.binary(ctx, "SSSE/EF07", -4) == bytes.fromhex("AABBCCDD")
    template = parse('${binary("SSSE/EF07", -2, 2)}')
    assert template.render({}, compute.bind(ctx)) == bytes.fromhex("CCDD")
