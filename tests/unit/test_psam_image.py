"""PSAM images (YAML): what they set, and every refusal naming file and line."""

from __future__ import annotations

import pytest
from cardkit import rsp

from simulator import crypto, schemes
from simulator.image import ImageError
from simulator.psam import Psam

DIV_G2 = "430244035A3C1E02" "3434303330307378"
ROOT = "00112233445566778899AABBCCDDEEFF"


def write(tmp_path, text: str):
    path = tmp_path / "psam.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_image_sets_profile_transport_numbers_and_roots(tmp_path):
    path = write(tmp_path, f'''# a PSAM of another city
profile: des-only
transport: t1
terminal_number: "110100000042"
serial: "11010000000000000042"
keys:
  "12": {ROOT}
  "16": null
''')
    p = Psam.from_image(path)
    assert p.power_on().hex().upper().endswith("21")                     # the t1 ATR
    assert rsp(p, "00B0960006") == "1101000000429000"
    assert rsp(p, "00B0950000") == "11010000000000000042010001009000"
    assert rsp(p, "00A404000F7378332E73682EC9E7BBE1B1A3D5CF") == "6A82"   # des-only
    assert rsp(p, "00A4040006D15600000590") == "6F088406D156000005909000"
    assert rsp(p, "BFDE481610" + DIV_G2) == "6A88"                        # dropped by null
    assert rsp(p, "BFDE481210" + DIV_G2) == "9000"                        # the image's root
    k_card = schemes.diversify_chain("3des", bytes.fromhex(ROOT), bytes.fromhex(DIV_G2[16:]),
                                    bytes.fromhex(DIV_G2[:16]))
    assert rsp(p, "80FA000008" + "00" * 8) == crypto.tdes_encrypt(k_card, bytes(8)).hex().upper() + "9000"


def test_export_image_round_trips():
    p = Psam.builtin("no-rk", "t1")
    again = Psam.from_dict(p.export_image())
    assert again.export_image() == p.export_image()
    assert "11" not in p.export_image()["keys"] and "12" in p.export_image()["keys"]
    assert again.atr == p.atr


def test_empty_mapping_is_the_default_psam(tmp_path):
    p = Psam.from_image(write(tmp_path, "{}\n"))
    assert p.export_image() == Psam.builtin().export_image()


@pytest.mark.parametrize("text, line, what", [
    ("profile: default\nterminal: x\n", 2, "unknown key 'terminal'"),
    ("profile: gen4\n", 1, "profile must be one of default, no-rk, des-only, sm4-only"),
    ("transport: t2\n", 1, "transport must be t0 or t1"),
    ("profile: default\nterminal_number: 440300000001\n", 2, "quoted string of 12 digits"),
    ("serial: \"123\"\n", 1, "serial must be a quoted string of 20 digits"),
    ("keys: [11]\n", 1, "keys must be a mapping"),
    ("keys:\n  \"1\": " + ROOT + "\n", 2, "key index must be 2 hex digits"),
    ("keys:\n  \"11\": ABCD\n", 2, "root key 11 must be 32 hex digits"),
    ("keys:\n  \"11\": 1234\n", 2, "root key 11 must be 32 hex digits"),
    ("- a list\n", 1, "a PSAM image is a YAML mapping"),
    ("profile: [\n", 2, "YAML"),
])
def test_bad_images_refused_with_file_and_line(tmp_path, text, line, what):
    path = write(tmp_path, text)
    with pytest.raises(ImageError) as err:
        Psam.from_image(path)
    assert str(err.value).startswith(f"{path}:{line}: "), str(err.value)
    assert what in str(err.value)


def test_card_image_is_not_a_psam_image(tmp_path):
    from simulator import Card
    from simulator.image import save_image

    path = tmp_path / "card.yaml"
    save_image(path, Card.builtin("gen2").export_image())
    with pytest.raises(ImageError, match=r"card.yaml:1: profile gen2 is a card profile: this is a card image"):
        Psam.from_image(path)


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="cannot read PSAM image"):
        Psam.from_image(tmp_path / "absent.yaml")
