"""`sscard serve --psam`: the card in slot 0, the emulated PSAM in slot 1, through the real pcscd."""

from __future__ import annotations

from pcsckit import READERS, SELECT_SSSE, connect, kill, sscard, stop, tx, wait_card, wait_slot_empty
from simulator.psam import Psam

PSAM_ATR = "3B6C00000081005353435053414D0001"
GEN3_ATR = "3B6D00000081005353430344035A3C1E03"


def test_serve_builtin_gen3_with_builtin_psam_two_readers():
    for r in READERS:
        wait_slot_empty(r)
    proc = sscard("serve", "--builtin", "gen3", "--psam", "--trace")
    try:
        assert wait_card(READERS[0]).hex().upper() == GEN3_ATR
        assert wait_card(READERS[1]).hex().upper() == PSAM_ATR
        psam = connect(READERS[1])
        assert bytes(psam.getATR()).hex().upper() == PSAM_ATR
        assert tx(psam, "00A40000023F00") == "9000"
        assert tx(psam, "00B0960006") == "4403000000019000"          # terminal number, EF 0016
        assert tx(psam, "00A404000F7378332E73682EC9E7BBE1B1A3D5CF") == "6113"
        assert tx(psam, "00A4000002DF01") == "610A"
        # §3 PSAM-EXT-G3-K0A: BF DE then 80 FA give X; the card accepts fold8(X) ‖ R ‖ 01
        assert tx(psam, "BFDE481120430344035A3C1E03343430333030737811223344556677880000000000000000") == "9000"
        assert tx(psam, "80FA00001011223344556677880000000000000000") == "6110"
        assert tx(psam, "00C0000010") == "B05DB14D48039D518732DCD82A9DF6E49000"
        card = connect(READERS[0])
        assert bytes(card.getATR()).hex().upper() == GEN3_ATR
        assert tx(card, SELECT_SSSE) == "6118"
        assert tx(card, "00B2012C00") == "0110440300D1560000055A3C1E0326F062D69000"
        # with a live challenge the PSAM's cryptogram opens EF05 record 7 on the card
        challenge = bytes.fromhex(tx(card, "0084000008")[:-4])
        card_div, city_div = bytes.fromhex(GEN3_ATR)[-8:], b"440300sx"
        pf = (challenge + bytes(8)).hex().upper()
        assert tx(psam, "BFDE481120" + (card_div + city_div).hex().upper() + pf) == "9000"
        assert tx(psam, "80FA000010" + pf) == "6110"
        x = bytes.fromhex(tx(psam, "00C0000010")[:-4])
        c = bytes(a ^ b for a, b in zip(x[:8], x[8:]))
        assert tx(card, "0082000A11" + (c + challenge).hex().upper() + "01") == "9000"
        assert tx(card, "00B2072C00") == "07094130313233343536339000"
        psam.disconnect()
        card.disconnect()
        out = stop(proc)
    finally:
        kill(proc)
    assert "builtin PSAM default" in out and "Virtual PCD 00 01" in out
    assert "DIVERSIFY" in out and "ENCRYPT/MAC" in out   # the PSAM's trace names its commands


def test_serve_psam_image_in_slot_after_the_card(tmp_path):
    image = tmp_path / "psam.yaml"
    image.write_text('profile: no-rk\nterminal_number: "110100000042"\n', encoding="utf-8")
    for r in READERS:
        wait_slot_empty(r)
    proc = sscard("serve", "--builtin", "gen2", "--psam", str(image))
    try:
        wait_card(READERS[1])
        psam = connect(READERS[1])
        assert tx(psam, "00B0960006") == "1101000000429000"
        assert tx(psam, "00A4040006D15600000590") == "610A"
        # no-rk: index 11 (RKSSSE) is missing, index 12 is there
        assert tx(psam, "BFDE481118430244035A3C1E0234343033303073781122334455667788") == "6A88"
        assert tx(psam, "BFDE481218430244035A3C1E023434303330307378A0A1A2A3A4A5A6A7") == "9000"
        psam.disconnect()
        stop(proc)
    finally:
        kill(proc)


def test_serve_refuses_a_bad_psam_image_with_its_line(tmp_path):
    image = tmp_path / "psam.yaml"
    image.write_text("profile: default\nkeys:\n  \"11\": 1234\n", encoding="utf-8")
    proc = sscard("serve", "--builtin", "gen2", "--psam", str(image))
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert f"{image}:3:" in out and "root key 11" in out
    assert Psam.builtin().atr.hex().upper() == PSAM_ATR


def test_suite_against_the_served_psam_through_pcscd(tmp_path):
    """`sscard run --psam-reader` on the PSAM that `sscard serve --psam` put in slot 1."""
    import json

    for r in READERS:
        wait_slot_empty(r)
    proc = sscard("serve", "--builtin", "gen2", "--psam")
    try:
        wait_card(READERS[1])
        report = tmp_path / "psam.json"
        run = sscard("run", "--psam-reader", READERS[1], "-k", "PSAM", "--json", str(report))
        out, _ = run.communicate(timeout=120)
        assert run.returncode == 0, out
        cases = json.loads(report.read_text())["cases"]
        passed = [c for c in cases if c["verdict"] == "PASS"]
        assert len(passed) >= 40 and all(c["id"].startswith("SSC.PSAM.") for c in passed)
        assert {c["verdict"] for c in cases} == {"PASS", "NOT_APPLICABLE"}
        stop(proc)
    finally:
        kill(proc)
