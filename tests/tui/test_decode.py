"""The words the screens put on bytes: command names, P1/P2 meaning, status words, hex input."""

from __future__ import annotations

import pytest

from tui import decode
from tui.targets import ReaderScan, Target, TargetError, connect, scan_readers


@pytest.mark.parametrize("apdu, name, meaning", [
    ("00A404000F7378312E73682EC9E7BBE1B1A3D5CF", "SELECT", "by DF name SSSE, FCI wanted"),
    ("00A4040C06D15600000500", "SELECT", "by DF name DF01, no FCI"),
    ("00A40000023F00", "SELECT", "by FID 3F00, FCI wanted"),
    ("00A4020C02EF05", "SELECT", "EF by FID EF05, no FCI"),
    ("00A4010002DF03", "SELECT", "child DF by FID DF03, FCI wanted"),
    ("00DC052806050420240315", "UPDATE RECORD", "first record with tag 05 in SFI 05"),
    ("00B2072C00", "READ RECORD", "record 7 of SFI 05, Le 256"),
    ("00B2083000", "READ RECORD", "first record with tag 08 in SFI 06, Le 256"),
    ("00B2010400", "READ RECORD", "record 1 of current EF, Le 256"),
    ("00DC013B05", "UPDATE RECORD", "append to SFI 07"),
    ("00B0870042", "READ BINARY", "SFI 07, offset 0, Le 66"),
    ("00B0010010", "READ BINARY", "current EF, offset 256, Le 16"),
    ("0084000008", "GET CHALLENGE", "challenge of 8 bytes"),
    ("00840000010008", "GET CHALLENGE", "challenge of 8 bytes, with 1 bytes of data"),
    ("0082008610" + "00" * 16, "EXTERNAL AUTHENTICATE", "DF key 86, 16 bytes of data"),
    ("0020000003123456", "VERIFY", "cardholder PIN, 3 bytes"),
    ("0020018110" + "00" * 16, "VERIFY (PKI)", "user PIN"),
    ("805E010007123456FF654321", "CHANGE PIN", "P1 01 P2 00, 7 bytes of data"),
    ("00C0000018", "GET RESPONSE", "fetch 24 waiting bytes"),
    ("80C9820008C0020012C2020013", "EXPORT PUBLIC KEY", "P1 82 P2 00, 8 bytes of data"),
    ("12340000", "CLA 12 INS 34", "P1 00 P2 00, 0 bytes of data"),
])
def test_commands_are_named_and_their_parameters_explained(apdu, name, meaning):
    raw = bytes.fromhex(apdu)
    assert decode.command_name(raw) == name
    assert decode.parameters(raw) == meaning


def test_status_words_in_words_and_colour():
    assert decode.sw_text(0x9000).plain == "9000 success"
    assert "green" in str(decode.sw_text(0x9000).spans[0].style)
    assert decode.sw_text(0x63C1).plain == "63C1 verification failed, 1 tries left"
    assert "yellow" in str(decode.sw_text(0x63C1).spans[0].style)
    assert "red" in str(decode.sw_text(0x6982).spans[0].style)
    assert decode.sw_text(None).plain == "no status word"


@pytest.mark.parametrize("typed, raw", [
    ("00a4 0400", "00A40400"), ("0x00B2012C00", "00B2012C00"), ("00:B2:01:2C:00", "00B2012C00"),
])
def test_hex_as_people_type_it(typed, raw):
    assert decode.parse_hex(typed) == bytes.fromhex(raw)


@pytest.mark.parametrize("typed, message", [("", "no hex"), ("00A", "odd number"), ("00GG", "not hex: 'G'")])
def test_bad_hex_is_explained(typed, message):
    with pytest.raises(ValueError, match=message):
        decode.parse_hex(typed)


def test_tlv_lines_only_for_tlv():
    assert decode.tlv_lines(bytes.fromhex("6F088406D15600000500")) == ["6F (8)", "  84 (6) D15600000500"]
    assert decode.tlv_lines(b"\x01") == []


def test_scan_readers_never_raises():
    scan = scan_readers()  # with or without pcscd, with or without readers
    assert isinstance(scan, ReaderScan)
    assert scan.readers or scan.status


def test_targets_that_cannot_open_say_why(tmp_path):
    with pytest.raises(TargetError, match="no card image at"):
        connect(Target("image", str(tmp_path / "nope.yaml")))
    bad = tmp_path / "bad.yaml"
    bad.write_text("profile: gen9\n")
    with pytest.raises(TargetError, match="profile must be one of"):
        connect(Target("image", str(bad)))
    with pytest.raises(TargetError):
        connect(Target("pcsc", "no such reader 42"))


def test_an_image_target_is_not_written_back(tmp_path):
    from simulator.image import dump_image
    from simulator.samples import sample_image

    path = tmp_path / "card.yaml"
    path.write_text(dump_image(sample_image("gen2")))
    before = path.read_bytes()
    connection = connect(Target("image", str(path)))
    pin = "0020000003999999"  # a wrong PIN changes the try counter: in memory only
    assert connection.transport.transmit(bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF"))[-2:] == b"\x61\x18"
    assert connection.transport.transmit(bytes.fromhex(pin))[-2:].hex().upper().startswith("63C")
    assert path.read_bytes() == before
    assert connection.card.label == "card" and connection.card.generation == 2
