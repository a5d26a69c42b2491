"""Regressions from fuzzing the readers of outside files (fuzz/fuzz_loaders.py): each input here
once made a reader raise something other than its documented error (or made a case crash)."""

from __future__ import annotations

import json
import re
import textwrap

import pytest
from click.testing import CliRunner

from conformance import sessions
from conformance.card_under_test import CardUnderTest
from conformance.from_session import to_yaml
from conformance.reports import html, json_report, junit
from conformance.runner import Runner
from conformance.recording import Session
from conformance.transport import EmulatedTransport
from conformance.vectors import DEFAULT_VECTORS, VectorError, load_suite
from conformance.verdict import Verdict
from simulator import Card

HEAD = """\
area: XMP
title: regressions
defaults: {ref: ["ssc-card §4.5"], label: C}
cases:
"""


def vector_file(tmp_path, cases: str, head: str = HEAD):
    path = tmp_path / "x.yaml"
    path.write_text(head + textwrap.indent(textwrap.dedent(cases), "  "), encoding="utf-8")
    return path


def problems_of(path) -> list[str]:
    with pytest.raises(VectorError) as info:
        load_suite(path)
    return [str(p) for p in info.value.problems]


# --- vector files: only VectorError ------------------------------------------------------------


def test_mask_without_its_mask_field_is_a_problem_not_a_key_error(tmp_path):
    # fuzz: `mask: {value: ..., mask:mple ...}` is one key "mask:mple ..." with no value, so the
    # expectation had no "mask" field; the schema said so, then building it raised KeyError.
    path = vector_file(tmp_path, """\
        - id: SSC.XMP.001
          title: mask
          steps:
            - apdu: 00A40400 0C 504B492EC9E7BBE1B1A3D5CF
              expect:
                sw: "9000"
                mask: {value: 6F0E, mask:mple exchanges oFFFF}
        """)
    found = problems_of(path)
    assert f"{path}:11: missing field 'mask'" in found, found


@pytest.mark.parametrize("where, body", [
    ("cases is a number", None),
    ("length is text", 'expect: {sw: "9000", length: "x"}'),
    ("tlv is a list", 'expect: {sw: "9000", tlv: [1]}'),
    ("regex is a number", 'expect: {sw: "9000", regex: 5}'),
    ("mask is a list", 'expect: {sw: "9000", mask: [1, 2]}'),
])
def test_schema_invalid_shapes_are_problems_not_crashes(tmp_path, where, body):
    if body is None:
        path = tmp_path / "x.yaml"
        path.write_text(HEAD.replace("cases:\n", "cases: 5\n"), encoding="utf-8")
    else:
        path = vector_file(tmp_path, f"""\
            - id: SSC.XMP.001
              title: {where}
              steps:
                - apdu: 00A4040C 0F 7378312E73682EC9E7BBE1B1A3D5CF
                  {body}
            """)
    assert problems_of(path), where


@pytest.mark.parametrize("key, value", [
    ("vars", "[a, b]"),
    # schema-valid (version is text or a number) but not a version byte: int("zz", 16) raised
    ("preconditions", "[{authenticate: {key: '04', version: zz}}]"),
    ("preconditions", "[{authenticate: {key: '04', version: 300}}]"),  # would crash the case: bytes([0x300])
])
def test_bad_case_fields_are_problems_not_crashes(tmp_path, key, value):
    path = vector_file(tmp_path, f"""\
        - id: SSC.XMP.001
          title: {key}
          {key}: {value}
          steps:
            - apdu: 00A4040C 0F 7378312E73682EC9E7BBE1B1A3D5CF
              expect: {{sw: "9000"}}
        """)
    found = problems_of(path)
    assert any(p.startswith(f"{path}:7:") for p in found), found
    if key == "preconditions":
        assert any("is not a key version (hex 00-FF)" in p for p in found), found


@pytest.mark.parametrize("text", [
    "".join(" " * i + "- \n" for i in range(950)),  # block nesting libyaml accepts (< 1000 levels)
    "area: XMP\ndefaults: {preconditions: " + "[" * 900 + "]" * 900 + "}\ncases: []\n",
])
def test_deep_yaml_nesting_is_a_problem_not_a_recursion_error(tmp_path, text):
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    found = problems_of(path)
    assert len(found) == 1 and re.fullmatch(rf"{re.escape(str(path))}:\d+: YAML nested too deep.*", found[0]), found[:3]


def test_the_project_vectors_still_load():
    assert len(load_suite().cases) > 200


# --- a case the loader accepted: an expression that does not fit its values is ERROR, not a crash


def run_one(tmp_path, steps: str):
    path = vector_file(tmp_path, "- id: SSC.XMP.001\n  title: computed\n  steps:\n" + textwrap.indent(steps, "    "))
    card = Card.builtin("gen3")
    result = Runner(load_suite(path), EmulatedTransport(card), CardUnderTest(card.image, label="gen3")).run()
    return result.cases[0]


def test_unknown_df_in_fci_is_an_error_of_the_vector_not_an_internal_error(tmp_path):
    # fuzz: `data: '${fci("SS1E")}'` loaded (fci takes one argument) and crashed the case: KeyError
    case = run_one(tmp_path, """\
        - apdu: 00A40400 0F 7378312E73682EC9E7BBE1B1A3D5CF
          expect: {sw: "61xx", data: '${fci("SS1E")}'}
        """)
    assert case.verdict is Verdict.ERROR
    assert case.reason.startswith("step 1: cannot build the expectation: ${fci('SS1E')}: KeyError"), case.reason


@pytest.mark.parametrize("apdu", ["'00B0 ${generation[0:1]} 00 00'", "'00B0 ${-pin} 00'", "'00B00000 ${ascii(\"A\")[5]}'"])
def test_expression_that_does_not_fit_its_values_is_an_error(tmp_path, apdu):
    case = run_one(tmp_path, f"- apdu: {apdu}\n  expect: {{sw: \"9000\"}}\n")
    assert case.verdict is Verdict.ERROR and "cannot build the command: ${" in case.reason, case.reason
    assert "internal error" not in case.reason


# --- sessions: only ValueError; from-session writes vector files that load ---------------------


SCRIPT_WITHOUT_COMMANDS = "powerup;\n// 0x00 0xA4 0x04 0x00 0x02 0xEF 0x05 0x7F;\npowerdown;\n"


def test_from_session_of_a_session_without_exchanges_is_a_value_error(tmp_path):
    # fuzz: an apdutool script whose only command is commented out gave `cases:` with nothing under it
    session = sessions.loads(SCRIPT_WITHOUT_COMMANDS, "empty.script")
    assert session.exchanges == []
    with pytest.raises(ValueError, match="no exchanges"):
        to_yaml(session)
    with pytest.raises(ValueError, match="no exchanges"):
        to_yaml(Session(exchanges=[None, None]))  # resets only


def test_vectors_from_session_cli_refuses_an_empty_recording(tmp_path):
    from sscard.cli import cli

    script = tmp_path / "empty.script"
    script.write_text(SCRIPT_WITHOUT_COMMANDS, encoding="utf-8")
    out = tmp_path / "out.yaml"
    result = CliRunner().invoke(cli, ["vectors", "from-session", str(script), "--out", str(out)])
    assert result.exit_code != 0 and "no exchanges" in result.output and not out.exists()


def test_from_session_output_of_a_real_session_still_loads(tmp_path):
    text = '[["00A404000F7378312E73682EC9E7BBE1B1A3D5CF", "6118"], ["00C0000018", "6F169000"]]'
    path = tmp_path / "g.yaml"
    path.write_text(to_yaml(sessions.loads(text, "s.json")), encoding="utf-8")
    assert len(load_suite(path).cases) == 1


def test_deeply_nested_json_session_is_a_value_error():
    with pytest.raises(ValueError, match="nested too deep"):
        sessions.loads("[" * 5000)


# --- JSON reports: only ValueError; what loads renders again -----------------------------------


@pytest.fixture(scope="module")
def report_doc():
    card = Card.builtin("gen2")
    suite = load_suite([DEFAULT_VECTORS / "select.yaml"])
    result = Runner(suite, EmulatedTransport(card), CardUnderTest(card.image, label="gen2"), selection="001 or 004").run()
    return json.loads(json.dumps(json_report.to_dict(result)))


def write_report(tmp_path, doc) -> str:
    path = tmp_path / "r.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


def first_step(doc) -> dict:
    return next(c for c in doc["cases"] if c["steps"])["steps"][0]


BROKEN = {
    # fuzz: an exchange without its "kind" raised KeyError
    "exchange without kind": lambda d: first_step(d)["exchanges"][0].pop("kind"),
    "cases is a mapping": lambda d: d.update(cases={"a": 1}),
    "a case is text": lambda d: d["cases"].append("SSC.SEL.001"),
    "step without phase": lambda d: first_step(d).pop("phase"),
    "expected sw is a number": lambda d: first_step(d)["expected"].update(sw=9000),
    "expected is a list": lambda d: first_step(d).update(expected=[1]),
    # fuzz (structure-aware): loaded, then the HTML report crashed on bytes.fromhex(None)
    "expected data is null": lambda d: first_step(d)["expected"].update(data=None),
    "reason is a list": lambda d: d["cases"][0].update(reason=["x"]),
    "index is Infinity": lambda d: first_step(d).update(index=float("inf")),
    "differing holds text": lambda d: first_step(d).update(differing=["a"]),
    "summary is a list": lambda d: d.update(summary=[1]),
    "card atr is a number": lambda d: d["provenance"]["card"].update(atr=5),
}
COMBINED_ONLY = {  # summary.cards is read by load_json_reports only
    "cards are numbers": lambda d: d["summary"].update(cards=[1, 2]),
    "card provenances are text": lambda d: d.update(summary={**d["summary"], "cards": ["gen2"]},
                                                    provenance={"cards": ["x"]}),
}


@pytest.mark.parametrize("what", sorted(BROKEN) + sorted(COMBINED_ONLY))
def test_report_of_the_wrong_shape_is_a_value_error(tmp_path, report_doc, what):
    doc = json.loads(json.dumps(report_doc))
    (BROKEN.get(what) or COMBINED_ONLY[what])(doc)
    path = write_report(tmp_path, doc)
    readers = [json_report.load_json_reports] + ([json_report.load_json_report] if what in BROKEN else [])
    for reader in readers:
        with pytest.raises(ValueError, match="not an sscard JSON report"):
            reader(path)


def test_deeply_nested_report_is_a_value_error(tmp_path):
    path = write_report(tmp_path, '{"cases": ' + "[" * 5000)
    with pytest.raises(ValueError, match="nested too deep"):
        json_report.load_json_report(path)


def test_a_report_as_written_loads_and_renders_again(tmp_path, report_doc):
    path = write_report(tmp_path, report_doc)
    result = json_report.load_json_report(path)
    assert [c.case_id for c in result.cases] == [c["id"] for c in report_doc["cases"]]
    assert "SSC.SEL.001" in html.render([result]) and junit.to_element([result]).get("tests") == str(len(result.cases))
    assert json_report.to_dict(result)["cases"] == report_doc["cases"]
