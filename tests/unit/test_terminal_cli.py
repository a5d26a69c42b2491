"""`sscard terminal …` through click's CliRunner: the §5 strings (parsed from docs/spec), -2201 with
--require-psam, PINs from --pin or the hidden prompt, and the exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from sscard.cli import cli

SPEC = (Path(__file__).resolve().parents[2] / "docs" / "spec" / "ssc-terminal.md").read_text(encoding="utf-8")
SECTION5 = SPEC[SPEC.index("\n## 5. "):SPEC.index("\n## 6. ")]


def sample(gen: str, psam: str) -> str:
    row = re.search(rf"^\| {gen} \| {psam}[^|]*\| `(.*)` \| 0 \|$", SECTION5, re.M)
    return row.group(1).replace("\\|", "|")


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["terminal", *args], input=input)


@pytest.mark.parametrize("gen,flag,psam", [("gen2", "--psam", "yes"), ("gen2", "--no-psam", "no"),
                                           ("gen3", "--psam", "yes"), ("gen3", "--no-psam", "no")])
def test_read_basic_prints_the_section5_string(gen, flag, psam):
    result = run("read-basic", "--builtin", gen, flag)
    assert result.exit_code == 0, result.output
    assert result.stdout == sample(gen, psam) + "\n"


def test_require_psam_without_psam_is_minus_2201():
    result = run("read-basic", "--builtin", "gen3", "--no-psam", "--require-psam")
    assert result.exit_code == 1
    assert "-2201 无PSAM卡" in result.stderr and result.stdout == ""


def test_read_and_write_with_the_psam():
    addr = "SSSEEF06|09|$"
    assert run("write", "--builtin", "gen3", "--psam", "--file-addr", addr, "--write-data", "SSSEEF06|李四|$").exit_code == 0
    read = run("read", "--builtin", "gen3", "--psam", "--file-addr", addr)
    assert read.exit_code == 0 and read.stdout == "SSSEEF06|张三|$\n"  # a built-in card starts afresh


def test_write_to_an_image_lasts(tmp_path):
    from simulator.samples import sample_image
    import yaml

    image = tmp_path / "card.yaml"
    image.write_text(yaml.safe_dump(sample_image("gen2"), allow_unicode=True), encoding="utf-8")
    addr = "SSSEEF06|09|$"
    assert run("write", "--image", str(image), "--psam", "--file-addr", addr, "--write-data", "SSSEEF06|李四|$").exit_code == 0
    assert run("read", "--image", str(image), "--file-addr", addr).stdout == "SSSEEF06|李四|$\n"


def test_verify_pin_from_option_and_prompt():
    assert run("verify-pin", "--builtin", "gen2", "--pin", "123456").exit_code == 0
    prompted = run("verify-pin", "--builtin", "gen2", input="123456\n")
    assert prompted.exit_code == 0 and "123456" not in prompted.output  # hidden, like a PIN pad
    wrong = run("verify-pin", "--builtin", "gen2", "--pin", "000000")
    assert wrong.exit_code == 1 and "-51 PIN校验失败，剩余次数2次" in wrong.stderr


def test_bad_parameters_exit_2_and_bad_options_are_usage_errors():
    bad = run("read", "--builtin", "gen2", "--card-info", "xyz|1|", "--file-addr", "SSSEEF05|03|$")
    assert bad.exit_code == 2 and "-20" in bad.stderr
    assert run("read-basic", "--builtin", "gen2", "--psam", "--no-psam").exit_code == 2


def test_missing_reader_is_unreachable():
    result = run("read-basic", "--reader", "no such reader here", "--no-psam")
    assert result.exit_code == 3 and "-11" in result.stderr


def test_stub_hsm_reads_gen3_without_a_psam():
    fields = sample("gen3", "yes").split("|")
    fields[9] = ""  # no PSAM: no terminal number
    result = run("read-basic", "--builtin", "gen3", "--no-psam", "--stub-hsm")
    assert result.exit_code == 0 and result.stdout == "|".join(fields) + "\n"


def test_psam_image_gives_its_terminal_number(tmp_path):
    image = tmp_path / "psam.yaml"
    image.write_text('profile: default\nterminal_number: "110100000042"\n', encoding="utf-8")
    result = run("read-basic", "--builtin", "gen2", "--psam", str(image))
    assert result.exit_code == 0 and result.stdout.split("|")[9] == "110100000042"
    broken = tmp_path / "broken.yaml"
    broken.write_text('profile: default\nterminal_number: "12"\n', encoding="utf-8")
    refused = run("read-basic", "--builtin", "gen2", "--psam", str(broken))
    assert refused.exit_code == 2 and "broken.yaml" in refused.stderr
