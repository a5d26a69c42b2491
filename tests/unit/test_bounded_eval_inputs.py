"""Issue 12, bounded evaluation of vectors, at the inputs: template results capped (at load time
where the text tells, else ERROR "cannot build" when the case runs), values cut in every message
of the vector loader and the session readers, `vectors from-session` linear in its input, a
description's files read bounded, a card's deeply nested answer checked without a crash."""

from __future__ import annotations

import copy
import os
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance import compute, sessions
from conformance.card_under_test import CardUnderTest, MissingSecret
from conformance.expect import Expectation
from conformance.from_session import to_yaml
from conformance.limits import MAX_VALUE
from conformance.runner import Runner
from conformance.transport import EmulatedTransport
from conformance.vectors import VectorError, load_suite
from conformance.verdict import Verdict
from simulator import Card
from simulator.image import Image
from simulator.samples import sample_image

HEAD = 'area: XMP\ntitle: bounded\ndefaults: {ref: ["ssc-card §4"], label: C}\ncases:\n'
TEN_MB = 10 * 1024 * 1024
OVER = f"over the limit of {MAX_VALUE} bytes (the longest extended APDU)"


def vector_file(tmp_path: Path, cases: str) -> Path:
    path = tmp_path / "x.yaml"
    path.write_text(HEAD + textwrap.indent(cases, "  "), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(VectorError) as info:
        load_suite(path)
    return [str(p) for p in info.value.problems]


def one_step(apdu: str, expect: str = '{sw: "xxxx"}', extra: str = "") -> str:
    """One case; its apdu is on line 8 of the file (9 with an `extra` field)."""
    fields = f"  {extra}\n" if extra else ""
    return f"- id: SSC.XMP.001\n  title: one step\n{fields}  steps:\n    - apdu: {apdu}\n      expect: {expect}\n"


def run_one(path: Path):
    card = Card.from_dict(copy.deepcopy(sample_image("gen2")))
    [case] = Runner(load_suite(path), EmulatedTransport(card), CardUnderTest(card.image, label="gen2")).run().cases
    return case


# --- template results capped -------------------------------------------------------------------


def test_the_pad_of_the_finding_is_refused_when_the_file_loads(tmp_path):
    path = vector_file(tmp_path, one_step('00DC0104 ${pad("00",1500000000)}'))  # 4 GB when it ran
    assert problems_of(path) == [f"{path}:8: apdu: ${{pad('00', 1500000000)}} gives 1500000000 bytes, {OVER}"]


def test_sizes_the_text_tells_add_up_when_the_file_loads(tmp_path):
    path = vector_file(tmp_path, one_step('"00D60000 00FFFF ${pad(\'00\', 40000)} ${lc(pad(\'00\', 40000))}"'))
    assert problems_of(path) == [f"{path}:8: apdu: the template gives at least {7 + 40000 + 40001} bytes, {OVER}"]
    path = vector_file(tmp_path, one_step("00" * (MAX_VALUE + 1)))
    assert problems_of(path) == [f"{path}:8: apdu: its literal hex gives {MAX_VALUE + 1} bytes, {OVER}"]


@pytest.mark.parametrize("apdu, vars_, reason", [
    ("00DC0104 ${pad('00', n)}", {"n": "100000000"},
     "cannot build the command: ${pad('00', n)}: ValueError: pad to 100000000 bytes is over the limit of 65544 bytes"),
    ("00D60000 00FFFF ${pad('00', n)}${pad('00', n)}", {"n": "40000"},
     f"cannot build the command: the template gives 80007 bytes at ${{pad('00', n)}}, {OVER}"),
    ("00D60000 00FFFF ${lc(join(pad('00', n), pad('11', n)))}", {"n": "40000"},
     "cannot build the command: ${lc(join(pad('00', n), pad('11', n)))}: ValueError: join of 80000 bytes is over "
     "the limit of 65544 bytes"),
], ids=["pad", "two pads", "join"])
def test_sizes_the_text_does_not_tell_make_the_step_error_when_it_runs(tmp_path, apdu, vars_, reason):
    extra = f"vars: {vars_}"
    case = run_one(vector_file(tmp_path, one_step(f'"{apdu}"', extra=extra)))
    assert case.verdict is Verdict.ERROR and case.reason == f"step 1: {reason}"
    assert case.steps == []  # nothing was sent


def test_an_expectation_over_the_limit_is_error_when_it_runs(tmp_path):
    path = vector_file(tmp_path, one_step("0084000008", "{sw: \"9000\", data: \"${pad('00', n)}\"}",
                                          extra='vars: {n: "1500000000"}'))
    case = run_one(path)
    assert case.verdict is Verdict.ERROR
    assert case.reason == ("step 1: cannot build the expectation: ${pad('00', n)}: ValueError: pad to 1500000000 "
                           "bytes is over the limit of 65544 bytes")


@pytest.mark.parametrize("placeholder, problem", [
    ("1" * 5000, "Exceeds the limit (4300 digits) for integer string conversion"),
    ("-" * 100_000 + "1", "nested too deep"),
    ("lc(" * 20 + "'00'" + ")" * 20, "nested deeper than 12 levels"),
], ids=["5000-digit number", "100000 minus signs", "20 nested calls"])
def test_placeholders_that_once_crashed_the_parser_are_problems(tmp_path, placeholder, problem):
    path = vector_file(tmp_path, one_step(f'"00A4 ${{{placeholder}}}"'))
    [found] = problems_of(path)
    assert found.startswith(f"{path}:8: apdu: bad placeholder ${{") and problem in found and len(found) < 400


# --- values cut in messages --------------------------------------------------------------------


@pytest.mark.parametrize("where, case, message", [
    ("apdu", one_step('"{big}"'), "bad hex: {cut}"),
    ("sw", one_step('"00A4"', '{{sw: "{big}"}}'), "bad status word pattern (4 hex digits, x = any nibble): {cut}"),
    ("id", one_step('"00A4"').replace("SSC.XMP.001", '"{big}"'), "bad id format (SSC.<AREA>.<NNN>): {cut}"),
    ("capture", one_step('"00A4"') + '      capture: {{x: "{big}"}}\n',
     "capture x: {cut} is not data, data[a:b], data[i], sw or atr"),
    ("version", one_step('"00A4"', extra='preconditions: [{{authenticate: {{key: SSSE/04, version: "{big}"}}}}]'),
     "preconditions: authenticate version {cut} is not a key version (hex 00-FF)"),
], ids=["apdu", "sw", "id", "capture", "version"])
def test_a_10_mb_item_is_not_printed_back_whole(tmp_path, where, case, message):
    big = "Z" * TEN_MB
    path = vector_file(tmp_path, case.replace("{big}", big).replace("{{", "{").replace("}}", "}"))
    [found] = problems_of(path)
    cut = "'" + "Z" * 58 + f"… ({TEN_MB} characters)"
    assert found.split(": ", 1)[1] == message.format(cut=cut)


def test_an_unknown_variable_with_a_long_name_is_cut(tmp_path):
    name = "v" * TEN_MB
    [found] = problems_of(vector_file(tmp_path, one_step(f'"00A4 ${{{name}}}"')))
    assert "'" + "v" * 58 + f"… ({TEN_MB} characters) (not captured by an earlier step" in found
    assert len(found) < 400


@pytest.mark.parametrize("text, message", [
    ("Z" * TEN_MB, "line 1: not an apdu4j trace line: '{z}… ({n} characters)"),
    ("A>> T=0 (4+0000) " + "Z" * TEN_MB, "line 1: bad hex in 'A>> T=0 (4+0000) {z17}… ({n17} characters)"),
    ("# ATR: " + "Z" * TEN_MB, "line 1: bad hex in the ATR '{z}… ({n} characters)"),
    ("0x00 0xA4 0x04 0x00 0xZZ" + "Z" * TEN_MB + ";", "line 1: not an apdutool command: '0x00 0xA4 0x04 0x00 0x{z22}"),
], ids=["apdu4j line", "apdu4j hex", "apdu4j ATR", "apdutool command"])
def test_session_readers_cut_a_10_mb_line(text, message):
    with pytest.raises(ValueError) as info:
        sessions.loads(text, "s.trace")
    expected = message.format(z="Z" * 58, n=TEN_MB, z17="Z" * 41, n17=TEN_MB + 17, z22="Z" * 36)
    assert str(info.value).startswith(expected) and len(str(info.value)) < 200


# --- vectors from-session: linear --------------------------------------------------------------


def test_from_session_of_a_large_script_of_blanks_and_comments_finishes():
    # 1 MB: the quadratic readers took minutes on this (93 s on 240 KB): each line start rescanned
    # the blank lines after it.
    filler = " \n" * 300_000 + "\t /* a note */ // and another\n" * 15_000
    text = "powerup;\n0x00 0xA4 0x04 0x00 0x02 0x3F 0x00 0x7F;\n" + filler + "0x00 0x84 0x00 0x00 0x00 0x08;\n"
    session = sessions.loads(text, "big.script")
    assert session.exchanges == [(bytes.fromhex("00A40400023F00"), b""), (bytes.fromhex("0084000008"), b"")]
    assert "apdu: \"00A40400 02 3F00\"" in to_yaml(session)


def test_an_unclosed_comment_in_a_large_script_is_an_error_with_its_line():
    text = "0x00 0x84 0x00 0x00 0x00 0x08;\n" + "\n" * 300_000 + "/* " * 100_000
    with pytest.raises(ValueError, match=r"^line 300002: comment /\* is not closed$"):
        sessions.loads(text, "big.script")


def test_from_session_cli_on_apdutool_output_after_a_megabyte_of_blank_lines(tmp_path):
    from sscard.cli import cli

    source = tmp_path / "out.txt"
    source.write_text(" \n" * 500_000 + "CLA: 00, INS: 84, P1: 00, P2: 00, Lc: 00, Le: 08, "
                      "01, 02, 03, 04, 05, 06, 07, 08, SW1: 90, SW2: 00\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["vectors", "from-session", str(source), "--out", str(tmp_path / "v.yaml")])
    assert result.exit_code == 0, result.output
    assert load_suite(tmp_path / "v.yaml").cases[0].steps[0].apdu.text == "00840000 08"


# --- a description's files: bounded, regular, inside its folder --------------------------------


def _description(tmp_path: Path, entry: str) -> compute.Context:
    image = Image({**sample_image("gen2"), "files": {"SSSE/EF08": entry}})
    image.path = tmp_path / "card" / "description.yaml"
    image.path.parent.mkdir(exist_ok=True)
    return compute.Context(CardUnderTest(image, label="described"))


@pytest.mark.parametrize("entry, problem", [
    ("/dev/zero", "is outside the description's folder"),  # read whole before: memory without end
    ("../secret.bin", "is outside the description's folder"),
    ("fifo", "is not a regular file"),  # opened before: waited for a writer for ever
])
def test_binary_reads_only_regular_files_beside_the_description(tmp_path, entry, problem):
    context = _description(tmp_path, entry)
    (tmp_path / "secret.bin").write_bytes(b"\x01" * 10)
    os.mkfifo(tmp_path / "card" / "fifo")
    with pytest.raises(MissingSecret, match=problem):
        compute.binary(context, "SSSE/EF08")


def test_binary_reads_a_file_beside_the_description_up_to_the_ef_size(tmp_path):
    context = _description(tmp_path, "photo.bin")
    (tmp_path / "card" / "photo.bin").write_bytes(b"\xAB" * 100_000)  # more than EF08's 8192 bytes
    assert compute.binary(context, "SSSE/EF08") == b"\xAB" * 8192


# --- a card's answer nested too deep -----------------------------------------------------------


def test_an_answer_of_constructed_objects_nested_2000_deep_is_a_mismatch_not_a_crash():
    data = b"\x84\x00"
    for _ in range(2000):
        data = b"\x30\x82" + len(data).to_bytes(2, "big") + data
    outcome = Expectation.from_dict({"sw": "9000", "tlv": {"84": None}}).check(0x9000, data, {}, {})
    assert not outcome.ok
    assert "data is not BER-TLV: constructed objects nested too deep" in outcome.mismatches
