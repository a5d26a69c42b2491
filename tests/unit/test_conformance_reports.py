"""Report writers: the JSON contract (and reopening it), JUnit mapping, the HTML diff marks, the
apdu4j trace round trip, apdutool scripts and output."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from conformance.card_under_test import CardUnderTest
from conformance.reports import apdu4j, apdutool, html, json_report, junit
from conformance.runner import Runner
from conformance.sessions import ReplayTransport
from conformance.transport import EmulatedTransport
from conformance.vectors import DEFAULT_VECTORS, load_suite
from conformance.verdict import CaseResult, StepResult, SuiteResult, Verdict
from simulator import Card
from simulator.samples import sample_image

# The framework's own example vectors (the full suite is tested by vectors check).
EXAMPLES = [DEFAULT_VECTORS / "select.yaml", DEFAULT_VECTORS / "transport.yaml"]


@pytest.fixture(scope="module")
def results():
    """A real run on a card with a defect (FAILs) and a synthetic run with every other verdict."""
    suite = load_suite(EXAMPLES)
    card = Card.from_dict({**sample_image("gen2"), "defects": ["fci-without-dir"]})
    real = Runner(suite, EmulatedTransport(card), CardUnderTest(card.image, label="gen2")).run()
    step = StepResult("step", 0, "GET CHALLENGE", Verdict.ERROR, bytes.fromhex("0084000008"), None, {"sw": ["9000"]},
                      reason="reader unavailable")
    synthetic = SuiteResult("other", [
        CaseResult("SSC.XMP.001", "passes", ["ssc-card §4.10"], ["C"], Verdict.PASS),
        CaseResult("SSC.XMP.002", "tool failed", ["ssc-card §4.10"], ["C"], Verdict.ERROR, "reader unavailable", steps=[step]),
        CaseResult("SSC.XMP.003", "not for this card", ["ssc-card §4.10"], ["C"], Verdict.NOT_APPLICABLE, "needs generation 3; this card is generation 2"),
        CaseResult("SSC.XMP.004", "undecided", ["ssc-card §4.10"], ["C"], Verdict.INCONCLUSIVE, "card removed"),
    ], {"tool": {"version": "0"}, "started": "2025-01-01T00:00:00+00:00"})
    return real, synthetic


def test_json_report_follows_the_contract(results, tmp_path):
    real, _ = results
    path = tmp_path / "r.json"
    json_report.write(real, path)
    doc = json.loads(path.read_text())
    assert list(doc)[:2] == ["format", "provenance"]  # provenance leads
    assert {"cases", "summary", "provenance"} <= set(doc)
    for case in doc["cases"]:
        assert {"id", "verdict", "title", "ref", "duration", "steps", "reason"} <= set(case)
        assert case["verdict"] in {"PASS", "FAIL", "INCONCLUSIVE", "NOT_APPLICABLE", "ERROR"}
    failed = next(c for c in doc["cases"] if c["id"] == "SSC.SEL.001")
    assert failed["verdict"] == "FAIL"
    step = failed["steps"][-1]
    assert step["expected"]["data"] == "6F16840F7378312E73682EC9E7BBE1B1A3D5CFA50388010B"
    assert step["actual"]["sw"] == "9000" and step["actual"]["data"].startswith("6F11")
    assert step["differing"] and step["sw_meaning"] == "success"
    summary = doc["summary"]
    assert summary["FAIL"] >= 1 and summary["verdict"] == "FAIL" and summary["ok"] is False
    assert summary["total"] == len(doc["cases"])
    provenance = doc["provenance"]
    assert provenance["card"]["atr"] == "3B6D00000081005353430244035A3C1E02"
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in provenance["suite"]["files"].values())
    assert re.fullmatch(r"[0-9a-f]{64}", provenance["card"]["image_sha256"])
    assert provenance["started"] <= provenance["ended"]


def test_json_report_reopens(results, tmp_path):
    real, _ = results
    path = tmp_path / "r.json"
    json_report.write(real, path)
    again = json_report.load_json_report(path)
    assert [(c.case_id, c.verdict) for c in again.cases] == [(c.case_id, c.verdict) for c in real.cases]
    assert again.cases[0].steps[-1].response == real.cases[0].steps[-1].response
    assert again.counts() == real.counts() and again.provenance == real.provenance
    assert again.trace.atr == real.trace.atr and again.trace.exchanges()


def test_junit_mapping(results, tmp_path):
    real, synthetic = results
    path = tmp_path / "junit.xml"
    junit.write([real, synthetic], path)
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites" and len(root.findall("testsuite")) == 2
    cases = {c.get("name").split()[0]: c for c in root.iter("testcase")}
    assert cases["SSC.SEL.001"].find("failure") is not None
    assert cases["SSC.SEL.001"].find("failure").get("type") == "FAIL"
    assert cases["SSC.XMP.002"].find("error").get("message") == "reader unavailable"
    assert cases["SSC.XMP.003"].find("skipped").get("message").startswith("NOT_APPLICABLE")
    assert cases["SSC.XMP.004"].find("skipped").get("message") == "INCONCLUSIVE: card removed"
    assert not list(cases["SSC.XMP.001"])  # a PASS has no child elements
    other = root.findall("testsuite")[1]
    assert (other.get("tests"), other.get("failures"), other.get("errors"), other.get("skipped")) == ("4", "0", "1", "2")
    assert int(root.get("failures")) == real.counts()["FAIL"]


def test_html_marks_the_differing_bytes_and_is_self_contained(results, tmp_path):
    real, synthetic = results
    path = tmp_path / "r.html"
    html.write([real, synthetic], path)
    page = path.read_text()
    # The defect drops the A5 template: the length byte 16 -> 11 is the first difference.
    assert "6F<mark class='diff'>16</mark>" in page and "6F<mark class='diff'>11</mark>" in page
    assert "security status not satisfied" in page or "success" in page  # SW meanings
    assert "84 (15)" in page  # decoded TLV of the actual answer
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", page) and not re.search(r"<script[^>]*src", page)
    assert page.count("<html") == 1
    assert page.index("provenance: gen2") < page.index("id='failures'")  # the page starts with provenance
    assert real.provenance["suite"]["version"] in page


def test_marked_hex():
    assert html.marked_hex(b"\x01\x02\x03", [1]) == "01<mark class='diff'>02</mark>03"


def test_apdu4j_log_round_trip(results):
    real, _ = results
    text = apdu4j.dumps(real.trace)
    assert text.startswith("# Generated on") and "# ATR: 3B6D00000081005353430244035A3C1E02" in text
    assert "A>> T=0 (4+0015) 00A40400 0F 7378312E73682EC9E7BBE1B1A3D5CF" in text
    assert re.search(r"^A<< \(0000\+2\) \([\d.]+ms\) 6118$", text, re.M)
    assert "# auto GET RESPONSE: 6118 -> 00C0000018" in text
    session = apdu4j.loads(text)
    recorded = [(e.command, e.response) for e in real.trace.exchanges()]
    assert [e for e in session.exchanges if e is not None] == recorded
    assert session.exchanges.count(None) == sum(1 for e in real.trace.entries if e.kind == "reset")
    assert session.atr == real.trace.atr and session.protocol == "T=0"


def test_apdu4j_trace_starts_with_provenance(results):
    real, _ = results
    text = apdu4j.dumps(real.trace, provenance=real.provenance)
    head = text.split("\nA>>")[0]
    assert f"# sscard suite {real.provenance['suite']['version']}" in head
    assert f"sha256 {real.provenance['card']['image_sha256']}" in head
    assert apdu4j.loads(text).exchanges == apdu4j.loads(apdu4j.dumps(real.trace)).exchanges


def test_apdu4j_dump_style_round_trip_replays(results):
    real, _ = results
    session = apdu4j.loads(apdu4j.dumps(real.trace, style="dump"))
    replay = ReplayTransport(session)
    first = real.trace.exchanges()[0]
    replay.reset()
    assert replay.transmit(first.command) == first.response


def test_apdu4j_format_details():
    assert apdu4j.format_command(bytes.fromhex("00B2072C0B"), "T=1") == "A>> T=1 (4+0000) 00B2072C 0B"
    assert apdu4j.format_command(bytes.fromhex("00A40000023F00"), "T=1") == "A>> T=1 (4+0002) 00A40000 02 3F00"
    assert apdu4j.format_command(bytes.fromhex("0088000110" + "A1" * 16 + "08"), "T=1").endswith(" 08")
    assert apdu4j.format_response(bytes.fromhex("6A82"), 0.012) == "A<< (0000+2) (12ms) 6A82"
    assert apdu4j.format_response(bytes.fromhex("01029000"), 1.5) == "A<< (0002+2) (1s500ms) 0102 9000"
    # apdu4j itself prints a trailing space after a case-2 Le; the reader takes both.
    session = apdu4j.loads("A>> T=0 (4+0000) 00C00000 18 \nA<< (0002+2) (3ms) 0102 9000\n")
    assert session.exchanges == [(bytes.fromhex("00C0000018"), bytes.fromhex("01029000"))]
    with pytest.raises(ValueError, match="line 2"):
        apdu4j.loads("A>> T=0 (4+0000) 00C00000 18\nA>> T=0 (4+0000) 00C00000 18\n")


def test_apdutool_script():
    script = """
    // select SSSE
    powerup;
    0x00 0xA4 0x04 0x00 0x0F 0x73 0x78 0x31 0x2E 0x73 0x68 0x2E 0xC9 0xE7 0xBB 0xE1 0xB1 0xA3 0xD5 0xCF 0x7F;
    /* read record 1 of SFI 5 */ 0x00 0xB2 0x01 0x2C 0x00 0x12;
    0x00 0x82 0x00 0x04 0x02 0x11 0x22 0x05;
    powerup;
    echo "done";
    """
    session = apdutool.loads(script)
    assert session.exchanges == [
        (bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF"), b""),  # Le 7F after data: dropped
        (bytes.fromhex("00B2012C12"), b""),  # Lc 00: case 2
        (bytes.fromhex("00820004021122" "05"), b""),
        None,  # the second power-up is a reset
    ]
    with pytest.raises(ValueError, match="Lc 0F but 2 data bytes"):
        apdutool.loads("0x00 0xA4 0x04 0x00 0x0F 0x73 0x78;")


def test_apdutool_output():
    output = ("CLA: 00, INS: a4, P1: 04, P2: 00, Lc: 02, 3f, 00, Le: 00, SW1: 61, SW2: 18\n"
              "CLA: 00, INS: c0, P1: 00, P2: 00, Lc: 00, Le: 02, 6f, 00, SW1: 90, SW2: 00\n")
    session = apdutool.loads(output)
    assert session.exchanges == [(bytes.fromhex("00A40400023F00"), bytes.fromhex("6118")),
                                 (bytes.fromhex("00C0000002"), bytes.fromhex("6F009000"))]
