"""`sscard run` and `sscard vectors ...` end to end, in-process with the emulated cards."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import yaml
from click.testing import CliRunner

from conformance.vectors import DEFAULT_VECTORS, load_suite
from simulator.samples import sample_image
from sscard.cli import cli


EXAMPLES = ("--vectors", str(DEFAULT_VECTORS / "select.yaml"), "--vectors", str(DEFAULT_VECTORS / "transport.yaml"))


def invoke(*args):
    if args[0] == "run" and "--vectors" not in args:
        args = args + EXAMPLES  # the framework's example vectors; the full suite grows elsewhere
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_run_builtin_cards_writes_all_reports(tmp_path):
    out = tmp_path / "reports"
    result = invoke("run", "--builtin", "gen1,gen3", "-k", "SEL", "--reports", str(out), "--trace", str(tmp_path / "t.txt"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["gen1.json", "gen3.json", "junit.xml", "report.html"]
    assert (tmp_path / "t-gen1.txt").read_text().startswith("# Generated on")
    doc = json.loads((out / "gen3.json").read_text())
    assert doc["summary"]["card"] == "gen3" and doc["provenance"]["selection"] == "SEL"
    assert ET.parse(out / "junit.xml").getroot().get("failures") == "0"
    table = result.output[result.output.index("cases per verdict"):]
    assert "N/A" in table and "INCONCL." in table and "gen1" in table and "gen3" in table


def test_run_exits_1_on_a_failing_card(tmp_path):
    image = tmp_path / "card.yaml"
    image.write_text(yaml.safe_dump({**sample_image("gen2"), "defects": ["fci-without-dir"]}, allow_unicode=True))
    report = tmp_path / "r.json"
    result = invoke("run", "--image", str(image), "-k", "SSC.SEL.001", "--json", str(report),
                    "--reports", str(tmp_path / "rep"))
    assert result.exit_code == 1
    doc = json.loads(report.read_text())
    assert [c["verdict"] for c in doc["cases"]] == ["FAIL"]
    assert doc["provenance"]["card"]["image"] == str(image)
    assert "FAIL SSC.SEL.001" in result.output


def test_run_with_a_missing_reader_exits_3(tmp_path):
    result = invoke("run", "--reader", "no such reader 4711", "--reports", str(tmp_path))
    assert result.exit_code == 3 and "cannot reach the card" in result.output


def test_vectors_check():
    result = invoke("vectors", "check")
    assert result.exit_code == 0 and re.match(r"\d+ cases in \d+ files, suite version [0-9a-f]{16}", result.output)


def test_from_session_of_a_recorded_run_passes_on_the_same_card(tmp_path):
    trace = tmp_path / "trace.txt"
    invoke("run", "--builtin", "gen3", "-k", "SSC.SEL.013 or SSC.SEL.011", "--trace", str(trace),
           "--reports", str(tmp_path / "rep"))
    vectors = tmp_path / "rec.yaml"
    result = invoke("vectors", "from-session", str(trace), "--out", str(vectors), "--area", "rec")
    assert result.exit_code == 0
    text = vectors.read_text()
    assert "${ext_auth('0A', challenge)}" in text and "capture: {challenge: data}" in text
    suite = load_suite(vectors)
    assert [c.id for c in suite.cases][:2] == ["SSC.REC.001", "SSC.REC.002"]
    again = invoke("run", "--builtin", "gen3", "--vectors", str(vectors), "--json", str(tmp_path / "again.json"),
                   "--reports", str(tmp_path / "rep2"))
    assert again.exit_code == 0, again.output
    assert {c["verdict"] for c in json.loads((tmp_path / "again.json").read_text())["cases"]} == {"PASS"}


def test_replay_of_a_recorded_run(tmp_path):
    trace = tmp_path / "trace.txt"
    invoke("run", "--builtin", "gen2", "-k", "TRN", "--trace", str(trace), "--reports", str(tmp_path / "rep"))
    result = invoke("run", "--replay", str(trace), "-k", "TRN", "--json", str(tmp_path / "replay.json"),
                    "--reports", str(tmp_path / "rep2"))
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "replay.json").read_text())
    assert doc["provenance"]["reader"] == "replay:trace.txt"
    # A replay that is asked for other commands than recorded is an ERROR, not a silent pass.
    mismatch = invoke("run", "--replay", str(trace), "-k", "SEL", "--json", str(tmp_path / "bad.json"),
                      "--reports", str(tmp_path / "rep3"))
    assert mismatch.exit_code == 1
    bad = json.loads((tmp_path / "bad.json").read_text())
    assert bad["cases"][0]["verdict"] == "ERROR" and "replay: the recording has a reset" in bad["cases"][0]["reason"]
    assert all(c["reason"].startswith("not run: replay:") for c in bad["cases"][1:])


def test_trace_as_json_session_replays(tmp_path):
    trace = tmp_path / "session.json"
    invoke("run", "--builtin", "gen3", "-k", "SSC.SEL.00", "--trace", str(trace), "--reports", str(tmp_path / "rep"))
    assert json.loads(trace.read_text())["format"] == "sscard-session/1"
    result = invoke("run", "--replay", str(trace), "-k", "SSC.SEL.00", "--reports", str(tmp_path / "rep2"))
    assert result.exit_code == 0, result.output
