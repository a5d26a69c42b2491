"""`sscard apdu`: raw and processed answers, decoded; bad hex named; changes to an image saved."""

from click.testing import CliRunner

from simulator import Card
from simulator.image import save_image
from simulator.samples import sample_image
from sscard.cli import cli

SSSE = "00A404000F7378312E73682EC9E7BBE1B1A3D5CF"


def run(*args):
    return CliRunner().invoke(cli, ["apdu", *args])


def test_raw_answers_show_61xx_and_names():
    r = run("--builtin", "gen2", SSSE, "00C0000018", "00B2072C05")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].startswith("ATR 3B6D00000081005353430244035A3C1E02")
    assert "> " + SSSE + "  SELECT" in lines
    assert "< 6118  response bytes waiting (GET RESPONSE) (24 bytes)" in lines
    assert "< 6F16840F7378312E73682EC9E7BBE1B1A3D5CFA50388010B 9000  success" in lines
    assert any(line.startswith("< 6C0B") for line in lines)


def test_get_response_follows_61xx_and_6cxx():
    r = run("--builtin", "gen2", "--get-response", SSSE, "00B2072C05")
    assert r.exit_code == 0, r.output
    assert "< 6F16840F7378312E73682EC9E7BBE1B1A3D5CFA50388010B 9000  success" in r.output
    assert "< 0709413031323334353632 9000  success" in r.output  # card number A01234562 (§3.8)


def test_bad_hex_names_the_argument_and_the_characters():
    r = run("--builtin", "gen2", SSSE, "00 A4 0Z")
    assert r.exit_code == 2
    assert "APDU 2 ('00 A4 0Z') has non-hex characters: 'Z'" in r.output
    r = run("00A40")
    assert r.exit_code == 2 and "odd number of hex digits" in r.output


def test_changes_to_an_image_are_saved(tmp_path):
    path = tmp_path / "c.yaml"
    save_image(path, sample_image("gen2"))
    r = run("--image", str(path), SSSE, "0020000003999999")
    assert r.exit_code == 0 and "63C2" in r.output
    assert Card.from_image(path).export_image()["pins"]["SSSE"]["tries"] == 2
