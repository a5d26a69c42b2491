"""Vector loading: every mistake is reported as file:line: what, all at once, and nothing runs."""

from __future__ import annotations

import textwrap

import pytest
from click.testing import CliRunner

from conformance.vectors import DEFAULT_VECTORS, VectorError, load_suite

GOOD_CASE = """\
  - id: SSC.XMP.{n:03d}
    title: case {n}
    steps:
      - apdu: 00A4040C 0F 7378312E73682EC9E7BBE1B1A3D5CF
        expect: {{sw: "9000"}}
"""


def write(tmp_path, text: str, name: str = "x.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path) -> list[str]:
    with pytest.raises(VectorError) as info:
        load_suite(path)
    return [str(p) for p in info.value.problems]


HEAD = """\
area: XMP
defaults: {ref: ["ssc-card §4.5"], label: C}
cases:
"""


def test_project_vectors_load():
    suite = load_suite(DEFAULT_VECTORS)
    ids = [c.id for c in suite.cases]
    assert "SSC.SEL.001" in ids and "SSC.TRN.001" in ids
    assert len(ids) == len(set(ids))
    assert len(suite.version) == 16 and all(len(h) == 64 for h in suite.hashes().values())


def test_good_file_builds_cases(tmp_path):
    path = write(tmp_path, HEAD + GOOD_CASE.format(n=1) + GOOD_CASE.format(n=2))
    suite = load_suite(path)
    assert [c.id for c in suite.cases] == ["SSC.XMP.001", "SSC.XMP.002"]
    case = suite.cases[0]
    assert case.ref == ["ssc-card §4.5"] and case.labels == ["C"]  # from defaults
    assert case.steps[0].apdu.render({}, {}) == bytes.fromhex("00A4040C0F7378312E73682EC9E7BBE1B1A3D5CF")
    assert case.steps[0].line == 7


def test_bad_hex_names_file_and_line(tmp_path):
    text = HEAD + GOOD_CASE.format(n=1) + """\
  - id: SSC.XMP.002
    title: bad hex
    steps:
      - apdu: 00A4 04ZZ
        expect: {sw: "9000"}
"""
    path = write(tmp_path, text)
    found = problems_of(path)
    assert found == [f"{path}:12: bad hex: '00A4 04ZZ'"]


def test_odd_hex_digit_count_is_bad_hex(tmp_path):
    path = write(tmp_path, HEAD + GOOD_CASE.format(n=1).replace("expect: {sw: \"9000\"}", "expect: {sw: \"9000\", data: 123}"))
    assert any(":8: expect.data: bad hex: odd number of digits" in p for p in problems_of(path))


def test_unknown_field_names_the_field_and_its_line(tmp_path):
    text = HEAD + """\
  - id: SSC.XMP.001
    title: typo
    steps:
      - apdu: "0084000008"
        exepct: {sw: "9000"}
"""
    path = write(tmp_path, text)
    found = problems_of(path)
    assert f"{path}:8: unknown field 'exepct' (allowed: apdu, capture, expect, reset, title, transport)" in found
    assert f"{path}:7: missing expectation: a step with an apdu needs expect: {{sw: ...}}" in found


def test_missing_expectation_and_missing_sw(tmp_path):
    text = HEAD + """\
  - id: SSC.XMP.001
    title: no expect
    steps:
      - apdu: "0084000008"
      - apdu: "0084000008"
        expect: {length: 8}
"""
    path = write(tmp_path, text)
    found = problems_of(path)
    assert f"{path}:7: missing expectation: a step with an apdu needs expect: {{sw: ...}}" in found
    assert f"{path}:9: missing expectation: a step with an apdu needs expect: {{sw: ...}}" in found


def test_every_problem_of_every_file_at_once(tmp_path):
    first = write(tmp_path, HEAD + """\
  - id: SSC.XMP.1
    title: bad id
    steps:
      - apdu: ${nosuch(1)}
        expect: {sw: 90000}
""", "a.yaml")
    second = write(tmp_path, HEAD.replace("XMP", "YYY") + """\
  - id: SSC.YYY.001
    title: unknown variable, bad capture
    steps:
      - apdu: 0082000410 ${ext_auth("04", chalenge)}
        expect: {sw: "9000"}
        capture: {c: "data[0:8", d: data}
""", "b.yaml")
    found = problems_of(tmp_path)
    assert f"{first}:4: bad id format (SSC.<AREA>.<NNN>): 'SSC.XMP.1'" in found
    assert any(p.startswith(f"{first}:7: unknown computed function 'nosuch'") for p in found)
    assert f"{first}:8: bad status word pattern (4 hex digits, x = any nibble): '90000'" in found
    assert any(p.startswith(f"{second}:7: unknown variable 'chalenge'") for p in found)
    assert any(p.startswith(f"{second}:9: capture c: 'data[0:8'") for p in found)
    assert len(found) == 5


def test_duplicate_id_across_files(tmp_path):
    first = write(tmp_path, HEAD + GOOD_CASE.format(n=1), "a.yaml")
    second = write(tmp_path, HEAD + GOOD_CASE.format(n=1), "b.yaml")
    assert problems_of(tmp_path) == [f"{second}:4: duplicate id SSC.XMP.001 (first at {first}:4)"]


def test_id_must_belong_to_the_file_area(tmp_path):
    path = write(tmp_path, HEAD + GOOD_CASE.format(n=1).replace("SSC.XMP", "SSC.SEL"))
    assert problems_of(path) == [f"{path}:4: id SSC.SEL.001 is not in this file's area XMP (expected SSC.XMP.NNN)"]


def test_wrong_arity_of_a_computed_function(tmp_path):
    path = write(tmp_path, HEAD + GOOD_CASE.format(n=1).replace("00A4040C 0F 7378312E73682EC9E7BBE1B1A3D5CF", "${mac()}"))
    assert problems_of(path) == [f"{path}:7: mac(): missing a required argument: 'key'"]


def test_unsafe_placeholder_is_refused(tmp_path):
    path = write(tmp_path, HEAD + GOOD_CASE.format(n=1).replace("00A4040C 0F 7378312E73682EC9E7BBE1B1A3D5CF", "${pin.__class__}"))
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:7: apdu: bad placeholder") and "not allowed" in problem


def test_applicability_with_unknown_variable(tmp_path):
    text = HEAD + GOOD_CASE.format(n=1).replace("    steps:", "    applies: \"gen >= 2\"\n    steps:")
    path = write(tmp_path, text)
    assert problems_of(path) == [f"{path}:6: applies: unknown variable 'gen' (known: generation, transport, features, target)"]


def test_project_decision_cited_needs_a_pd_label(tmp_path):
    text = HEAD + GOOD_CASE.format(n=1).replace("    steps:", "    ref: [\"ssc-card §4.2\", \"PD-04\"]\n    steps:")
    path = write(tmp_path, text)
    assert problems_of(path) == [f"{path}:6: ref cites PD-04: label the case PD (spec §0.1)"]


def test_captured_variable_is_known_to_later_steps_only(tmp_path):
    text = HEAD + """\
  - id: SSC.XMP.001
    title: capture order
    steps:
      - apdu: 00B0 ${later}
        expect: {sw: "9000"}
      - apdu: "0084000008"
        expect: {sw: "9000"}
        capture: {later: "data[0:1]"}
      - apdu: 00B0 ${later} 00
        expect: {sw: "9000"}
"""
    path = write(tmp_path, text)
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:7: unknown variable 'later'")


def test_yaml_syntax_error_and_duplicate_key(tmp_path):
    broken = write(tmp_path, "area: XMP\ncases: [\n", "a.yaml")
    doubled = write(tmp_path, HEAD + GOOD_CASE.format(n=1) + "    title: again\n", "b.yaml")
    found = problems_of(tmp_path)
    assert any(p.startswith(f"{broken}:3: YAML syntax") for p in found)
    assert f"{doubled}:9: duplicate key 'title'" in found


def test_hex_fields_keep_their_text(tmp_path):
    # `sw: 9000`, `apdu: 0084000008` and `key: 04` are digits to YAML; they must stay hex text.
    text = HEAD + """\
  - id: SSC.XMP.001
    title: digits
    preconditions: [reset, {authenticate: {key: 04}}]
    steps:
      - apdu: 0084000008
        expect: {sw: 9000, length: 8}
"""
    case = load_suite(write(tmp_path, text)).cases[0]
    assert case.steps[0].apdu.render({}, {}) == bytes.fromhex("0084000008")
    assert case.steps[0].expect.sw == ("9000",) and case.steps[0].expect.length == (8, 8)
    assert case.preconditions[1].arg == {"key": "04", "version": 1}


def test_broken_suite_does_not_run(tmp_path):
    from sscard.cli import cli

    path = write(tmp_path, HEAD + GOOD_CASE.format(n=1).replace("9000", "90G0"))
    result = CliRunner().invoke(cli, ["run", "--builtin", "gen2", "--vectors", str(path),
                                      "--reports", str(tmp_path / "reports")])
    assert result.exit_code == 2
    assert f"{path}:8: bad status word pattern" in result.output
    assert not (tmp_path / "reports").exists()  # no card was opened, no report written
