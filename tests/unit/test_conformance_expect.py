"""Expectations (each kind, met and missed), templates, applicability and -k selection."""

from __future__ import annotations

import pytest

from conformance.applicability import Applicability, ApplicabilityError
from conformance.expect import Expectation, ExpectationError, diff_positions
from conformance.selection import Selection, SelectionError
from conformance.template import TemplateError, parse

FCI = bytes.fromhex("6F16840F7378312E73682EC9E7BBE1B1A3D5CFA50388010B")


def check(spec: dict, sw: int | None, data: bytes = b"", variables=None, functions=None):
    return Expectation.from_dict(spec).check(sw, data, variables or {}, functions or {})


@pytest.mark.parametrize("pattern, sw, ok", [
    ("9000", 0x9000, True), ("9000", 0x6A82, False),
    ("63Cx", 0x63C2, True), ("63Cx", 0x6300, False),
    ("61xx", 0x6118, True), ("6cxx", 0x6C0B, True),
    (["9000", "6283"], 0x6283, True), (["9000", "6283"], 0x9303, False),
])
def test_status_word(pattern, sw, ok):
    outcome = check({"sw": pattern}, sw)
    assert outcome.ok is ok
    if not ok:
        assert outcome.mismatches[0].startswith(f"SW {sw:04X}, expected")


def test_no_status_word_is_a_mismatch():
    assert not check({"sw": "9000"}, None).ok


def test_exact_data_marks_the_differing_bytes():
    assert check({"sw": "9000", "data": FCI.hex()}, 0x9000, FCI).ok
    wrong = FCI[:20] + b"\x0C" + FCI[21:]
    outcome = check({"sw": "9000", "data": FCI.hex()}, 0x9000, wrong)
    assert outcome.mismatches == ["data differs from expected (24 bytes, expected 24)"]
    assert outcome.differing == [20]
    assert outcome.expected["data"] == FCI.hex().upper()


def test_empty_data_expectation():
    assert check({"sw": "9000", "data": ""}, 0x9000, b"").ok
    assert not check({"sw": "9000", "data": ""}, 0x9000, b"\x00").ok


def test_mask():
    spec = {"sw": "9000", "mask": {"value": "0110000000D156000005", "mask": "FFFF000000FFFFFFFFFF"}}
    card_id = bytes.fromhex("0110440300D156000005")
    assert check(spec, 0x9000, card_id).ok
    outcome = check(spec, 0x9000, bytes.fromhex("0110440300D156000006"))
    assert not outcome.ok and outcome.differing == [9]
    longer = check(spec, 0x9000, card_id + b"\x00")
    assert longer.mismatches == ["data has 11 bytes, the masked value 10"] and longer.differing == [10]


def test_mask_of_another_length_is_refused():
    with pytest.raises(ExpectationError, match="same length"):
        Expectation.from_dict({"sw": "9000", "mask": {"value": "0102", "mask": "FF"}})


def test_regex_and_length():
    record = bytes.fromhex("0709413031323334353632")
    assert check({"sw": "9000", "regex": "^0709[0-9A-F]{18}$", "length": 11}, 0x9000, record).ok
    outcome = check({"sw": "9000", "regex": "^0708", "length": {"min": 12, "max": 20}}, 0x9000, record)
    assert outcome.mismatches == ["data does not match regex '^0708'", "data length 11, expected 12..20"]


def test_bad_regex_is_refused():
    with pytest.raises(ExpectationError, match="bad regex"):
        Expectation.from_dict({"sw": "9000", "regex": "(["})


def test_tlv_by_tag_and_by_path():
    spec = {"sw": "9000", "tlv": {"84": "7378312E73682EC9E7BBE1B1A3D5CF", "6F/A5/88": "0B", "A5": None}}
    assert check(spec, 0x9000, FCI).ok
    outcome = check({"sw": "9000", "tlv": {"6F/A5/88": "10", "6F/50": None}}, 0x9000, FCI)
    assert outcome.mismatches == ["TLV 6F/A5/88 = 0B, expected 10", "TLV 6F/50 missing"]


def test_tlv_on_data_that_is_not_tlv():
    outcome = check({"sw": "9000", "tlv": {"84": None}}, 0x9000, bytes.fromhex("6F20"))
    assert any("not BER-TLV" in m for m in outcome.mismatches)


def test_computed_expected_data():
    spec = {"sw": "9000", "data": "0110 ${cardid} ${tag(cardid)}"}
    functions = {"tag": lambda b: b[:4]}
    cardid = bytes.fromhex("440300D1560000055A3C1E02")
    good = bytes.fromhex("0110") + cardid + cardid[:4]
    assert check(spec, 0x9000, good, {"cardid": cardid}, functions).ok
    assert not check(spec, 0x9000, good[:-1] + b"\x00", {"cardid": cardid}, functions).ok


def test_diff_positions_counts_missing_and_extra_bytes():
    assert diff_positions(b"\x01\x02", b"\x01\x02\x03") == [2]
    assert diff_positions(b"\x01\x02\x03", b"\x01") == [1, 2]
    assert diff_positions(b"\x01\x02", b"\x01\x03", mask=b"\xFF\x00") == []


def test_template_literal_spaces_slices_and_calls():
    template = parse("00B2 ${n} 2C ${c[0:2]} ${f('AB', c)}")
    assert template.names() == {"n", "c"} and template.functions() == {"f"}
    rendered = template.render({"n": "01", "c": b"\x11\x22\x33"}, {"f": lambda a, b: bytes.fromhex(a) + b[-1:]})
    assert rendered == bytes.fromhex("00B2012C1122AB33")


def test_template_slice_of_a_call():
    template = parse("${f('0A', c)[0:2]}")
    assert template.render({"c": b"\x11\x22\x33"}, {"f": lambda key, c: c}) == b"\x11\x22"


@pytest.mark.parametrize("text, message", [
    ("00A4 0G", "bad hex"), ("00A4 5", "odd number"), ("${__import__('os')}", "not allowed"),
    ("${a.b}", "not allowed"), ("${1 + 2}", "not allowed"), ("${x[0]()}", "call a function by its name"),
])
def test_template_refuses(text, message):
    with pytest.raises(TemplateError, match=message):
        parse(text)


def test_template_variable_without_value():
    with pytest.raises(TemplateError, match="'challenge' has no value"):
        parse("${challenge}").render({}, {})


@pytest.mark.parametrize("text, context, expected", [
    ("generation >= 2 and transport == 't0'", {"generation": 2, "transport": "t0", "features": frozenset()}, True),
    ("generation >= 2 and transport == 't0'", {"generation": 1, "transport": "t0", "features": frozenset()}, False),
    ("'pki' in features", {"generation": 3, "transport": "t1", "features": frozenset({"pki"})}, True),
    ("not ('pki' in features) or generation in (1, 2)", {"generation": 3, "transport": "t1", "features": frozenset()}, True),
    ("1 <= generation < 3", {"generation": 3, "transport": "t0", "features": frozenset()}, False),
])
def test_applicability(text, context, expected):
    assert Applicability(text).evaluate(context) is expected


@pytest.mark.parametrize("text", ["__import__('os').system('true')", "generation.bit_length()",
                                  "[x for x in features]", "lambda: 1", "gen == 1", "generation + 1 > 2"])
def test_applicability_refuses_code(text):
    with pytest.raises(ApplicabilityError):
        Applicability(text)


@pytest.mark.parametrize("expression, chosen", [
    ("SEL", {"SSC.SEL.001", "SSC.SEL.002"}),
    ("SEL and not 002", {"SSC.SEL.001"}),
    ("fci or buffer", {"SSC.SEL.001", "SSC.TRN.001"}),
    ("(trn or sel) and not (fci or name)", {"SSC.TRN.001"}),
    ("", {"SSC.SEL.001", "SSC.SEL.002", "SSC.TRN.001"}),
])
def test_selection(expression, chosen):
    cases = {"SSC.SEL.001": "SELECT by name returns the FCI", "SSC.SEL.002": "SELECT by name with P2 0C",
             "SSC.TRN.001": "GET RESPONSE buffer"}
    selection = Selection(expression)
    assert {i for i, t in cases.items() if selection.matches(i, t)} == chosen


@pytest.mark.parametrize("expression", ["SEL and", "(SEL", "and SEL", "SEL )"])
def test_selection_syntax_errors(expression):
    with pytest.raises(SelectionError):
        Selection(expression)
