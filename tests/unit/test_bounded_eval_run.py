"""Issue 12, bounded evaluation of vectors, as a run sees it: a regex that backtracks, a case over its
time on an in-process card, a case that would record megabytes. Each ends as ERROR (or the plain
verdict the engine can reach), the next case still runs, the emulated card is rebuilt, and the
report is written and stays small."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import case_run, limits
from conformance.card_under_test import CardUnderTest
from conformance.runner import Runner
from conformance.transport import EmulatedTransport
from conformance.vectors import load_suite
from conformance.verdict import Verdict
from simulator import Card
from simulator.samples import sample_image

ROOT = Path(__file__).resolve().parents[2]
SELECT_SSSE = "00A404000F7378312E73682EC9E7BBE1B1A3D5CF"  # 6118, then a 24-byte FCI: 48 hex digits
BACKTRACKING = '{sw: "9000", regex: "^(?:[0-9A-F]|[0-9A-F][0-9A-F])+E$"}'  # backtracks in `regex` too
NEXT_CASE = """\
  - id: SSC.XMP.900
    title: the case after, on a card as it was
    steps:
      - apdu: 00A40400 0F 7378312E73682EC9E7BBE1B1A3D5CF
        expect: {sw: "9000", data: "6F16840F7378312E73682EC9E7BBE1B1A3D5CFA50388010B"}
"""


def vector_file(tmp_path: Path, title: str, steps: str, extra: str = "") -> Path:
    """A vector file of one case (SSC.XMP.001) and the plain case after it."""
    path = tmp_path / "bounded.yaml"
    case = f"  - id: SSC.XMP.001\n    title: {title}\n{extra}    steps:\n{steps}"
    path.write_text('area: XMP\ntitle: bounded evaluation\ndefaults: {ref: ["ssc-card §4"], label: C}\n'
                    f"cases:\n{case}{NEXT_CASE}", encoding="utf-8")
    return path


def run(path: Path, **options):
    card = Card.from_dict(copy.deepcopy(sample_image("gen2")))
    transport = EmulatedTransport(card)
    result = Runner(load_suite(path), transport, CardUnderTest(card.image, label="gen2"), **options).run()
    return result, transport


def step(apdu: str, expect: str = '{sw: "xxxx"}', count: int = 1) -> str:
    return f"      - apdu: {apdu}\n        expect: {expect}\n" * count


def test_the_catastrophic_regex_of_the_finding_ends_and_the_run_goes_on(tmp_path):
    # With Python's re this search backtracks 2^48 times: the run never ended.
    path = vector_file(tmp_path, "regex with a nested repeat against the FCI",
                       step(SELECT_SSSE, '{sw: "9000", regex: "^([0-9A-F]+)+Z$"}'))
    result, _ = run(path)
    first, after = result.cases
    assert first.verdict is Verdict.FAIL
    assert first.reason == "step 1: data does not match regex '^([0-9A-F]+)+Z$'"
    assert after.verdict is Verdict.PASS


def test_a_regex_that_backtracks_without_end_is_stopped_and_its_step_is_error(tmp_path, monkeypatch):
    monkeypatch.setattr(case_run, "REGEX_TIMEOUT", 0.2)  # the 1 s default, shorter for the test
    path = vector_file(tmp_path, "a regex the regex engine backtracks on too",
                       step(SELECT_SSSE, BACKTRACKING) + step(SELECT_SSSE, '{sw: "9000"}'))
    result, _ = run(path)
    first, after = result.cases
    assert first.verdict is Verdict.ERROR
    [stopped] = first.steps  # the case ended at the step
    assert stopped.verdict is Verdict.ERROR
    assert stopped.reason == ("regex '^(?:[0-9A-F]|[0-9A-F][0-9A-F])+E$' took more than 0.2 s on an answer of 48 hex "
                           "digits and was stopped: it backtracks without end (a nested repeat such as (X+)+ "
                           "needs rewriting)")
    assert first.reason == f"step 1: {stopped.reason}"
    assert after.verdict is Verdict.PASS


def test_a_regex_is_stopped_at_the_time_its_case_has_left(tmp_path):
    path = vector_file(tmp_path, "the case's time is shorter than the regex timeout",
                       step(SELECT_SSSE, BACKTRACKING), extra="    timeout: 0.1\n")
    result, _ = run(path)
    first, after = result.cases
    assert first.verdict is Verdict.ERROR and first.reason == "case exceeded its timeout of 0.1 s"
    # the regex gets what is left of the case's 0.1 s (less than 1 s, the regex timeout)
    allowed = re.search(r"took more than ([0-9.]+) s", first.steps[0].reason)
    assert allowed and 0 < float(allowed.group(1)) <= 0.1, first.steps[0].reason
    assert after.verdict is Verdict.PASS


def test_a_case_over_its_time_on_an_emulated_card_is_error_and_the_card_is_rebuilt(tmp_path):
    # 600 steps each computing SM3 over 65,000 bytes take far longer than 0.02 s anywhere; before,
    # an in-process case had no time at all: this one ran to the end and PASSed.
    path = vector_file(tmp_path, "many slow steps", step("\"0084000008 ${sm3(pad('00', 65000))}\"", count=600),
                       extra="    timeout: 0.02\n")
    result, transport = run(path)
    first, after = result.cases
    assert first.verdict is Verdict.ERROR and first.reason == "case exceeded its timeout of 0.02 s"
    assert len(first.steps) < 600  # stopped at its time, not at its end
    last = first.steps[-1]
    assert last.verdict is Verdict.ERROR and last.reason.startswith("case timeout: stopped before")
    restored = [e for e in result.trace.entries if e.kind == "reset" and "card restored after" in e.text]
    assert [e.text.rsplit(" ", 1)[1] for e in restored] == ["SSC.XMP.001"]
    assert after.verdict is Verdict.PASS


def test_a_case_that_would_record_megabytes_stops_and_the_report_stays_small(tmp_path):
    # 100 UPDATE BINARY with 65,535 data bytes each: before, all were sent and recorded (a JSON
    # report of ~26 MB here; 319 MB in the finding).
    path = vector_file(tmp_path, "a hundred commands of 64 KiB",
                       step("\"00D60000 00FFFF ${pad('00', 65535)}\"", count=100))
    report = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "sscard", "run", "--builtin", "gen2", "--vectors", str(path),
                           "--json", str(report)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]  # an ERROR verdict
    doc = json.loads(report.read_text(encoding="utf-8"))
    verdicts = {c["id"]: (c["verdict"], c["reason"]) for c in doc["cases"]}
    shown = "00D6000000FFFF" + "00" * 23 + "… (65542 bytes)"  # the APDU cut to 30 bytes, with its length
    assert verdicts["SSC.XMP.001"] == ("ERROR", f"case stopped before sending {shown}: it would record more than "
                                                "524288 bytes of APDUs and expectations, the most one case may record")
    assert verdicts["SSC.XMP.900"][0] == "PASS"
    assert report.stat().st_size < 3 * limits.MAX_CASE_BYTES * 2 + 200_000  # hex doubles; steps and trace


def test_a_case_with_more_exchanges_than_a_case_may_make_stops(tmp_path):
    path = vector_file(tmp_path, "GET CHALLENGE again and again",
                       step('"0084000008"', count=limits.MAX_CASE_EXCHANGES + 5))
    result, _ = run(path)
    first, after = result.cases
    assert first.verdict is Verdict.ERROR
    assert first.reason.endswith(f"case stopped before sending 0084000008: it made {limits.MAX_CASE_EXCHANGES} "
                                 "exchanges, the most one case may make")
    assert len(first.steps) == limits.MAX_CASE_EXCHANGES + 1  # the last one is the refused one
    assert after.verdict is Verdict.PASS


@pytest.mark.parametrize("transport_can_hang", [True, False])
def test_the_built_in_cases_are_unchanged_by_the_limits(transport_can_hang, monkeypatch):
    # The limits must not touch a real case, on the inline path and on the watchdog path alike.
    monkeypatch.setattr(EmulatedTransport, "can_hang", transport_can_hang)
    suite = load_suite([ROOT / "vectors" / "select.yaml", ROOT / "vectors" / "transport.yaml"])
    card = Card.from_dict(copy.deepcopy(sample_image("gen3")))
    result = Runner(suite, EmulatedTransport(card), CardUnderTest(card.image, label="gen3")).run()
    assert result.ok and {c.verdict for c in result.cases} <= {Verdict.PASS, Verdict.NOT_APPLICABLE}
