"""`sscard card new|show|read` through click's CliRunner."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from simulator.image import load_image
from simulator.newcard import new_image
from sscard.cli import cli
from sscard.pki_issue import personalise_pki


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize("profile", ["gen1", "gen2", "gen3"])
def test_new_then_show(profile, tmp_path):
    out = tmp_path / f"{profile}.yaml"
    result = run("card", "new", "--profile", profile, "--out", str(out), "--seed", "11")
    assert result.exit_code == 0, result.output
    assert (out.stat().st_mode & 0o777) == 0o600
    image = load_image(out)
    assert image["profile"] == profile and image == new_image(profile, 11, personalise_pki)
    person = image["person"]
    assert person["ssn"] in result.output and person["name"] in result.output

    shown = run("card", "show", str(out))
    assert shown.exit_code == 0, shown.output
    text = shown.output
    for needle in (f"generation {profile[-1]}", person["ssn"], person["name"], "社会保障号码",
                   "social security number", "matches the IRK", "ATR carries the serial",
                   "JPEG 96x120", "SSSE (cardholder)", "3/3", "卡号", image["data"]["SSSE/EF05"]["07"]):
        assert needle in text, needle
    irk = image["keys"]["SSSE"]["01"]
    assert irk not in text                                   # keys stay hidden without --secrets
    assert ("PKI (SS.CERT.ADF1)" in text) == (profile == "gen3")
    assert ("初次申领地代码" in text) == (profile == "gen3")

    secret = run("card", "show", "--secrets", str(out))
    assert secret.exit_code == 0 and irk in secret.output and "123456" in secret.output


def test_show_reports_a_wrong_card_id_mac(tmp_path):
    out = tmp_path / "c.yaml"
    assert run("card", "new", "--profile", "gen2", "--out", str(out), "--seed", "3").exit_code == 0
    text = out.read_text(encoding="utf-8")
    cid = load_image(out)["data"]["SSSE/EF05"]["01"]
    out.write_text(text.replace(cid, cid[:-4] + ("0000" if cid[-4:] != "0000" else "1111")), encoding="utf-8")
    shown = run("card", "show", str(out))
    assert shown.exit_code == 0 and "does NOT match the IRK" in shown.output


def test_new_refuses_to_overwrite_without_force(tmp_path):
    out = tmp_path / "card.yaml"
    out.write_text("keep me\n", encoding="utf-8")
    result = run("card", "new", "--profile", "gen1", "--out", str(out))
    assert result.exit_code != 0 and "--force" in result.stderr
    assert out.read_text(encoding="utf-8") == "keep me\n"
    forced = run("card", "new", "--profile", "gen1", "--out", str(out), "--force", "--seed", "1")
    assert forced.exit_code == 0 and load_image(out)["profile"] == "gen1"


def test_new_with_t1_transport(tmp_path):
    out = tmp_path / "t1.yaml"
    result = run("card", "new", "--profile", "gen3", "--out", str(out), "--transport", "t1", "--seed", "2")
    assert result.exit_code == 0, result.output
    assert load_image(out)["switches"] == {"transport": "t1"}
    shown = run("card", "show", str(out))
    assert "transport t1" in shown.output and "ATR 3BED" in shown.output
    read = run("card", "read", str(out))
    assert read.exit_code == 0 and load_image(out)["person"]["ssn"] in read.output


def test_read_builtin_gen2():
    result = run("card", "read", "--builtin", "gen2")
    assert result.exit_code == 0, result.output
    for needle in ("ATR 3B6D00000081005353430244035A3C1E02", "440305198503151238", "张三",
                   "A01234562", "广东省深圳市南山区示例路1号", "verified", "6118 9000"):
        assert needle in result.output, needle


def test_read_new_gen3_with_seed():
    result = run("card", "read", "--new", "gen3", "--seed", "5")
    assert result.exit_code == 0, result.output
    person = new_image("gen3", 5)["person"]
    for needle in (person["ssn"], person["name"], person["person_id"], "authenticated", "fictional"):
        assert needle in result.output, needle
    assert "6982" not in result.output


def test_read_leaves_the_image_file_alone(tmp_path):
    out = tmp_path / "c.yaml"
    assert run("card", "new", "--profile", "gen3", "--out", str(out), "--seed", "9").exit_code == 0
    before = out.read_bytes()
    result = run("card", "read", str(out), "--trace")
    assert result.exit_code == 0 and "> 0084000008" in result.output
    assert out.read_bytes() == before


@pytest.mark.parametrize("args", [[], ["--builtin", "gen1", "--new", "gen2"], ["--builtin", "gen1", "--seed", "3"]])
def test_read_usage_errors(args):
    result = run("card", "read", *args)
    assert result.exit_code == 2


@pytest.mark.parametrize("command", ["show", "read"])
def test_broken_image_gives_file_and_line(command, tmp_path):
    out = tmp_path / "bad.yaml"
    assert run("card", "new", "--profile", "gen2", "--out", str(out), "--seed", "4").exit_code == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines, 1) if line.strip().startswith("0A:") and
                  len(line.split(":", 1)[1].strip()) == 32)           # the SSSE read key
    lines[number - 1] = "    0A: NOT-HEX-AT-ALL"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("card", command, str(out))
    assert result.exit_code == 2
    assert f"{out}:{number}" in result.stderr and "hex" in result.stderr
    assert "Traceback" not in result.output


def test_missing_image_exits_2(tmp_path):
    result = run("card", "show", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2 and "nope.yaml" in result.stderr


def test_card_group_is_registered():
    result = run("--help")
    assert result.exit_code == 0 and "card" in result.output
    sub = run("card", "--help")
    assert all(name in sub.output for name in ("new", "show", "read"))
